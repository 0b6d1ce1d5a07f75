"""A client's own staff (Company spec.viewers) read their incidents, alerts, runs and
reports with the plugin, and every action is refused in one line."""

from __future__ import annotations

from support.plugin import as_json, ok, refused

from .conftest import Shop


def test_a_company_viewer_reads_and_cannot_act(shop: Shop) -> None:
    name = shop.new_incident()
    viewer = shop.who("company-viewer")
    listed = as_json(viewer, "inc", "--company", shop.company, "--all")
    assert name in [i["metadata"]["name"] for i in listed["items"]]
    assert name in ok(viewer, "show", name, "--company", shop.company)
    as_json(viewer, "alerts", "--company", shop.company)
    as_json(viewer, "runs", "--company", shop.company)
    month = shop.admin.get("incidents", name, shop.ns)["status"]["openedAt"][:7]
    report = as_json(viewer, "report", "--company", shop.company, "--month", month)
    assert report["incidents"]["total"] >= 1
    line = refused(viewer, "ack", name, "--company", shop.company)
    assert f"refused: patch incidents/{name} in namespace {shop.ns}" in line
    assert "dana@acme-dental.example" in line
    line = refused(viewer, "silence", "create", "--company", shop.company, "--match", "a=b",
                   "--for", "1h", "--comment", "x")  # fmt: skip
    assert "refused: create silences" in line
    line = refused(viewer, "run", shop.runbooks["low"], "--target", "db01", "-n", shop.ns)
    assert "refused" in line
