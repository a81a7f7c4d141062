"""Network calculus: cost of exact (Fraction) versus float curves and tandem analyses.

Usage: python benchmarks/analysis_netcalc.py [--seed S] [--repeat K]
Prints one JSON object: median seconds per call of a general min-plus convolution and
deconvolution of random k-segment curves, and of TFA/SFA/PMOO on random stable tandems of
n servers with n cross flows, each in exact and in float mode.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import machine

from edgescale.analysis.netcalc import (
    CrossFlow,
    Curve,
    Tandem,
    convolve,
    deconvolve,
    pmoo_delay,
    sfa_delay,
    tfa_delay,
)


def random_curve(rng: random.Random, k: int, final: int) -> Curve[Fraction]:
    """Increasing curve with k segments, integer breakpoints, small rational slopes and jumps."""
    xs = [0, *sorted(rng.sample(range(1, 4 * k), k - 1))]
    slopes = [Fraction(rng.randint(0, 12), rng.randint(1, 4)) for _ in range(k - 1)] + [Fraction(final)]
    values = [Fraction(rng.randint(0, 5))]
    for i in range(1, k):
        values.append(values[-1] + slopes[i - 1] * (xs[i] - xs[i - 1]) + rng.randint(0, 2))
    return Curve(xs, values, slopes, 0)


def random_tandem(rng: random.Random, n: int) -> Tandem[Fraction]:
    """Stable tandem: every server has spare rate beyond its total load."""
    cross = []
    for _ in range(n):
        first = rng.randrange(n)
        cross.append(
            CrossFlow(
                Fraction(rng.randint(1, 8), 4), Fraction(rng.randint(0, 8), 2), first, rng.randrange(first, n)
            )
        )
    foi = (Fraction(1, 2), Fraction(2))
    servers = []
    for k in range(n):
        load = sum((c.rate for c in cross if c.first <= k <= c.last), Fraction(0)) + foi[0]
        servers.append((load + Fraction(rng.randint(2, 8), 2), Fraction(rng.randint(0, 4), 2)))
    return Tandem(servers, foi, cross)


def as_float(t: Tandem[Fraction]) -> Tandem[float]:
    """The same tandem in float mode."""
    return Tandem(
        [(float(r), float(x)) for r, x in t.servers],
        (float(t.foi[0]), float(t.foi[1])),
        [CrossFlow(float(c.rate), float(c.burst), c.first, c.last) for c in t.cross],
    )


def median_s(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times), 6)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    out: dict[str, Any] = {"machine": machine(), "seed": args.seed, "convolution": [], "tandem": []}
    for k in (2, 4, 8, 16):
        f, g = random_curve(rng, k, 1), random_curve(rng, k, 2)  # g's final slope above f's
        ff, gf = f.to_float(), g.to_float()
        out["convolution"].append(
            {
                "segments": k,
                "convolve_exact_s": median_s(lambda f=f, g=g: convolve(f, g), args.repeat),
                "convolve_float_s": median_s(lambda f=ff, g=gf: convolve(f, g), args.repeat),
                "deconvolve_exact_s": median_s(lambda f=f, g=g: deconvolve(f, g), args.repeat),
                "deconvolve_float_s": median_s(lambda f=ff, g=gf: deconvolve(f, g), args.repeat),
            }
        )
    for n in (2, 4, 8, 16):
        t = random_tandem(rng, n)
        tf = as_float(t)
        row: dict[str, Any] = {"servers": n, "cross_flows": n}
        for name, fn in (("tfa", tfa_delay), ("sfa", sfa_delay), ("pmoo", pmoo_delay)):
            row[f"{name}_exact_s"] = median_s(lambda fn=fn, t=t: fn(t), args.repeat)
            row[f"{name}_float_s"] = median_s(lambda fn=fn, t=tf: fn(t), args.repeat)
            row[f"{name}_delay"] = float(fn(t))
        out["tandem"].append(row)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
