"""Peer benchmark S1 (issue 5): edgescale's public `simulate` against a plain SimPy model of the same system.

Usage: python benchmarks/peer_s1.py --devices N [--skip-simpy] [--replications R]
S1 is benchmarks/scenarios/s1.yaml (N devices, N/100 cells, rho = 0.8, 5 ms links, 100 s after 10 s warm-up).
Both sides run as whole processes; edgescale installed as an installer leaves it: its compiled-code cache warm
(the ahead-of-time kernel built; the cold compile, from an empty cache, is timed separately) and its Python
bytecode compiled (pip compiles it; an editable checkout run with PYTHONDONTWRITEBYTECODE=1 would compile the
sources in every process, about 0.15 s). Prints one JSON line: wall and CPU seconds of each process and the
load average around the runs (the machine should be quiet).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import machine, run_process

HERE = Path(__file__).resolve().parent
S1 = HERE / "scenarios" / "s1.yaml"
ANALYTIC_MEAN_S = 0.010 + 1.0 / (12.5 - 10.0)

SIMPY_SNIPPET = """
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {here!r})
from kernel_s1 import run_simpy
r = run_simpy({devices}, 1, per_device=False)
r["process_s"] = time.perf_counter() - t0
print(json.dumps(r))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devices", type=int, required=True, help="N, a multiple of 100")
    ap.add_argument("--skip-simpy", action="store_true")
    ap.add_argument("--replications", type=int, default=1)
    ap.add_argument(
        "--warmup",
        default=None,
        help="edgescale warm-up (e.g. 30s; default: the scenario's 10 s, whose transient from an empty system "
        "lowers the expected mean to 0.40943 s; 30 s leaves 0.41 - 0.000014 s)",
    )
    args = ap.parse_args()
    n = args.devices
    exe = shutil.which("edgescale") or str(Path(sys.executable).parent / "edgescale")
    import edgescale

    compileall.compile_dir(str(Path(edgescale.__file__).parent), quiet=1)  # what pip does on install
    code = "from edgescale.sim.kernel import compile_kernel; print(compile_kernel())"
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as empty:
        t0 = time.perf_counter()
        cold_proc = run_process([sys.executable, "-c", code], env={**os.environ, "NUMBA_CACHE_DIR": empty})
        cold_cpu = cold_proc["cpu_s"]
        cold_wall = time.perf_counter() - t0
        cold = float(cold_proc["stdout"].strip())
    # make sure the warm cache exists, then time the whole process
    subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    cmd = [
        exe,
        "simulate",
        str(S1),
        "--set",
        f"site_groups[cell].count={n // 100}",
        "--set",
        f"device_groups[devices].count={n}",
        "--replications",
        str(args.replications),
        "--seed",
        "1",
        "--format",
        "json",
    ]
    if args.warmup is not None:
        cmd += ["--warmup", args.warmup]
    es = run_process(cmd)
    es_cpu = es["cpu_s"]
    res = json.loads(es.pop("stdout"))
    app = res["applications"][0]
    lat = app["latency_ms"]
    out: dict[str, object] = {
        "devices": n,
        "edgescale": {
            "wall_s": es["wall_s"],
            "cpu_s": round(es_cpu, 3),
            "peak_rss_mib": es["peak_rss_mib"],
            "kernel_s": round(res["kernel_seconds"], 3),
            "kernel_load_s": round(res["kernel_load_seconds"], 4),
            "cold_compile_s": round(cold, 2),
            "cold_compile_process_wall_s": round(cold_wall, 2),
            "cold_compile_process_cpu_s": round(cold_cpu, 2),
            "mean_latency_s": lat["mean"] / 1000.0,
            "mean_latency_ci99_half_width_s": None
            if lat["mean_ci99_half_width"] is None
            else lat["mean_ci99_half_width"] / 1000.0,
            "p95_latency_s": lat["p95"] / 1000.0,
            "requests": res["requests"],
            "replications": res["replications"],
            "requests_per_kernel_second": round(res["requests_per_kernel_second"]),
            "warmup_s": res["warmup_s"],
            "mean_latency_by_replication_s": [x / 1000.0 for x in lat["mean_by_replication"]],
        },
        "analytic_mean_latency_s": ANALYTIC_MEAN_S,
    }
    if not args.skip_simpy:
        sp = run_process([sys.executable, "-c", SIMPY_SNIPPET.format(here=str(HERE), devices=n)])
        sp_cpu = sp["cpu_s"]
        sim = json.loads(sp.pop("stdout"))
        out["simpy"] = {
            "wall_s": sp["wall_s"],
            "cpu_s": round(sp_cpu, 3),
            "model_s": sim["wall_s"],
            "mean_latency_s": sim["mean_latency_s"],
            "p95_latency_s": sim["p95_latency_s"],
            "requests": sim["requests"],
        }
        out["ratio"] = {
            "kernel_vs_simpy_model": round(sim["wall_s"] / max(res["kernel_seconds"], 1e-9), 1),
            "whole_process": round(sp["wall_s"] / es["wall_s"], 1),
            "whole_process_cpu": round(sp_cpu / max(es_cpu, 1e-9), 1),
        }
    out["machine"] = {**machine(), "loadavg_before": [round(x, 2) for x in load_before],
                      "loadavg_after": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    print(json.dumps(out))


if __name__ == "__main__":
    main()
