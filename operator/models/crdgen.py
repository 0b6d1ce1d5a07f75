"""Turns the pydantic models into CustomResourceDefinitions: the models are the schema.

Run `python -m whisperer.operator.models.crdgen` to rewrite `crds/` and the Helm chart's
copy (`charts/alert-whisperer/crds/`, which Helm installs and keeps on uninstall), or with
`--check` to fail when either differs from what the models generate.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any, cast

import yaml

from whisperer.operator.models.v1alpha1 import CATEGORY, GROUP, KINDS, VERSION, Resource

JSON = dict[str, Any]
# Where the CRDs are written: the API contract, and the chart's copy of it (byte for byte).
OUT_DIRS = (Path("crds"), Path("charts/alert-whisperer/crds"))

# JSON Schema keywords a structural schema may not carry, or that pydantic adds for people.
_DROPPED = {"title", "additionalProperties", "$defs"}


def _resolve(node: Any, defs: JSON) -> Any:
    """Inline $refs and rewrite JSON Schema 2020 idioms into Kubernetes' OpenAPI v3 subset."""
    if isinstance(node, list):
        return [_resolve(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if "$ref" in node:
        target = copy.deepcopy(defs[node.pop("$ref").rsplit("/", 1)[-1]])
        target.update(node)  # a field's own description and default win over the type's
        return _resolve(target, defs)
    if "allOf" in node and len(node["allOf"]) == 1:
        merged = dict(node.pop("allOf")[0])
        merged.update(node)
        return _resolve(merged, defs)
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o != {"type": "null"}]
        if len(options) != 1:
            raise ValueError(f"unions are not allowed in a CRD schema: {node['anyOf']}")
        merged = dict(options[0])
        merged.update({k: v for k, v in node.items() if k != "anyOf"})
        return _resolve(merged, defs)
    if node.get("additionalProperties") is True:
        node["x-kubernetes-preserve-unknown-fields"] = True
    if "const" in node:
        node["enum"] = [node.pop("const")]
    for bound, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(node.get(bound), int | float) and not isinstance(node.get(bound), bool):
            node[inclusive] = node.pop(bound)
            node[bound] = True
    if "enum" in node and "type" not in node:
        node["type"] = "integer" if all(isinstance(v, int) for v in node["enum"]) else "string"
    if node.get("default", 0) is None:
        del node["default"]
    out: JSON = {}
    for key, value in node.items():
        if key in _DROPPED:
            if key == "additionalProperties" and isinstance(value, dict):
                out[key] = _resolve(value, defs)
            continue
        if key == "properties":
            out[key] = {name: _resolve(schema, defs) for name, schema in value.items()}
        elif key in ("items",):
            out[key] = _resolve(value, defs)
        else:
            out[key] = value
    return out


def _model_schema(model: type[Any]) -> JSON:
    """The structural schema of one pydantic model, refs inlined."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.get("$defs", {})
    schema: JSON = _resolve(raw, defs)
    return schema


def _field_model(kind: type[Resource], field: str) -> type[Any]:
    annotation = kind.model_fields[field].annotation
    args = [a for a in getattr(annotation, "__args__", (annotation,)) if a is not type(None)]
    return cast(type[Any], args[0])


def crd_for(kind: type[Resource]) -> JSON:
    """The CustomResourceDefinition of one kind."""
    info = kind.info
    spec_schema = _model_schema(_field_model(kind, "spec"))
    status_schema = _model_schema(_field_model(kind, "status"))
    schema: JSON = {
        "type": "object",
        "description": info.description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec_schema,
            "status": status_schema,
        },
    }
    columns = [
        {
            "name": c.name,
            "type": c.type,
            "jsonPath": c.json_path,
            **({"priority": c.priority} if c.priority else {}),
            **({"description": c.description} if c.description else {}),
        }
        for c in info.columns
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{info.plural}.{GROUP}",
            "labels": {"app.kubernetes.io/part-of": "alert-whisperer"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced" if info.namespaced else "Cluster",
            "names": {
                "kind": info.kind,
                "listKind": f"{info.kind}List",
                "plural": info.plural,
                "singular": info.singular,
                "shortNames": info.short_names,
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


class _Dumper(yaml.SafeDumper):
    """Block style, long strings kept on one line, no aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(kind: type[Resource]) -> str:
    """The CRD of one kind as the YAML checked into crds/."""
    header = (
        "# Generated by `python -m whisperer.operator.models.crdgen` from the models in\n"
        "# operator/models/v1alpha1/. Do not edit by hand: change the models and regenerate.\n"
    )
    body = yaml.dump(crd_for(kind), Dumper=_Dumper, sort_keys=False, width=10_000)
    return header + body


def expected_files() -> dict[str, str]:
    """File name to content, for every kind."""
    return {f"{k.info.plural}.{GROUP}.yaml": render(k) for k in KINDS}


def _sync(out: Path, files: dict[str, str], *, check: bool) -> list[str]:
    """Bring one folder in line with `files` (unless check); the names that differed."""
    drift = []
    for name, content in files.items():
        path = out / name
        current = path.read_text() if path.exists() else None
        if current != content:
            drift.append(name)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
    stale = sorted(p.name for p in out.glob(f"*.{GROUP}.yaml") if p.name not in files)
    for name in stale:
        drift.append(name)
        if not check:
            (out / name).unlink()
    return drift


def main(argv: list[str] | None = None) -> int:
    """Write crds/ and the chart's crds/, or with --check report drift and exit 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--out",
        type=Path,
        action="append",
        help="a folder to write (repeatable; default: crds/ and charts/alert-whisperer/crds/)",
    )
    parser.add_argument("--check", action="store_true", help="fail if a folder is out of date")
    args = parser.parse_args(argv)
    files = expected_files()
    failed = False
    for out in args.out or OUT_DIRS:
        drift = _sync(out, files, check=args.check)
        if args.check and drift:
            failed = True
            print(
                f"{out}/ is out of date with the models: {', '.join(drift)}.\n"
                "Run: python -m whisperer.operator.models.crdgen (make crds)",
                file=sys.stderr,
            )
        elif not args.check:
            print(f"wrote {len(drift)} of {len(files)} CRDs into {out}/", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
