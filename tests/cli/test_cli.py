"""The command line: exit codes, JSON output, one-screen errors, nothing half-written."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from edgescale.cli.app import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


def test_validate_ok() -> None:
    result = runner.invoke(app, ["validate", str(EXAMPLES / "factory-cell.yaml"), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert len(data["sha256"]) == 64


def test_validate_bad_file_exit_1_with_every_problem(tmp_path: Path) -> None:
    doc = yaml.safe_load((EXAMPLES / "factory-cell.yaml").read_text())
    doc["sites"][0]["cpu_cores"] = -3
    doc["services"][0]["work_mss"] = 4
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc))
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "sites[rack-a].cpu_cores: must be >= 0" in result.output
    assert "did you mean 'work_ms'" in result.output
    result = runner.invoke(app, ["validate", str(bad), "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert len(data["issues"]) == 2


def test_describe_json_has_required_keys() -> None:
    result = runner.invoke(app, ["describe", str(EXAMPLES / "factory-cell.yaml"), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in ("sites_by_tier", "devices", "links", "services", "applications"):
        assert key in data
    assert data["devices"] == 65


def test_describe_with_set_override() -> None:
    base = json.loads(
        runner.invoke(app, ["describe", str(EXAMPLES / "factory-cell.yaml"), "-f", "json"]).stdout
    )
    more = runner.invoke(
        app,
        [
            "describe",
            str(EXAMPLES / "factory-cell.yaml"),
            "-f",
            "json",
            "--set",
            "device_groups[cameras].count=80",
        ],
    )
    assert json.loads(more.stdout)["devices"] == base["devices"] + 40


def test_generate_then_describe(tmp_path: Path) -> None:
    out = tmp_path / "gen.yaml"
    result = runner.invoke(
        app,
        [
            "generate",
            "hierarchical",
            "--devices",
            "20000",
            "--edge-sites",
            "200",
            "--aggregation-sites",
            "10",
            "--clouds",
            "2",
            "--seed",
            "5",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.stat().st_size < 10_000
    data = json.loads(runner.invoke(app, ["describe", str(out), "-f", "json"]).stdout)
    assert data["sites_by_tier"] == {"edge": 200, "aggregation": 10, "cloud": 2}
    assert data["devices"] == 20000


def test_schema_commands() -> None:
    for kind in ("scenario", "plan"):
        result = runner.invoke(app, ["schema", kind])
        assert result.exit_code == 0
        assert "properties" in json.loads(result.stdout)
    assert runner.invoke(app, ["schema", "plna"]).exit_code == 2


def test_plan_command_writes_plan(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = runner.invoke(app, ["plan", str(EXAMPLES / "factory-cell.yaml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["kind"] == "edgescale.plan"


def test_nothing_half_written_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "x.yaml"
    out.write_text("old")
    result = runner.invoke(
        app,
        [
            "generate",
            "metro",
            "--sites-csv",
            str(tmp_path / "none.csv"),
            "--users-csv",
            str(tmp_path / "none.csv"),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 1
    assert out.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.yaml"]


def test_usage_error_exit_2() -> None:
    assert runner.invoke(app, ["describe"]).exit_code == 2
    assert runner.invoke(app, ["generate", "hierarchical", "--devices", "0", "-o", "x.yaml"]).exit_code == 2


def test_console_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edgescale", "validate", str(EXAMPLES / "melbourne-metro.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


@pytest.mark.parametrize("name", ["factory-cell", "melbourne-metro", "national-fleet"])
def test_examples_validate(name: str) -> None:
    assert runner.invoke(app, ["validate", str(EXAMPLES / f"{name}.yaml")]).exit_code == 0


def test_queue_mm1_matches_closed_form() -> None:
    result = runner.invoke(
        app, ["queue", "mm1", "-l", "10", "-m", "12.5", "--percentile", "95", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mean_response_time_s"] == pytest.approx(0.4)
    assert data["response_time_p95_s"] == pytest.approx(math.log(20) / 2.5)


def test_queue_unstable_is_a_clear_error() -> None:
    result = runner.invoke(app, ["queue", "mmc", "-l", "30", "-m", "12.5", "-c", "2"])
    assert result.exit_code == 1
    assert "utilization must be < 1 (got 1.2)" in result.output
    assert "Traceback" not in result.output


def test_analyze_examples_and_imported_topology(tmp_path: Path) -> None:
    for name in ("factory-cell", "melbourne-metro"):
        out = tmp_path / f"{name}.json"
        result = runner.invoke(app, ["analyze", str(EXAMPLES / f"{name}.yaml"), "-o", str(out)])
        assert result.exit_code == 0, result.output
        data = json.loads(out.read_text())
        assert data["applications"]
        assert "applications meet their SLOs" in data["verdict"]


def test_analyze_imported_topology(tmp_path: Path) -> None:
    zoo = (
        Path(__file__).resolve().parents[3]
        / "shared"
        / "data"
        / "topology-zoo"
        / "graphml"
        / "Abilene.graphml"
    )
    if not zoo.is_file():
        pytest.skip("../shared/data (Topology Zoo) is absent on this machine")
    out = tmp_path / "abilene.yaml"
    assert runner.invoke(app, ["import", "graphml", str(zoo), "-o", str(out)]).exit_code == 0
    result = runner.invoke(app, ["analyze", str(out), "-f", "json"])
    assert result.exit_code == 0, result.output
    g = json.loads(result.stdout)["graph"]
    assert g["sites"] == 11
    assert g["links"] == 14
    assert g["connected"] is True


def _orlib(name: str) -> Path:
    path = Path(__file__).resolve().parents[3] / "shared" / "data" / "orlib-gap" / name
    if not path.is_file():
        pytest.skip("../shared/data (OR-Library GAP) is absent on this machine")
    return path


def test_optimize_gap_reproduces_orlib_optima() -> None:
    result = runner.invoke(
        app, ["optimize", "gap", str(_orlib("gap1.txt")), "--time-limit", "20", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["objective"] for r in rows] == [336, 327, 339, 341, 326]  # OR-Library gap1 optima (maximised)
    assert all(r["status"] == "optimal" and r["gap"] == 0 for r in rows)


def test_optimize_gap_bad_instance_and_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["optimize", "gap", str(_orlib("gap1.txt")), "--instance", "9"])
    assert result.exit_code == 1
    assert "instance: must be between 1 and 5 (got 9)" in result.output
    assert runner.invoke(app, ["optimize", "gap"]).exit_code == 2
    bad = tmp_path / "gapx.txt"
    bad.write_text("1\n2 3\n1 2\n")
    result = runner.invoke(app, ["optimize", "gap", str(bad)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output


def test_unknown_policy_name_is_rejected_with_hint() -> None:
    result = runner.invoke(
        app, ["validate", str(EXAMPLES / "factory-cell.yaml"), "--set", "policies.balancing.name=least-loadd"]
    )
    assert result.exit_code == 1
    assert (
        "policies.balancing.name: unknown policy (got 'least-loadd'); did you mean 'least-loaded'?"
        in result.output
    )


def test_optimize_scenario_plan_feeds_analyze_and_simulate(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    scenario = str(EXAMPLES / "factory-cell.yaml")
    result = runner.invoke(app, ["optimize", scenario, "--time-limit", "30", "-o", str(plan), "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "optimal"
    assert data["gap"] == pytest.approx(0.0, abs=1e-6)
    analysed = json.loads(runner.invoke(app, ["analyze", scenario, "--plan", str(plan), "-f", "json"]).stdout)
    assert analysed["plan"] == "optimize:milp"
    simulated = runner.invoke(
        app, ["simulate", scenario, "--plan", str(plan), "--duration", "60", "-f", "json"]
    )
    assert simulated.exit_code == 0, simulated.output
    assert json.loads(simulated.stdout)["plan"] == "optimize:milp"


@pytest.mark.parametrize("command", ["up", "controller", "agent", "apply", "status", "hollow"])
def test_every_operate_command_the_readme_lists_is_there(command: str) -> None:
    result = runner.invoke(app, ["operate", command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: edgescale operate " + command in " ".join(result.stdout.split())


def test_simulate_text_says_which_files_it_wrote(tmp_path: Path) -> None:
    out, report = tmp_path / "res.json", tmp_path / "r.html"
    args = ["simulate", str(EXAMPLES / "factory-cell.yaml"), "--duration", "20", "-o", str(out)]
    result = runner.invoke(app, [*args, "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().splitlines()[-2:] == [f"wrote {out}", f"wrote {report}"]
    assert json.loads(out.read_text())["applications"] and report.stat().st_size > 0
    quiet = runner.invoke(app, [*args, "-f", "json"])
    assert "wrote" not in quiet.output.split("}")[-1]  # JSON output stays JSON
