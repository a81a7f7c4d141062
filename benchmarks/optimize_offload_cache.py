"""Benchmark offloading (best response, MILP), caching (lazy greedy, MILP), DVFS and load split at scale.

Prints one JSON object per case (one per line): case, size, seconds, objective, bound, gap, status
and case-specific figures (price of anarchy, rounds, evaluations). Instances are random with a seed.

Usage::

    python benchmarks/optimize_offload_cache.py [--devices 100000] [--edges 100] [--caches 1000]
                                                [--items 10000] [--neighbours 8] [--seed 1]
                                                [--small-devices 60] [--time-limit 60]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
from _util import machine

from edgescale.optimize.caching import CacheProblem, cache_greedy, cache_optimal, regional_popularity
from edgescale.optimize.energy import dvfs_levels, optimal_split
from edgescale.optimize.offloading import OffloadProblem, offload_best_response, offload_optimal


def offload_problem(n: int, k: int, seed: int) -> OffloadProblem:
    """Random devices on a 10 km square, edge sites too; rtt grows with distance, cloud 60-120 ms."""
    rng = np.random.default_rng(seed)
    dev = rng.uniform(0, 10, (n, 2))
    site = rng.uniform(0, 10, (k, 2))
    dist = np.sqrt(((dev[:, None, :] - site[None, :, :]) ** 2).sum(axis=2))
    rtt = np.concatenate([4.0 + 2.0 * dist, rng.uniform(60, 120, (n, 1))], axis=1)
    return OffloadProblem.build(
        cycles=rng.uniform(2e8, 2e9, n),
        device_hz=rng.uniform(0.8e9, 2e9, n),
        kappa=1e-27,
        input_bits=rng.uniform(1e5, 4e6, n),
        output_bits=rng.uniform(1e4, 1e5, n),
        uplink_bps=rng.uniform(10e6, 50e6, n),
        rtt_ms=rtt,
        edge_hz=rng.uniform(20e9, 80e9, k) * max(n / (40 * k), 0.05),
        cloud_hz=4e9,
        latency_weight=1.0,
        energy_weight=500.0,
    )


def cache_problem(s: int, n: int, neighbours: int, seed: int) -> CacheProblem:
    """Caches on a 100 km square; 1 ms locally, +0.1 ms/km to a neighbour, origin 40-80 ms; Zipf(0.8)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (s, 2))
    lat = 1.0 + 0.1 * np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    rate = regional_popularity(s, n, 0.8, spread=0.05, seed=rng) * rng.uniform(50, 500, (s, 1))
    return CacheProblem.build(
        rate_per_s=rate,
        capacity=np.full(s, max(n // 50, 1)),
        latency_ms=lat,
        origin_ms=rng.uniform(40, 80, s),
        neighbours=neighbours,
    )


def emit(case: str, size: dict[str, int], r: Any, **extra: Any) -> None:
    d = r.to_dict()
    row = {"case": case, **size, "seconds": round(r.solve_seconds, 3)}
    for key in ("objective", "objective_saved_ms_per_s", "objective_w", "objective_ms"):
        if key in d:
            row["objective"] = d[key]
    row.update({"bound": d.get("bound"), "gap": d.get("gap"), "status": d.get("status")})
    row.update(extra)
    print(json.dumps(row), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=100_000)
    ap.add_argument("--edges", type=int, default=100)
    ap.add_argument("--caches", type=int, default=1000)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--neighbours", type=int, default=8)
    ap.add_argument("--small-devices", type=int, default=60)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    print(json.dumps({"machine": machine()}), flush=True)

    # warm the numba kernels so timings exclude compilation
    offload_best_response(offload_problem(20, 2, 0))
    cache_greedy(cache_problem(4, 20, 2, 0))

    small = offload_problem(a.small_devices, 3, a.seed)
    opt = offload_optimal(small, time_limit_s=a.time_limit)
    emit("offload_milp", {"devices": a.small_devices, "edges": 3}, opt)
    br = offload_best_response(small, optimum=opt, seed=a.seed)
    emit(
        "offload_best_response",
        {"devices": a.small_devices, "edges": 3},
        br,
        rounds=br.rounds,
        price_of_anarchy=br.price_of_anarchy,
        equilibrium=br.equilibrium,
    )

    t0 = time.perf_counter()
    big = offload_problem(a.devices, a.edges, a.seed)
    build_s = time.perf_counter() - t0
    br = offload_best_response(big, seed=a.seed)
    emit(
        "offload_best_response",
        {"devices": a.devices, "edges": a.edges},
        br,
        rounds=br.rounds,
        moves=br.moves,
        equilibrium=br.equilibrium,
        build_seconds=round(build_s, 3),
        shares=br.shares(a.edges),
    )

    tiny = cache_problem(6, 30, 3, a.seed)
    g = cache_greedy(tiny)
    ex = cache_optimal(tiny, time_limit_s=a.time_limit)
    emit("cache_milp", {"caches": 6, "items": 30}, ex)
    emit(
        "cache_lazy_greedy",
        {"caches": 6, "items": 30},
        g,
        guarantee=g.guarantee,
        ratio_to_optimum=g.objective / ex.objective,
    )

    t0 = time.perf_counter()
    cp = cache_problem(a.caches, a.items, a.neighbours, a.seed)
    build_s = time.perf_counter() - t0
    g = cache_greedy(cp)
    emit(
        "cache_lazy_greedy",
        {"caches": a.caches, "items": a.items, "neighbours": a.neighbours},
        g,
        guarantee=g.guarantee,
        evaluations=g.evaluations,
        elements=a.caches * a.items,
        local_hit=g.local_hit,
        neighbour_hit=g.neighbour_hit,
        build_seconds=round(build_s, 3),
    )

    rng = np.random.default_rng(a.seed)
    n_sites = 1000
    levels = [[(f, 60 + 90 * (f / 2.4) ** 3) for f in (0.8, 1.2, 1.6, 2.0, 2.4)]] * n_sites
    r = dvfs_levels(
        rng.uniform(5, 60, n_sites),
        rng.uniform(2, 10, n_sites),
        levels,
        100.0,
        servers=rng.integers(1, 8, n_sites),
        idle_w=40.0,
    )
    emit("dvfs_levels", {"sites": n_sites, "levels": 5}, r)
    mu = rng.uniform(1, 100, 10_000)
    s = optimal_split(0.8 * mu.sum(), mu, delay_ms=rng.uniform(0, 50, 10_000))
    emit("optimal_split", {"servers": 10_000}, s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
