"""What `company show` prints per tool matches the tool's page in docs/integrations/."""

from __future__ import annotations

import re

import pytest
from support.cluster import REPO

from whisperer.cli.integrations import SNIPPETS, snippet

URL = "https://alerts.northwind-msp.example/v1/alerts"


@pytest.mark.parametrize("tool", sorted(SNIPPETS))
def test_each_snippet_has_its_page_with_the_same_path(tool: str) -> None:
    page = (REPO / "docs" / "integrations" / f"{tool}.md").read_text()
    text = snippet(tool, URL, "aw_KEY")
    paths = set(re.findall(r"/v1/alerts/[a-z0-9/]+", text))
    assert paths, text
    for path in paths:
        assert path in page, f"{tool}: {path} is not on its page"
    assert "aw_KEY" in text
    for code in ("401", "413", "503"):
        assert code in page
    assert "**Test**" in page and "**What to paste**" in page


def test_the_index_lists_every_tool() -> None:
    index = (REPO / "docs" / "integrations" / "README.md").read_text()
    for tool in SNIPPETS:
        assert f"({tool}.md)" in index
