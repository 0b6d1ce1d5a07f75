"""Every example in manifests/ and runbooks/ parses into its model, and bad input is refused."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from support.cluster import REPO, load_documents

from whisperer.operator.models.v1alpha1 import KINDS, KINDS_BY_NAME, Company, Silence

DOCS = load_documents(
    REPO / "manifests" / "config", REPO / "manifests" / "examples", REPO / "runbooks"
)
OURS = [d for d in DOCS if d["apiVersion"].startswith("alertwhisperer.io/")]


def test_every_kind_has_an_example() -> None:
    assert {d["kind"] for d in OURS} == {k.info.kind for k in KINDS}


@pytest.mark.parametrize("doc", OURS, ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_example_parses(doc: dict[str, Any]) -> None:
    model = KINDS_BY_NAME[doc["kind"]].from_body(doc)
    assert model.metadata.name == doc["metadata"]["name"]
    # Round trip: what we would write back says the same as what was read.
    again = model.to_body()
    assert again["spec"].keys() <= {*doc["spec"].keys(), *again["spec"].keys()}
    assert KINDS_BY_NAME[doc["kind"]].from_body(again) == model


def _company(**spec: Any) -> dict[str, Any]:
    base = {"displayName": "X", "slaPolicyRef": {"name": "p"}}
    return {
        "apiVersion": "alertwhisperer.io/v1alpha1",
        "kind": "Company",
        "metadata": {"name": "x"},
        "spec": {**base, **spec},
    }


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"webhook": {"rateLimit": {"requestsPerSecond": 0}}}, "requestsPerSecond"),
        ({"assets": [{"name": "Bad_Name"}]}, "name"),
        (
            {"cloud": {"aws": [{"accountId": "12", "roleArn": "arn:aws:iam::1:role/x"}]}},
            "accountId",
        ),
        ({"unknownField": 1}, "unknownField"),
    ],
)
def test_model_refuses_bad_company(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Company.from_body(_company(**spec))
    assert field in str(info.value)


def test_cron_pattern_refuses_malformed() -> None:
    doc = {
        "apiVersion": "alertwhisperer.io/v1alpha1",
        "kind": "Silence",
        "metadata": {"name": "s", "namespace": "n"},
        "spec": {
            "matchers": [{"name": "asset", "value": "a"}],
            "comment": "c",
            "recurrence": {"cron": "0 2 * * SUN", "duration": "2h"},
        },
    }
    assert Silence.from_body(doc).spec.recurrence is not None
    for bad in ("61 2 * * *", "every sunday", "0 2 * *", "0 25 * * *"):
        doc["spec"]["recurrence"]["cron"] = bad
        with pytest.raises(ValidationError):
            Silence.from_body(doc)
