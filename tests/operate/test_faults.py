"""Fault tests with real processes and a real nats-server (they fail rather than skip when CI=true).

Heartbeats every 0.2 s, phi-accrual (threshold 8), autonomy window 2 s.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from edgescale.operate.client import ApiClient
from edgescale.operate.config import load_join
from edgescale.operate.local import LocalCluster

from .conftest import pid_alive, wait_until
from .netcut import CuttableLink

SLEEP = {"command": ["sleep", "600"], "cpu_cores": 0.5, "restart_backoff_s": 0.1}
HTTP = {
    "command": [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1"],
    "cpu_cores": 0.5,
    "restart_backoff_s": 0.1,
    "health": {"http_path": "/", "period_s": 0.2},
}


def _start(lc: LocalCluster, sites: list[str]) -> ApiClient:
    lc.start_nats()
    lc.start_controller()
    for s in sites:
        lc.start_agent(s)
    c = lc.client()
    wait_until(lambda: len(c.nodes()) == len(sites), 20, "agents joined")
    return c


def _state(lc: LocalCluster, site: str) -> dict[str, Any]:
    return json.loads((lc.agent_dir(site) / "agent.json").read_text())


def _pids(lc: LocalCluster, site: str) -> dict[str, int]:
    """uid -> pid of the live workloads the agent's state file records."""
    out = {}
    for uid, rec in _state(lc, site).get("workloads", {}).items():
        if rec.get("pid") and pid_alive(rec["pid"]):
            out[uid] = rec["pid"]
    return out


def _serves(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _running(c: ApiClient, name: str, n: int) -> bool:
    d = c.get(name)
    return d["running"] == n and d["assigned"] == n


def _site_of(c: ApiClient) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in c.replicas():
        out.setdefault(r["site"], []).append(r["uid"])
    return out


def _event_ts(c: ApiClient, kind: str, subject: str | None = None) -> list[float]:
    return [e["ts"] for e in c.events(kind=kind) if subject is None or e["subject"] == subject]


def test_kill9_agent_replicas_move_after_autonomy_window_not_before(local: LocalCluster) -> None:
    c = _start(local, ["s0", "s1", "s2"])
    c.apply({"name": "app", "replicas": 3, **SLEEP})
    wait_until(lambda: _running(c, "app", 3), 20, "3 running")
    victim = next(s for s, uids in _site_of(c).items() if uids)
    victim_uids = set(_site_of(c)[victim])
    orphans = _pids(local, victim)
    os.kill(local.agents[victim].pid, signal.SIGKILL)
    local.agents[victim].wait(5)
    wait_until(lambda: _event_ts(c, "node.suspected", victim), 10, "suspicion")
    t_suspected = _event_ts(c, "node.suspected", victim)[0]
    # within the autonomy window the replicas stay where they are
    while time.time() < t_suspected + 1.5:
        assert victim_uids <= set(_site_of(c).get(victim, [])), "moved before the autonomy window"
        time.sleep(0.1)
    wait_until(
        lambda: not _site_of(c).get(victim) and _running(c, "app", 3), 20, "replicas moved and running"
    )
    t_lost = _event_ts(c, "node.lost", victim)[0]
    assert t_lost - t_suspected >= 2.0 - 0.05
    moved = [e for e in c.events(kind="replica.scheduled") if e["ts"] >= t_suspected]
    assert moved and min(e["ts"] for e in moved) >= t_lost
    # the agent comes back: it stops the replicas that moved away; no duplicates anywhere
    assert all(pid_alive(p) for p in orphans.values())  # nobody stopped them while the agent was dead
    local.start_agent(victim)
    wait_until(lambda: not any(pid_alive(p) for p in orphans.values()), 20, "stale replicas stopped")
    wait_until(lambda: _running(c, "app", 3), 10, "3 running")
    assert sum(len(_pids(local, s)) for s in ("s0", "s1", "s2")) == 3


def test_agent_cut_off_keeps_serving_and_no_duplicates_after_heal(local: LocalCluster) -> None:
    c = _start(local, ["s0"])
    assert local.nats is not None
    link = CuttableLink(local.nats.port)
    try:
        join = load_join(local.directory / "join.json")
        join.nats_urls = [link.url]
        jf = local.directory / "join-s1.json"
        jf.write_text(json.dumps(join.to_dict()))
        local.start_agent("s1", join=jf)
        wait_until(lambda: len(c.nodes()) == 2, 20, "s1 joined")
        c.apply({"name": "web", "replicas": 2, **HTTP})
        wait_until(lambda: c.get("web")["ready"] == 2, 20, "2 ready")
        assert len(_site_of(c)["s1"]) == 1
        ((uid, pid),) = _pids(local, "s1").items()
        port = _state(local, "s1")["workloads"][uid]["port"]
        url = f"http://127.0.0.1:{port}/"

        # a short cut (within the autonomy window): nothing moves, same process afterwards
        link.cut()
        wait_until(lambda: _event_ts(c, "node.suspected", "s1"), 10, "suspicion")
        assert _serves(url)
        link.heal()
        wait_until(lambda: _event_ts(c, "node.recovered", "s1"), 10, "recovery")
        assert _pids(local, "s1") == {uid: pid}
        assert not _event_ts(c, "node.lost", "s1")

        # a long cut: it keeps serving and restarting on its own; the controller moves the replica
        link.cut()
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: _pids(local, "s1").get(uid, pid) != pid, 10, "local restart while cut off")
        wait_until(lambda: _serves(url), 10, "serving again while cut off")
        wait_until(lambda: _event_ts(c, "node.lost", "s1"), 15, "autonomy window over")
        wait_until(lambda: c.get("web")["ready"] == 2 and "s1" not in _site_of(c), 20, "moved to s0")
        assert len(_pids(local, "s1")) == 1  # still serving, cut off
        link.heal()
        wait_until(lambda: not _pids(local, "s1"), 20, "the moved replica stopped on s1 after healing")
        assert len(_pids(local, "s0")) == 2
        assert c.get("web")["running"] == 2
    finally:
        link.close()


def test_kill9_and_restart_agent_keeps_workload_pids(local: LocalCluster) -> None:
    c = _start(local, ["s0"])
    c.apply({"name": "app", "replicas": 3, **{**SLEEP, "cpu_cores": 0.2}})
    wait_until(lambda: _running(c, "app", 3), 20, "3 running")
    before = _pids(local, "s0")
    assert len(before) == 3
    os.kill(local.agents["s0"].pid, signal.SIGKILL)
    local.agents["s0"].wait(5)
    crashed_uid, crashed_pid = sorted(before.items())[0]
    os.kill(crashed_pid, signal.SIGKILL)  # a workload dies while its agent is down
    wait_until(lambda: not pid_alive(crashed_pid), 5, "the workload's death")
    local.start_agent("s0")
    wait_until(
        lambda: (
            _pids(local, "s0").get(crashed_uid, crashed_pid) != crashed_pid and len(_pids(local, "s0")) == 3
        ),
        20,
        "restarted",
    )
    after = _pids(local, "s0")
    assert {u: p for u, p in after.items() if u != crashed_uid} == {
        u: p for u, p in before.items() if u != crashed_uid
    }
    assert after[crashed_uid] != crashed_pid
    wait_until(lambda: _running(c, "app", 3), 10, "3 running reported")
    assert {r["uid"] for r in c.replicas()} == set(before)
    assert "adopted" in local.log("agent-s0")


def test_kill9_controller_mid_reconcile_loses_nothing(local: LocalCluster) -> None:
    c = _start(local, ["s0", "s1"])
    c.apply({"name": "a", "replicas": 4, **{**SLEEP, "cpu_cores": 0.1}})
    wait_until(lambda: _running(c, "a", 4), 20, "a running")
    running_before = {**_pids(local, "s0"), **_pids(local, "s1")}
    c.apply({"name": "b", "replicas": 12, **{**SLEEP, "cpu_cores": 0.1}})
    assert local.controller is not None
    os.kill(local.controller.pid, signal.SIGKILL)  # right after the apply: mid-reconcile
    local.controller.wait(5)
    local.start_controller()
    c = local.client()
    wait_until(lambda: _running(c, "a", 4) and _running(c, "b", 12), 30, "converged after the restart")
    after = {**_pids(local, "s0"), **_pids(local, "s1")}
    assert all(after.get(u) == p for u, p in running_before.items())  # untouched
    assert len(after) == 16  # no duplicates
    assert {r["uid"] for r in c.replicas()} == set(after)


def test_unauthenticated_requests_are_refused(local: LocalCluster, tmp_path: Path) -> None:
    import asyncio

    import nats

    c = _start(local, [])
    assert local.cfg is not None
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": local.cfg.api_token}):
        r = httpx.get(f"{c.url}/v1/nodes", headers=headers, timeout=5)
        assert r.status_code == 401
    r = httpx.put(f"{c.url}/v1/deployments/x", json={"name": "x", "command": ["true"]}, timeout=5)
    assert r.status_code == 401
    assert c.deployments() == []

    async def anonymous() -> None:
        await nats.connect(local.cfg.nats_urls, allow_reconnect=False, connect_timeout=2)  # type: ignore[union-attr]

    with pytest.raises(Exception, match=r"(?i)authorization"):
        asyncio.run(anonymous())

    join = load_join(local.directory / "join.json")
    join.bootstrap_token = "not-the-token"
    bad = tmp_path / "bad-join.json"
    bad.write_text(json.dumps(join.to_dict()))
    p = local.start_agent("intruder", join=bad)
    assert p.wait(20) != 0
    assert "join refused: es.join: bad bootstrap token" in local.log("agent-intruder")
    assert c.nodes() == []


def test_region_cut_from_the_cloud_keeps_serving_and_accepts_local_restarts(local: LocalCluster) -> None:
    c = _start(local, [])
    assert local.nats is not None
    link = CuttableLink(local.nats.leaf_port)  # the region's only way to the cloud
    try:
        join = local.start_region("north", hub_url=f"nats-leaf://127.0.0.1:{link.port}")
        for s in ("n1", "n2"):
            local.start_agent(s, "--label", "zone=north", "--region", "north", join=join)
        wait_until(lambda: len(c.nodes()) == 2, 20, "regional agents joined through the leaf node")
        c.apply({"name": "web", "replicas": 2, "node_selector": {"zone": "north"}, **HTTP})
        wait_until(lambda: c.get("web")["ready"] == 2, 20, "2 ready")
        uids = {r["uid"] for r in c.replicas()}
        before = {**_pids(local, "n1"), **_pids(local, "n2")}
        urls = [
            f"http://127.0.0.1:{_state(local, s)['workloads'][u]['port']}/"
            for s in ("n1", "n2")
            for u in _pids(local, s)
        ]
        link.cut()
        wait_until(lambda: len(_event_ts(c, "node.lost")) == 2, 15, "the cloud loses the region")
        assert all(_serves(u) for u in urls)  # the region keeps serving
        # local restarts while cut off: a crashed workload, and an agent killed and restarted
        ((u1, p1),) = _pids(local, "n1").items()
        os.kill(p1, signal.SIGKILL)
        wait_until(lambda: _pids(local, "n1").get(u1, p1) != p1, 10, "n1 restarts its workload")
        ((u2, p2),) = _pids(local, "n2").items()
        os.kill(local.agents["n2"].pid, signal.SIGKILL)
        local.agents["n2"].wait(5)
        local.start_agent("n2", "--label", "zone=north", "--region", "north", join=join)
        wait_until(lambda: "adopted" in local.log("agent-n2").split("state restored")[-1], 10, "n2 re-adopts")
        assert _pids(local, "n2") == {u2: p2}
        wait_until(lambda: all(_serves(u) for u in urls), 10, "serving")
        # nowhere else to go: the replicas stay assigned to the region; after healing nothing is recreated
        assert {r["uid"] for r in c.replicas()} == uids
        link.heal()
        wait_until(lambda: len(_event_ts(c, "node.recovered")) >= 2, 20, "the region is back")
        wait_until(lambda: c.get("web")["ready"] == 2, 20, "2 ready")
        assert {r["uid"] for r in c.replicas()} == uids
        after = {**_pids(local, "n1"), **_pids(local, "n2")}
        assert after[u2] == p2 and after[u1] != p1 and set(after) == set(before) == uids
    finally:
        link.close()
