"""Plans and results written with the old all-fields digest still work end to end (analyze, simulate, report, check)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from edgescale.cli.app import app
from edgescale.model.arrays import compile_scenario
from edgescale.model.default_plan import default_plan
from edgescale.model.io import all_fields_sha256, load, scenario_sha256
from edgescale.model.plan import ScenarioRef, save_plan
from edgescale.optimize.check import check_plan

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "factory-cell.yaml"


def test_plan_with_the_old_sha256_feeds_analyze_and_check(tmp_path: Path) -> None:
    s = load(EXAMPLE)
    a = compile_scenario(s, devices=False)
    plan, _ = default_plan(s, a)
    old = plan.model_copy(update={"scenario": ScenarioRef(name=s.name, sha256=all_fields_sha256(s))})
    save_plan(old, tmp_path / "old.json")
    result = CliRunner().invoke(app, ["analyze", str(EXAMPLE), "--plan", str(tmp_path / "old.json"), "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["scenario_sha256"] == scenario_sha256(s)  # results record the new digest
    assert not any(m.startswith("scenario.sha256") for m in check_plan(s, a, old))
