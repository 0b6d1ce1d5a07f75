"""The checked-in OpenAPI document is what the code serves, with an example for every format."""

from __future__ import annotations

import json

from support.cluster import REPO

from whisperer.api import openapi

FORMATS = [
    "generic",
    "alertmanager",
    "grafana",
    "datadog",
    "sns",
    "eventbridge",
    "zabbix",
    "pagerduty",
    "azure",
]


def test_checked_in_document_is_current() -> None:
    assert (REPO / "docs/api/openapi.json").read_text() == openapi.document(), (
        "run: python -m whisperer.api.openapi"
    )


def test_every_format_has_an_endpoint_with_an_example() -> None:
    paths = json.loads(openapi.document())["paths"]
    for fmt in FORMATS:
        post = paths[f"/v1/alerts/{fmt}"]["post"]
        content = post["requestBody"]["content"]["application/json"]
        assert content["example"], fmt
        assert {"202", "400", "401", "503"} <= set(post["responses"]), fmt
