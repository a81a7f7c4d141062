"""Warnings in text output: one line each, with the hint, and no ``(got ...)`` when there is no value."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgescale.cli._common import warning_lines
from edgescale.cli.app import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_analyze_without_statsmodels_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "statsmodels", None)  # importing it raises ImportError
    r = CliRunner().invoke(app, ["analyze", str(EXAMPLES / "factory-cell.yaml")])
    assert r.exit_code == 0, r.output
    assert ("warning: device_groups: no forecast of the trace-driven groups (mes-gateway): it needs statsmodels; "
            "pip install 'edgescale[forecast]'") in " ".join(r.output.split())  # fmt: skip


def test_warning_lines_show_the_value_only_when_there_is_one() -> None:
    lines = warning_lines([
        {"path": "a", "message": "too busy", "value": 0.97, "hint": "add servers"},
        {"path": "b", "message": "no forecast", "value": None, "hint": ""},
    ])  # fmt: skip
    assert lines == ["  warning: a: too busy (got 0.97); add servers", "  warning: b: no forecast"]
