"""Control-plane scale: hollow agents against a real controller process and a real nats-server.

Measures, with authentication on (NATS users, signed messages, API bearer token):

- join: seconds for N hollow agents to join (bootstrap token, own keys);
- convergence: from applying deployments totalling R replicas on an empty cluster until the
  controller reports every replica running (reported by the agents' signed status);
- steady state: suspicions of live agents over ``--steady-s`` seconds (should be 0);
- failure detection: K agents go silent; latency from their silence to ``node.suspected``, p50/p99,
  against the time at which the configured phi-accrual detector reaches its threshold for a perfectly
  regular heartbeat;
- controller memory (VmRSS / VmHWM).

Prints one JSON document. Example (the figures in docs/benchmarks.md)::

    python benchmarks/operate_scale.py --agents 10000 --replicas 100000 --heartbeat-s 5 --steady-s 600 --kill 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _util import machine

from edgescale.operate.client import ApiClient
from edgescale.operate.config import ClusterConfig, save_cluster
from edgescale.operate.hollow import HollowFleet
from edgescale.operate.natsd import NatsServer, free_port
from edgescale.policies.phi_accrual import _threshold_y


def _mem_mib(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, val = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(val.split()[0]) / 1024, 1)
    return out


def _wait(pred: Any, timeout_s: float, what: str, step_s: float = 0.5) -> float:
    t0 = time.perf_counter()
    while not pred():
        if time.perf_counter() - t0 > timeout_s:
            raise TimeoutError(f"{what}: not within {timeout_s:g} s")
        time.sleep(step_s)
    return time.perf_counter() - t0


async def _await(pred: Any, timeout_s: float, what: str, step_s: float = 0.5) -> float:
    t0 = time.perf_counter()
    while not await asyncio.to_thread(pred):
        if time.perf_counter() - t0 > timeout_s:
            raise TimeoutError(f"{what}: not within {timeout_s:g} s")
        await asyncio.sleep(step_s)
    return time.perf_counter() - t0


async def bench(a: argparse.Namespace, work: Path) -> dict[str, Any]:
    cfg = ClusterConfig(nats_urls=[])
    server = NatsServer(work / "nats", users=cfg.nats_users(), jetstream=False)
    cfg.nats_urls = [server.url]
    port = free_port()
    cfg.api_url = f"http://127.0.0.1:{port}"
    save_cluster(cfg, work)
    server.start()
    hb = a.heartbeat_s
    prof = ["-m", "cProfile", "-o", a.profile] if a.profile else []
    cmd = [
        sys.executable, *prof, "-m", "edgescale", "operate", "controller", "--cluster", str(work),
        "--state-dir", str(work / "controller"), "--api-port", str(port), "--heartbeat-s", str(hb),
        "--autonomy-window-s", str(a.autonomy_window_s), "--reconcile-s", "0.5", "--log-level", "WARNING",
        "--placement", a.placement,
    ]  # fmt: skip
    log = open(work / "controller.log", "wb")  # noqa: SIM115
    ctl = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    api = ApiClient(cfg.api_url, cfg.api_token, timeout_s=60)
    fleet = HollowFleet(cfg.join(), a.agents, connections=a.connections, heartbeat_s=hb, seed=a.seed)
    try:
        _wait(lambda: _ok(api), 30, "controller API", 0.1)
        join_s = await fleet.start()
        await _await(lambda: api.status()["nodes"] == a.agents, 120, "nodes registered", 0.2)
        mem_idle = _mem_mib(ctl.pid)
        per = math.ceil(a.replicas / a.deployments)
        t0 = time.perf_counter()
        docs = [
            {
                "name": f"svc-{d}",
                "command": ["true"],
                "replicas": min(per, a.replicas - d * per),
                "cpu_cores": 0.01,
            }
            for d in range(a.deployments)
        ]
        await asyncio.gather(
            *(asyncio.to_thread(api.apply, doc) for doc in docs)
        )  # a burst, as 'kubectl apply -f dir'
        converge_s = await _await(
            lambda: api.status()["replicas_running"] == a.replicas, a.timeout_s, "convergence", 0.25
        )
        converge_s = time.perf_counter() - t0
        mem_converged = _mem_mib(ctl.pid)
        t_steady = time.time()
        await asyncio.sleep(a.steady_s)
        suspicions = api.events(kind="node.suspected")
        false_before = len([e for e in suspicions if e["ts"] < t_steady])
        # failure detection: K agents go silent
        rng = np.random.default_rng(a.seed)
        victims = rng.choice(a.agents, a.kill, replace=False)
        killed = {fleet.agents[k].site: fleet.kill(int(k)) for k in victims}
        events: dict[str, float] = {}

        def all_suspected() -> bool:
            for e in api.events(kind="node.suspected"):
                if e["subject"] in killed and e["subject"] not in events and e["ts"] >= killed[e["subject"]]:
                    events[e["subject"]] = e["ts"]
            return len(events) == len(killed)

        await _await(all_suspected, 120, "suspicion of the silent agents", 0.2)
        lat = np.array([events[s] - killed[s] for s in killed])
        others = [
            e for e in api.events(kind="node.suspected") if e["subject"] not in killed and e["ts"] >= t_steady
        ]
        min_std = max(0.05, hb / 4)
        expected = hb + hb + _threshold_y(8.0) * min_std  # interval + acceptable pause + y* std
        return {
            "benchmark": "operate_scale",
            "machine": machine(),
            "agents": a.agents,
            "replicas": a.replicas,
            "deployments": a.deployments,
            "connections": a.connections,
            "heartbeat_s": hb,
            "auth": "nats users + ed25519-signed messages + API bearer token",
            "join_s": round(join_s, 2),
            "converge_s": round(converge_s, 2),
            "converge_target_s": 60,
            "steady_s": a.steady_s,
            "false_suspicions_steady": len(others),  # live agents, from the steady phase to the end
            "false_suspicions_during_join_and_convergence": false_before,
            "detection": {
                "killed": a.kill,
                "p50_s": round(float(np.percentile(lat, 50)), 3),
                "p99_s": round(float(np.percentile(lat, 99)), 3),
                "max_s": round(float(lat.max()), 3),
                "phi_threshold_time_s": round(expected, 3),
                "detector": "phi-accrual threshold 8, min_std hb/4, acceptable pause hb",
            },
            "controller_mib": {
                "idle_after_join": mem_idle,
                "converged": mem_converged,
                "end": _mem_mib(ctl.pid),
            },
            "heartbeats_sent": fleet.sent_heartbeats,
        }
    finally:
        await fleet.stop()
        os.killpg(ctl.pid, signal.SIGTERM)
        try:
            ctl.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(ctl.pid, signal.SIGKILL)
        log.close()
        server.stop()
        api.close()


def _ok(api: ApiClient) -> bool:
    try:
        api.status()
        return True
    except Exception:
        return False


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--agents", type=int, default=10_000)
    p.add_argument("--replicas", type=int, default=100_000)
    p.add_argument("--deployments", type=int, default=10)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--heartbeat-s", type=float, default=5.0)
    p.add_argument("--autonomy-window-s", type=float, default=300.0)
    p.add_argument("--steady-s", type=float, default=600.0)
    p.add_argument("--kill", type=int, default=100)
    p.add_argument("--timeout-s", type=float, default=300.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--placement", default="water-filling", help="placement policy of the controller")
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    p.add_argument("--profile", default="", help="write a cProfile of the controller here")
    a = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="operate-scale-"))
    result = asyncio.run(bench(a, work))
    result["work_dir"] = str(work) if a.keep else None
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
