"""Coverage-guided fuzzing (atheris) of every parser, from the sample payloads: whatever the
bytes, a parser answers with an alert the API server would store, or a refusal (400, or a
valid request without an alert), never anything else. Every input that once failed is kept
under tests/fuzz/regressions/parsers/ and replayed here first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import fuzz

KEPT = sorted((fuzz.REGRESSIONS / "parsers").glob("*"))


@pytest.mark.parametrize("kept", KEPT, ids=[p.name for p in KEPT])
def test_inputs_that_once_failed_do_not(kept: Path) -> None:
    fuzz.parse_one(kept.read_bytes())


def test_the_seeds_parse() -> None:
    for seed in fuzz.seeds():
        fuzz.parse_one(seed)


def test_atheris_finds_nothing(tmp_path: Path) -> None:
    seconds = int(os.environ.get("WHISPERER_FUZZ_SECONDS", "8"))
    stats = fuzz.run_atheris("parsers", seconds=seconds, tmp=tmp_path)
    assert fuzz.runs(stats) > 1000, stats[-2000:]
