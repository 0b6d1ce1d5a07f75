"""The image build file (Containerfile) is multi-stage, runs as the user the chart's pods
run as, and starts programs the package installs. It is not built here (no base image can be
pulled on these machines), so this is what can be checked without building it."""

from __future__ import annotations

import re
import tomllib

import yaml
from support.cluster import REPO

CONTAINERFILE = (REPO / "Containerfile").read_text()


def test_the_image_is_built_in_stages_and_runs_unprivileged_as_the_chart_expects() -> None:
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\w+))?", CONTAINERFILE, re.M)
    assert len(stages) >= 2 and stages[0][1] == "build"
    assert "COPY --from=build" in CONTAINERFILE
    user = re.findall(r"^USER\s+(\d+):(\d+)", CONTAINERFILE, re.M)
    values = yaml.safe_load((REPO / "charts" / "alert-whisperer" / "values.yaml").read_text())
    pod = values["podSecurityContext"]
    assert user == [(str(pod["runAsUser"]), str(pod["runAsGroup"]))]
    assert pod["runAsUser"] != 0


def test_the_programs_it_runs_are_the_packages_entry_points() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    cmd = re.search(r'^CMD \["([\w-]+)"', CONTAINERFILE, re.M)
    assert cmd and cmd.group(1) in scripts
    for program in ("whisperer-operator", "whisperer-webhook"):
        assert program in scripts
