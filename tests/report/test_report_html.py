"""The monthly report's HTML loads in headless Chromium without a console error, fetches
nothing, shows the reporting service's numbers for a seeded month, and leaves a screenshot
(build/test-output/report/)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.cluster import REPO
from support.reporting import EXPECTED, MONTH, seeded

from whisperer.cli.output import report as render
from whisperer.operator.services.reporting import report
from whisperer.operator.services.reporting.summary import Month, summarize

OUTPUT = REPO / "build" / "test-output" / "report"
NOW = datetime(2026, 12, 10, tzinfo=UTC)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("chromium is not installed (hack/test installs Debian's package)")
    return found


def _run(*args: str, page: Path, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    data = report.build(
        summarize(seeded(), Month.parse(MONTH), now=NOW),
        company="acme",
        display_name="Acme Dental <Clinics>",
        source="incidents",
    )
    folder = tmp_path_factory.mktemp("report")
    path = folder / "report.html"
    path.write_text(render.html(data), encoding="utf-8")
    return path, data


def test_the_html_stands_alone(page: tuple[Path, dict]) -> None:
    text = page[0].read_text()
    assert "<script" not in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    assert "@import" not in text and "url(http" not in text
    assert text.count("<svg") == 2
    assert "Acme Dental &lt;Clinics&gt;" in text  # autoescaped


def test_chromium_renders_it_without_console_errors_and_shows_the_numbers(
    page: tuple[Path, dict], tmp_path: Path
) -> None:
    path, data = page
    dom = _run("--dump-dom", page=path, profile=tmp_path / "p1")
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
    tiles = dict(re.findall(r'<div class="v" id="([a-z-]+)">([^<]*)</div>', dom.stdout))
    assert tiles["incidents"] == str(EXPECTED["incidents"])
    assert tiles["response-sla"] == "80.0%"
    assert tiles["resolution-sla"] == "80.0%"
    assert tiles["mtta"] == "25 min"
    assert tiles["mttr"] == "2.5 h"
    assert tiles["noise"] == "92.5%"
    assert tiles["self-healed"] == "1"
    assert tiles["escalations"] == "1"
    # The numbers shown are the service's.
    assert data["mttrMinutes"]["all"] == EXPECTED["mttr"]["all"]
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / "report.png"
    shot.unlink(missing_ok=True)
    result = _run(
        f"--screenshot={shot}", "--window-size=1200,2400", page=path, profile=tmp_path / "p2"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.stat().st_size > 20_000
    (OUTPUT / "report.json").write_text(json.dumps(data, indent=2))
    (OUTPUT / "report.html").write_text(path.read_text())
