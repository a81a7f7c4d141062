"""``edgescale operate up`` starts a real cluster, converges, and cleans up after itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import need_nats


def test_operate_up_converges_and_leaves_nothing_running(tmp_path: Path) -> None:
    need_nats()
    d = tmp_path / "local"
    r = subprocess.run(
        [sys.executable, "-m", "edgescale", "operate", "up", "--agents", "2", "--dir", str(d), "--no-hold",
         "--format", "json", "--timeout-s", "60"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    data = json.loads(r.stdout)
    assert data["ok"] and data["agents"] == 2 and data["replicas"] == 4
    assert 0 < data["converged_s"] < 60
    from edgescale.operate.procs import Proc

    records = [json.loads(f.read_text())["workloads"] for f in (d / "agents").glob("*/agent.json")]
    assert sum(len(w) for w in records) == 4
    alive = [
        rec["pid"]
        for w in records
        for rec in w.values()
        if rec.get("pid") and Proc.adopt(rec["pid"], rec["start_ticks"])
    ]
    assert alive == []


def test_operate_commands_report_bad_input_without_a_traceback(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "edgescale", "operate", "status", "--cluster", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 1
    assert "cluster file not found" in r.stderr and "Traceback" not in r.stderr


def test_operate_up_runs_a_designed_system_as_planned(tmp_path: Path) -> None:
    need_nats()
    from edgescale.model.io import save

    doc = {
        "schema_version": 1,
        "name": "two-edges",
        "sites": [
            {"id": "e1", "tier": "edge", "cpu_cores": 2, "location": {"lat": 50.0, "lon": 8.0}},
            {"id": "e2", "tier": "edge", "cpu_cores": 2, "location": {"lat": 50.1, "lon": 8.1}},
            {"id": "c1", "tier": "cloud", "cpu_cores": 1, "location": {"lat": 52.5, "lon": 13.4}},
        ],
        "services": [{"id": "api", "work_ms": 5, "cpu_cores": 1}],
    }
    save(doc, tmp_path / "s.yaml")
    d = tmp_path / "local"
    r = subprocess.run(
        [sys.executable, "-m", "edgescale", "operate", "up", "--scenario", str(tmp_path / "s.yaml"),
         "--dir", str(d), "--no-hold", "--format", "json", "--timeout-s", "60"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    data = json.loads(r.stdout)
    # the default plan: floor(cores / cores per replica) replicas on every site
    assert (data["agents"], data["deployments"], data["replicas"]) == (3, 3, 5)
    per_site = {}
    for f in (d / "agents").glob("*/agent.json"):
        st = json.loads(f.read_text())
        per_site[st["site"]] = len(st["workloads"])
    assert per_site == {"e1": 2, "e2": 2, "c1": 1}
