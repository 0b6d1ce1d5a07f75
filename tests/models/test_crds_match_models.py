"""The checked-in CRDs (crds/ and the Helm chart's copy) are exactly what the models
generate, and they are well formed."""

from __future__ import annotations

from typing import Any

import pytest
from support.cluster import REPO

from whisperer.operator.models import crdgen
from whisperer.operator.models.v1alpha1 import CATEGORY, KINDS, Resource


@pytest.mark.parametrize("folder", [str(d) for d in crdgen.OUT_DIRS])
def test_checked_in_crds_equal_generated(folder: str) -> None:
    expected = crdgen.expected_files()
    on_disk = {p.name: p.read_text() for p in (REPO / folder).glob("*.yaml")}
    assert set(on_disk) == set(expected), f"{folder}/ has missing or stale files"
    drifted = [name for name, text in expected.items() if on_disk[name] != text]
    assert not drifted, f"regenerate {folder}/ (make crds): {drifted}"


def test_check_mode_reports_drift(tmp_path: Any) -> None:
    assert crdgen.main(["--out", str(tmp_path)]) == 0
    target = next(tmp_path.glob("incidents.*.yaml"))
    target.write_text(target.read_text().replace("Incident", "Incidnet", 1))
    assert crdgen.main(["--out", str(tmp_path), "--check"]) == 1
    assert crdgen.main(["--out", str(tmp_path)]) == 0
    assert crdgen.main(["--out", str(tmp_path), "--check"]) == 0
    other = tmp_path / "chart-crds"
    assert crdgen.main(["--out", str(tmp_path), "--out", str(other)]) == 0
    (other / target.name).unlink()
    assert crdgen.main(["--out", str(tmp_path), "--out", str(other), "--check"]) == 1


def _walk(schema: dict[str, Any], path: str) -> list[str]:
    """Paths of properties that have no description."""
    missing = []
    for name, prop in schema.get("properties", {}).items():
        here = f"{path}.{name}"
        if "description" not in prop and name not in ("apiVersion", "kind", "metadata"):
            missing.append(here)
        missing += _walk(prop, here)
    if isinstance(schema.get("items"), dict):
        missing += _walk(schema["items"], f"{path}[]")
    return missing


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.info.kind)
def test_every_field_is_described(kind: type[Resource]) -> None:
    schema = crdgen.crd_for(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert _walk(schema, kind.info.kind) == []


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.info.kind)
def test_served_like_a_kubernetes_kind(kind: type[Resource]) -> None:
    crd = crdgen.crd_for(kind)
    version = crd["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    assert crd["spec"]["names"]["categories"] == [CATEGORY]
    assert crd["spec"]["names"]["shortNames"]
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns[-1] == "Age"
    used = _keywords(version["schema"]["openAPIV3Schema"])
    assert not used & {"$ref", "$defs", "anyOf", "allOf", "oneOf", "title", "const", "prefixItems"}


def _keywords(schema: dict[str, Any]) -> set[str]:
    """Every JSON Schema keyword used anywhere in a schema (property names excluded)."""
    found = set(schema)
    for prop in schema.get("properties", {}).values():
        found |= _keywords(prop)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found |= _keywords(schema[key])
    if schema.get("additionalProperties") is False:
        found.add("additionalProperties: false")
    return found


def test_incident_columns_are_what_a_technician_wants() -> None:
    from whisperer.operator.models.v1alpha1 import Incident

    version = crdgen.crd_for(Incident)["spec"]["versions"][0]
    visible = [c["name"] for c in version["additionalPrinterColumns"] if not c.get("priority")]
    assert visible == ["Company", "Priority", "State", "Assignee", "SLA Due", "Age"]
    assert crdgen.crd_for(Incident)["spec"]["names"]["shortNames"] == ["inc"]
