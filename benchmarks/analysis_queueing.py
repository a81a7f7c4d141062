"""Queueing analysis: timings of the network solvers and accuracy of approximate MVA.

Usage: python benchmarks/analysis_queueing.py [--seed S] [--repeat K] [--cases C]
Prints one JSON object: median seconds (of K runs) for an open Jackson network of 10,000
stations with sparse random routing (1-10 successors each, substochastic), for Schweitzer
and Linearizer MVA with 100 stations x 10 classes x population 10,000, for exact MVA and
convolution with multi-server stations, and the error of Schweitzer and Linearizer
against exact multi-class MVA on tractable cases.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import machine

from edgescale.analysis import qnetworks as qn
from edgescale.analysis import queueing as q


def median_seconds(call: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of *repeat* calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times), 4), result


def random_routing(n: int, rng: np.random.Generator) -> sparse.csr_matrix:
    """1-10 random successors per station; each row sums to 0.5-0.95 (the rest leaves)."""
    k = rng.integers(1, 11, size=n)
    rows = np.repeat(np.arange(n), k)
    p = sparse.csr_matrix((rng.random(k.sum()), (rows, rng.integers(0, n, k.sum()))), shape=(n, n))
    keep = rng.uniform(0.5, 0.95, n) / np.asarray(p.sum(axis=1)).ravel()
    return sparse.csr_matrix(sparse.diags(keep) @ p)


def bench_jackson(rng: np.random.Generator, repeat: int) -> dict[str, Any]:
    n = 10_000
    p = random_routing(n, rng)
    gamma = rng.random(n)
    servers = rng.integers(1, 5, n)
    seconds, net = median_seconds(lambda: qn.jackson_network(p, gamma, 1e4, servers), repeat)
    lam = net.arrival_rate_per_s
    return {
        "stations": n,
        "routing_nonzeros": int(p.nnz),
        "seconds": seconds,
        "max_relative_residual": float(np.abs(lam - gamma - p.T @ lam).max() / lam.max()),
        "network_response_time_s": net.network_response_time_s,
    }


def big_multiclass(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = rng.uniform(0.001, 0.05, (100, 10))
    return d, np.full(10, 1000), rng.uniform(0.0, 1.0, 10)


def bench_amva(rng: np.random.Generator, repeat: int) -> dict[str, Any]:
    d, pop, z = big_multiclass(rng)
    out: dict[str, Any] = {"stations": 100, "classes": 10, "population": int(pop.sum())}
    for name, solver in (("schweitzer", qn.schweitzer_mva), ("linearizer", qn.linearizer_mva)):
        seconds, m = median_seconds(lambda s=solver: s(d, pop, think_time_s=z), repeat)
        out[name] = {
            "seconds": seconds,
            "iterations": m.iterations,
            "max_utilization": float(m.utilization.max()),
        }
    return out


def relative_errors(exact: qn.MulticlassMetrics, approx: qn.MulticlassMetrics) -> tuple[float, float]:
    """Largest relative error of per-class throughput and response time."""
    x = float(np.abs(approx.throughput_per_s / exact.throughput_per_s - 1).max())
    r = float(np.abs(approx.response_time_s / exact.response_time_s - 1).max())
    return x, r


def bench_accuracy(rng: np.random.Generator, cases: int) -> dict[str, Any]:
    # The fixed case also used in tests/analysis/test_qnetworks.py.
    d = np.array([[0.40, 0.10, 0.30], [0.20, 0.50, 0.20], [0.30, 0.30, 0.60], [0.10, 0.20, 0.10]])
    pop, think = [6, 5, 4], [1.0, 2.0, 0.5]
    exact = qn.mva_multiclass(d, pop, think_time_s=think)
    out: dict[str, Any] = {"fixed_case": {"stations": 4, "population": pop}}
    for name, solver in (("schweitzer", qn.schweitzer_mva), ("linearizer", qn.linearizer_mva)):
        x, r = relative_errors(exact, solver(d, pop, think_time_s=think))
        out["fixed_case"][name] = {"max_rel_error_throughput": x, "max_rel_error_response": r}
    worst = {"schweitzer": [0.0, 0.0], "linearizer": [0.0, 0.0]}
    for _ in range(cases):
        m = int(rng.integers(2, 6))
        d = rng.uniform(0.05, 2.0, (m, 3))
        pop = [int(v) for v in rng.integers(1, 9, 3)]
        think = [float(rng.choice([0.0, rng.uniform(0, 5)]))] * 3
        exact = qn.mva_multiclass(d, pop, think_time_s=think)
        for name, solver in (("schweitzer", qn.schweitzer_mva), ("linearizer", qn.linearizer_mva)):
            errors = relative_errors(exact, solver(d, pop, think_time_s=think))
            worst[name] = [max(a, b) for a, b in zip(worst[name], errors, strict=True)]
    out["random_cases"] = {
        "cases": cases,
        "stations": "2-5",
        "classes": 3,
        "population_per_class": "1-8",
        **{n: {"max_rel_error_throughput": w[0], "max_rel_error_response": w[1]} for n, w in worst.items()},
    }
    return out


def bench_exact(repeat: int) -> dict[str, Any]:
    d3 = np.random.default_rng(1).uniform(0.1, 1.0, (10, 3))
    seconds_mc, _ = median_seconds(lambda: qn.mva_multiclass(d3, [30, 30, 30]), repeat)
    demand, servers = [0.2, 0.3, 0.1, 1.0], [1, 2, 4, 8]
    seconds_mva, a = median_seconds(lambda: qn.mva(demand, 2000, servers=servers, think_time_s=50.0), repeat)
    seconds_conv, b = median_seconds(
        lambda: qn.buzen_convolution(demand, 2000, servers=servers, think_time_s=50.0), repeat
    )
    seconds_erlang, _ = median_seconds(lambda: q.erlang_c(10_000, 9_900.0), repeat)
    return {
        "mva_multiclass_10_stations_pop_30x30x30_s": seconds_mc,
        "mva_multiserver_pop_2000_s": seconds_mva,
        "convolution_multiserver_pop_2000_s": seconds_conv,
        "mva_vs_convolution_rel_diff_throughput": abs(a.throughput_per_s / b.throughput_per_s - 1),
        "erlang_c_10000_servers_s": seconds_erlang,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cases", type=int, default=300)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    result = {
        "benchmark": "analysis_queueing",
        "seed": args.seed,
        "repeat": args.repeat,
        "jackson_10k": bench_jackson(rng, args.repeat),
        "amva_100x10_pop_10000": bench_amva(rng, args.repeat),
        "amva_accuracy_vs_exact": bench_accuracy(rng, args.cases),
        "exact": bench_exact(args.repeat),
        "machine": machine(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
