"""``edgescale optimize``: Pareto plans and the sensitivity section."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from edgescale.cli.app import app
from edgescale.model.plan import load_plan

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "optimize"))
from _placement_cases import small_doc

runner = CliRunner()


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    p = tmp_path / "small.yaml"
    p.write_text(yaml.safe_dump(small_doc(seed=0)))
    return p


def test_pareto_solver_writes_a_plan_with_the_front(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = runner.invoke(
        app,
        [
            "optimize",
            str(scenario),
            "--solver",
            "pareto",
            "--objective",
            "latency,cost",
            "-o",
            str(out),
            "-f",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    front = data["pareto"]
    assert front["objectives"] == ["latency", "cost"] and front["method"] == "epsilon"
    assert len(front["points"]) >= 2 and 0 <= front["chosen"] < len(front["points"])
    plan = load_plan(out)
    assert plan.created_by == "optimize:pareto-epsilon"
    assert plan.pareto is not None and plan.pareto.objectives == ("mean_latency_ms", "cost_per_hour")
    np.testing.assert_allclose(np.array(plan.pareto.points), np.array(front["points"]), rtol=1e-12)
    chosen = front["points"][front["chosen"]]
    assert plan.objectives["mean_latency_ms"] == pytest.approx(chosen[0])
    assert plan.objectives["cost_per_hour"] == pytest.approx(chosen[1])
    # text output shows the table with the chosen point starred
    text = runner.invoke(
        app, ["optimize", str(scenario), "--solver", "pareto", "--objective", "latency,cost"]
    )
    assert text.exit_code == 0 and "Pareto front" in text.stdout and "*" in text.stdout


def test_pareto_solver_bad_objectives_is_a_one_screen_error(scenario: Path) -> None:
    result = runner.invoke(
        app, ["optimize", str(scenario), "--solver", "pareto", "--objective", "latency,speed"]
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "objectives" in result.output


def test_sensitivity_section(scenario: Path) -> None:
    result = runner.invoke(
        app,
        [
            "optimize",
            str(scenario),
            "--objective",
            "cost",
            "--sensitivity",
            "--sweep-percent",
            "30",
            "-f",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    sens = json.loads(result.stdout)["sensitivity"]
    assert sens["shadow_prices"]["objective"] == "cost"
    assert sorted(p["scale"] for p in sens["demand_sweep"]["points"]) == pytest.approx(
        [0.7, 0.85, 1.0, 1.15, 1.3]
    )
    assert all(v <= 1e-9 for v in sens["shadow_prices"]["cores"].values())  # capacity never hurts a minimum


def test_report_in_the_same_run_shows_the_front(scenario: Path, tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    report = tmp_path / "report.html"
    result = runner.invoke(
        app,
        ["optimize", str(scenario), "--solver", "pareto", "--objective", "latency,cost", "--report", str(report)],
    )
    assert result.exit_code == 0, result.output
    text = report.read_text()
    assert '<section id="pareto"' in text and '<section id="verdict"' in text
    assert "optimize:pareto-epsilon" in text  # the report is of the new plan, not the default one
    gap = runner.invoke(app, ["optimize", "gap", str(scenario), "--report", str(tmp_path / "x.html")])
    assert gap.exit_code == 2


def test_text_output_states_status_values_and_gap(scenario: Path, tmp_path: Path) -> None:
    """The text a person reads: proven or not, the objective values with units, bound and gap."""
    out = tmp_path / "plan.json"
    result = runner.invoke(app, ["optimize", str(scenario), "--solver", "milp", "-o", str(out)])
    assert result.exit_code == 0, result.output
    plan = load_plan(out)
    lines = result.output.splitlines()
    assert lines[0] == "optimize:milp: optimal (proven by the solver)"
    o = plan.objectives
    assert f"mean latency {o['mean_latency_ms']:.5g} ms" in lines[1]
    assert f"cost {o['cost_per_hour']:,.2f} per hour" in lines[1]
    assert lines[2].startswith(f"  objective {o['objective']:.5g}, bound {plan.bound:.5g}")
    assert "lies between" not in lines[2]  # proven: nothing left between
    assert lines[-1] == f"wrote {out}"
    heur = runner.invoke(app, ["optimize", str(scenario), "--solver", "heuristic"])
    assert heur.output.splitlines()[0] == "optimize:heuristic: heuristic plan: not proven optimal"
