"""``edgescale simulate --trace`` (Parquet per-request samples) and ``--sweep`` (grids of overrides)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgescale.cli.app import app
from edgescale.model.io import load
from edgescale.sim.sweep import parse_sweep, simulate_sweep

REPO = Path(__file__).resolve().parents[2]
S1 = REPO / "benchmarks" / "scenarios" / "s1.yaml"
SMALL = ["--set", "site_groups[cell].count=2", "--set", "device_groups[devices].count=200"]


def test_trace_writes_sampled_requests_to_parquet(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is in the 'data' extra")
    out, res = tmp_path / "t.parquet", tmp_path / "r.json"
    r = CliRunner().invoke(app, ["simulate", str(S1), *SMALL, "--duration", "60", "--warmup", "5",
                                 "--trace", str(out), "--trace-every", "10", "-o", str(res)])  # fmt: skip
    assert r.exit_code == 0, r.output
    table = pq.read_table(out)
    data = json.loads(res.read_text())
    app0 = data["applications"][0]
    assert table.num_rows == data["trace_rows"] == (app0["requests"] + app0["drops"] + app0["failed"]) // 10
    cols = table.to_pydict()
    assert set(cols["outcome"]) == {"completed"}
    assert set(cols["access_site"]) <= {"cell-1", "cell-2"}
    assert min(cols["created_s"]) >= 0.0 and max(cols["created_s"]) < 60.0
    mean = sum(cols["latency_ms"]) / len(cols["latency_ms"])
    assert mean == pytest.approx(app0["latency_ms"]["mean"], rel=0.25)


def test_sweep_runs_every_point_with_common_random_numbers() -> None:
    grid = parse_sweep(["device_groups[devices].arrival.rate_per_s=0.05,0.1"])
    assert grid == {"device_groups[devices].arrival.rate_per_s": ["0.05", "0.1"]}
    overrides = ["site_groups[cell].count=2", "device_groups[devices].count=200"]
    d = simulate_sweep(S1, grid, overrides=overrides, duration_s=200, warmup_s=20, seed=4)
    assert [p["set"] for p in d["points"]] == [
        {"device_groups[devices].arrival.rate_per_s": v} for v in ("0.05", "0.1")
    ]
    lo, hi = (p["results"]["applications"][0]["latency_ms"]["mean"] for p in d["points"])
    # M/M/1 with mu = 12.5: 10 + 1000 / (12.5 - 5) ms at rho 0.4, 10 + 1000 / 2.5 at rho 0.8
    assert lo == pytest.approx(143.3, rel=0.1)
    assert hi == pytest.approx(410.0, rel=0.2)
    single = load(S1, overrides=[*overrides, "device_groups[devices].arrival.rate_per_s=0.05"])
    from edgescale.sim.runner import simulate_scenario

    alone = simulate_scenario(single, duration_s=200, warmup_s=20, seed=4).to_dict()
    assert alone["applications"] == d["points"][0]["results"]["applications"]


def test_cli_sweep_and_bad_sweep(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    r = CliRunner().invoke(app, ["simulate", str(S1), *SMALL, "--duration", "30", "--sweep",
                                 "device_groups[devices].arrival.rate_per_s=0.05,0.08", "-o", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert len(json.loads(out.read_text())["points"]) == 2
    bad = CliRunner().invoke(app, ["simulate", str(S1), *SMALL, "--sweep", "nonsense"])
    assert bad.exit_code != 0
    assert "--sweep" in bad.output
