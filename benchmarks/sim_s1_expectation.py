"""Exact expected mean latency of S1 over its measurement window, from an empty start (no simulation).

S1's cells are M/M/1 queues (lambda = 10/s, mu = 12.5/s) that start empty. A request arriving at t waits for
the N(t) requests ahead of it and its own service, so its mean sojourn is (E[N(t)] + 1) / mu (PASTA, FIFO,
exponential service); the window's mean latency is 10 ms of links plus that, averaged over arrival times in
[warm-up, warm-up + 90 s]. E[N(t)] comes from the transient of the queue-length CTMC (truncated at 400, where
the stationary tail is below 1e-35), by scipy's expm_multiply. Prints one JSON line per warm-up.

Usage: python benchmarks/sim_s1_expectation.py [--warmup 10 30 ...]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy.sparse import diags
from scipy.sparse.linalg import expm_multiply

LAM, MU, LINKS_S, WINDOW_S, K = 10.0, 12.5, 0.010, 90.0, 400


def expected_mean_latency_s(warmup_s: float, steps_per_s: int = 20) -> float:
    """Mean latency of requests created in [warmup_s, warmup_s + 90 s] of an S1 cell started empty."""
    q = diags([np.full(K, LAM), np.r_[-LAM, np.full(K - 1, -(LAM + MU)), -MU], np.full(K, MU)], [1, 0, -1])
    horizon = warmup_s + WINDOW_S
    n = int(horizon * steps_per_s) + 1
    p = expm_multiply(q.T.tocsc(), np.eye(K + 1)[0], start=0.0, stop=horizon, num=n, endpoint=True)
    t = np.linspace(0.0, horizon, n)
    mean_n = p @ np.arange(K + 1)
    sel = t >= warmup_s - 1e-9
    avg_n = float(np.trapezoid(mean_n[sel], t[sel]) / WINDOW_S)
    return LINKS_S + (avg_n + 1.0) / MU


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--warmup", type=float, nargs="+", default=[10.0, 30.0])
    for w in ap.parse_args().warmup:
        print(json.dumps({"warmup_s": w, "expected_mean_latency_s": round(expected_mean_latency_s(w), 6),
                          "steady_state_s": LINKS_S + 1.0 / (MU - LAM)}))  # fmt: skip


if __name__ == "__main__":
    main()
