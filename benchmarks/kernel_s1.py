"""Benchmark S1: the edgescale event kernel against a plain SimPy model of the same system.

S1: N devices in N/100 cells with one edge site each; every device sends Poisson requests at 0.1/s to its
cell's site; each site is one FIFO server with exponential service at 12.5/s (utilization 0.8); links take
5 ms each way; 100 simulated seconds, the first 10 discarded. Analytic mean response: 0.01 + 1/(12.5 - 10)
= 0.41 s (M/M/1 sojourn plus the two link delays).

Both models merge the 100 devices of a cell into one Poisson source at 10/s (exact: a superposition of
Poisson streams is Poisson); ``--per-device`` gives the kernel one source per device instead, and
``--simpy-per-device`` one SimPy process per device. The kernel counts the requests created after t = 10 s and
drains them after t = 100 s (``kernel.drain``); the SimPy model counts responses arriving after t = 10 s. Both
estimate about the same mean; the kernel's, from an empty start, is exactly 0.40943 s (the
transient of the M/M/1 queue-length chain, benchmarks/sim_s1_expectation.py), 0.41 s in steady state.

``kernel_s`` is the warm kernel wall time of the whole run, warm-up included (``kernel_cpu_s``: its CPU
time, steadier on a busy machine); ``cold_compile_s`` is the first call: a true compile with ``--cold``
(fresh numba cache: the ahead-of-time kernel is built), else a load of the ahead-of-time kernel (or from
numba's cache with ``EDGESCALE_AOT=0``); ``kernel`` says which ran. Prints one JSON line.

Usage::

    python benchmarks/kernel_s1.py --devices 100000
    python benchmarks/kernel_s1.py --devices 1000000 --skip-simpy
    python benchmarks/kernel_s1.py --devices 10000 --cold    # fresh numba cache: true cold compile
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from typing import Any

import numpy as np

DEVICES_PER_CELL = 100
RATE_PER_DEVICE = 0.1
SERVICE_RATE = 12.5
LINK_S = 0.005
HORIZON_S = 100.0
WARMUP_S = 10.0
ANALYTIC_MEAN_S = 2 * LINK_S + 1.0 / (SERVICE_RATE - DEVICES_PER_CELL * RATE_PER_DEVICE)


def build_s1(devices: int, *, per_device: bool = False) -> Any:
    """S1 as kernel arrays: one station per cell, one source per cell (or per device), one stage each."""
    from edgescale.sim.kernel import make_model, merged_poisson_rates

    cells = devices // DEVICES_PER_CELL
    if per_device:
        n_src = cells * DEVICES_PER_CELL
        station = np.arange(n_src) // DEVICES_PER_CELL
        rates = np.full(n_src, RATE_PER_DEVICE)
    else:
        n_src = cells
        station = np.arange(cells)
        rates = merged_poisson_rates(np.full(cells, DEVICES_PER_CELL), RATE_PER_DEVICE)
    return make_model(
        servers=np.ones(cells, dtype=np.int32),
        rate_per_s=rates,
        route_ptr=np.arange(n_src + 1),
        stage_station=station,
        stage_delay_s=np.full(n_src, LINK_S),
        stage_work_mean_s=np.full(n_src, 1.0 / SERVICE_RATE),
        return_delay_s=np.full(n_src, LINK_S),
    )


def run_kernel(devices: int, seed: int, *, per_device: bool, cold: bool) -> dict[str, Any]:
    from edgescale.sim import _aot
    from edgescale.sim.kernel import compile_kernel, drain, init_state, reset_metrics, run_until

    first_call = compile_kernel()
    model = build_s1(devices, per_device=per_device)
    state = init_state(model, seed)
    t0, c0 = time.perf_counter(), time.process_time()
    run_until(model, state, WARMUP_S, validate=False)
    reset_metrics(state)
    run_until(model, state, HORIZON_S, validate=False)
    metrics = drain(model, state, max_s=HORIZON_S)
    kernel_s, kernel_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    lat = metrics.latency[0]
    return {
        "sources": "per device" if per_device else "merged per cell",
        "kernel_s": round(kernel_s, 3),
        "kernel_cpu_s": round(kernel_cpu_s, 3),
        "cold_compile_s": round(first_call, 2),
        "numba_cache": "fresh" if cold else "reused",
        "kernel": "ahead-of-time" if _aot.loaded() is not None else "numba JIT",
        "mean_latency_s": round(lat.mean, 5),
        "p95_latency_s": round(float(lat.quantile(0.95)), 5),
        "requests": lat.count,
        "requests_per_s": round(lat.count / kernel_s),
        "state_mib": round(state.nbytes / 2**20, 1),
        "pool_capacity": state.pool_capacity,
        "rss_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_simpy(devices: int, seed: int, *, per_device: bool) -> dict[str, Any]:
    """Plain SimPy S1: one Resource per site, one Poisson source process per cell (merged) or per device."""
    import simpy

    rng = random.Random(seed)
    env = simpy.Environment()
    latencies: list[float] = []
    source_rate = RATE_PER_DEVICE if per_device else DEVICES_PER_CELL * RATE_PER_DEVICE

    def request(site: simpy.Resource) -> Any:
        t0 = env.now
        yield env.timeout(LINK_S)
        with site.request() as req:
            yield req
            yield env.timeout(rng.expovariate(SERVICE_RATE))
        yield env.timeout(LINK_S)
        if env.now >= WARMUP_S:
            latencies.append(env.now - t0)

    def source(site: simpy.Resource) -> Any:
        while True:
            yield env.timeout(rng.expovariate(source_rate))
            env.process(request(site))

    for _ in range(devices // DEVICES_PER_CELL):
        site = simpy.Resource(env, capacity=1)
        for _ in range(DEVICES_PER_CELL if per_device else 1):
            env.process(source(site))
    t0 = time.perf_counter()
    env.run(until=HORIZON_S)
    wall = time.perf_counter() - t0
    lat = np.asarray(latencies)
    return {
        "wall_s": round(wall, 3),
        "mean_latency_s": round(float(lat.mean()), 5),
        "p95_latency_s": round(float(np.quantile(lat, 0.95)), 5),
        "requests": int(lat.size),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--devices", type=int, required=True, help="number of devices N (a multiple of 100)")
    p.add_argument("--skip-simpy", action="store_true", help="do not run the SimPy model")
    p.add_argument("--per-device", action="store_true", help="kernel: one source per device, not per cell")
    p.add_argument(
        "--cold", action="store_true", help="use a fresh numba cache directory (true cold compile)"
    )
    p.add_argument("--simpy-per-device", action="store_true", help="SimPy: one source process per device")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    if args.devices < DEVICES_PER_CELL or args.devices % DEVICES_PER_CELL:
        p.error(f"--devices: must be a positive multiple of {DEVICES_PER_CELL} (got {args.devices})")
    if args.cold:
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="edgescale-numba-")
    out: dict[str, Any] = {
        "devices": args.devices,
        "sites": args.devices // DEVICES_PER_CELL,
        "analytic_mean_latency_s": round(ANALYTIC_MEAN_S, 5),
        "edgescale": run_kernel(args.devices, args.seed, per_device=args.per_device, cold=args.cold),
    }
    if not args.skip_simpy:
        out["simpy"] = run_simpy(args.devices, args.seed, per_device=args.simpy_per_device)
        out["simpy"]["sources"] = "per device" if args.simpy_per_device else "merged per cell"
        out["ratio"] = round(out["simpy"]["wall_s"] / out["edgescale"]["kernel_s"], 1)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
