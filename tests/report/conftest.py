"""Fixtures of the report tests: example results written by the real commands, a headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edgescale.cli.app import app

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# short simulations keep the suite fast: (duration s, replications); None = analysis only
SIMULATIONS: dict[str, tuple[int, int] | None] = {
    "factory-cell": (60, 2),
    "melbourne-metro": (5, 2),  # its default plan overloads some sites: queues grow, so keep it short
    "national-fleet": None,
}

runner = CliRunner()


def run(*args: str) -> dict[str, Any]:
    """Run an edgescale command in-process; its JSON output (exit 0 asserted)."""
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def make_example(name: str, out: Path) -> dict[str, Path]:
    """analysis.json, results.json (when simulated) and report.html of an example, by the real commands."""
    scenario = EXAMPLES / f"{name}.yaml"
    paths = {"scenario": scenario, "analysis": out / f"{name}-analysis.json", "report": out / f"{name}.html"}
    run("analyze", str(scenario), "-o", str(paths["analysis"]))
    sim = SIMULATIONS[name]
    report_args = ["report", str(scenario), "-o", str(paths["report"])]
    if sim is not None:
        paths["results"] = out / f"{name}-results.json"
        duration, reps = sim
        run(
            "simulate", str(scenario), "--duration", str(duration), "--replications", str(reps),
            "--seed", "1", "-o", str(paths["results"]),
        )
        report_args += ["--sim", str(paths["results"])]
    run(*report_args)
    return paths


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go: ``$EDGESCALE_TEST_ARTIFACTS`` or ``test-artifacts/`` in the repository."""
    d = Path(os.environ.get("EDGESCALE_TEST_ARTIFACTS") or REPO / "test-artifacts") / "report"
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="session")
def factory(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The factory-cell example: analysis, a short simulation, the report."""
    return make_example("factory-cell", tmp_path_factory.mktemp("factory"))


def _chromium_or_skip() -> None:
    if CHROMIUM.exists():
        return
    reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: browser tests must run under CI")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The system's headless Chromium driven by Playwright, with a fresh profile."""
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1300, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)
