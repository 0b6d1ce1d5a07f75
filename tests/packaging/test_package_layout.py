"""Every Python folder of operator/, api/ and cli/ is in the distribution under `whisperer`."""

from __future__ import annotations

import tomllib

from support.cluster import REPO

FOLDERS = {"operator": "whisperer.operator", "api": "whisperer.api", "cli": "whisperer.cli"}


def test_every_package_folder_is_listed_in_pyproject() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = set()
    for folder, package in FOLDERS.items():
        assert config["package-dir"][package] == folder
        for init in (REPO / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO / folder).parts
            found.add(".".join((package, *relative)))
    assert found - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - found == set(), "these are listed but have no __init__.py"


def test_every_top_package_is_marked_typed() -> None:
    missing = [folder for folder in FOLDERS if not (REPO / folder / "py.typed").exists()]
    assert missing == []
