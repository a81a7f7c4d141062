"""Benchmark ``edgescale.optimize.gap.solve_gap`` on OR-Library GAP instances.

Prints one JSON object per instance (one per line): instance, m, n, objective, best_known,
gap_to_best_known_pct, bound, proven_gap_pct, status, seconds.

Usage::

    python benchmarks/optimize_gap.py [--instances gapc:3,gapd:1-6] [--time-limit 60]
                                      [--method auto] [--data DIR]

``--instances`` is a comma-separated list of ``file:numbers`` where numbers are ``k``, ``k-l`` or
``k+l``; a bare file name means all its instances. The data directory defaults to
``../shared/data/orlib-gap`` next to the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edgescale.optimize.gap import read_gap_file, solve_gap

# Optima (gap1, gap12, gapa, gapc) and best known values (gapd) from the data set's README.
BEST_KNOWN: dict[str, list[int]] = {
    "gap1": [336, 327, 339, 341, 326],
    "gap12": [1451, 1449, 1433, 1447, 1446],
    "gapa": [1698, 3235, 1360, 2623, 1158, 2339],
    "gapc": [1931, 3456, 1402, 2806, 1243, 2391],
    "gapd": [6353, 12742, 6347, 12430, 6185, 12235],
}
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "orlib-gap"


def parse_selection(text: str) -> list[tuple[str, list[int] | None]]:
    """``"gapc:3,gapd:1-6"`` -> ``[("gapc", [3]), ("gapd", [1, 2, 3, 4, 5, 6])]``."""
    out: list[tuple[str, list[int] | None]] = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, _, spec = item.partition(":")
        if not spec:
            out.append((name, None))
            continue
        numbers: list[int] = []
        for part in spec.split("+"):
            lo, _, hi = part.partition("-")
            numbers.extend(range(int(lo), int(hi or lo) + 1))
        out.append((name, numbers))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="gapc:3,gapd:1-6")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per instance")
    parser.add_argument("--method", default="auto", choices=["auto", "milp", "heuristic"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"data directory not found: {args.data}", file=sys.stderr)
        return 1
    for name, numbers in parse_selection(args.instances):
        instances = read_gap_file(args.data / f"{name}.txt")
        for k in numbers or range(1, len(instances) + 1):
            inst = instances[k - 1]
            res = solve_gap(inst, method=args.method, time_limit_s=args.time_limit)
            best = BEST_KNOWN.get(name, [])[k - 1] if k <= len(BEST_KNOWN.get(name, [])) else None
            row = {
                "instance": f"{name}:{k}",
                "m": inst.m,
                "n": inst.n,
                "sense": inst.sense,
                "objective": res.objective,
                "best_known": best,
                "gap_to_best_known_pct": None
                if best is None
                else round(100 * abs(res.objective - best) / best, 3),
                "bound": res.bound,
                "proven_gap_pct": round(100 * res.gap, 3),
                "status": res.status,
                "seconds": round(res.solve_seconds, 2),
                "method": args.method,
            }
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
