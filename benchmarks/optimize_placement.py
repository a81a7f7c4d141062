"""Service placement (issue 4): the Melbourne metro example with the MILP and the 10^6-device national example
with the heuristic and its LP bound.

Usage: python benchmarks/optimize_placement.py [--time-limit-metro S] [--time-limit-national S] [--objective O]
[--only melbourne|national]
Prints one JSON object. Targets: Melbourne optimal in <= 30 s; national heuristic within 2 % of its bound in
<= 120 s. Seconds are wall time of ``optimize_placement`` (model build, solve, checker), without the scenario
compile. The Melbourne plan is also run through ``analyze_scenario`` (SLO verdicts of it and of the default plan).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import machine

REPO = Path(__file__).resolve().parent.parent


def _run(name: str, *, method: str, objective: str, time_limit_s: float, analyze: bool) -> dict[str, Any]:
    from edgescale.analysis.scenario import analyze_scenario
    from edgescale.errors import EdgescaleError
    from edgescale.model.arrays import compile_scenario
    from edgescale.model.io import load
    from edgescale.optimize.placement import optimize_placement

    s = load(REPO / "examples" / name)
    a = compile_scenario(s, devices=False)
    t0 = time.perf_counter()
    try:
        plan = optimize_placement(s, arrays=a, objective=objective, method=method, time_limit_s=time_limit_s)
    except EdgescaleError as e:  # e.g. no feasible placement found within the time limit
        return {
            "scenario": s.name,
            "method": method,
            "objective": objective,
            "status": "error",
            "error": str(e),
            "gap": None,
            "seconds": time.perf_counter() - t0,
            "time_limit_s": time_limit_s,
        }
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = {
        "scenario": s.name,
        "method": method,
        "created_by": plan.created_by,
        "objective": objective,
        "status": plan.status,
        "objective_value": plan.objectives["objective"],
        "bound": plan.bound,
        "gap": plan.gap,
        "mean_latency_ms": plan.objectives["mean_latency_ms"],
        "cost_per_hour": plan.objectives["cost_per_hour"],
        "energy_w": plan.objectives["energy_w"],
        "seconds": seconds,
        "time_limit_s": time_limit_s,
        "replicas": sum(r.count for r in plan.replicas),
        "routes": len(plan.routes),
        "notes": list(plan.notes),
    }
    if analyze:
        default = analyze_scenario(s, arrays=a)
        opt = analyze_scenario(s, plan=plan, arrays=a)
        out["slo"] = {
            "default_plan": default.verdict,
            "optimized_plan": opt.verdict,
            "optimized_apps": {
                x.application: {
                    "at_slo_percentile_ms": x.latency_at_slo_percentile_ms,
                    "slo_ms": x.slo_latency_ms,
                    "meets": x.meets_latency_slo,
                }
                for x in opt.applications
            },
        }
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--time-limit-metro", type=float, default=60.0)
    p.add_argument("--time-limit-national", type=float, default=120.0)
    p.add_argument("--objective", default="latency")
    p.add_argument("--only", choices=("melbourne", "national"), default=None, help="run one example only")
    args = p.parse_args()
    result: dict[str, Any] = {"machine": machine()}
    if args.only in (None, "melbourne"):
        result["melbourne_metro"] = _run(
            "melbourne-metro.yaml",
            method="milp",
            objective=args.objective,
            time_limit_s=args.time_limit_metro,
            analyze=True,
        )
    if args.only in (None, "national"):
        result["national_fleet"] = _run(
            "national-fleet.yaml",
            method="heuristic",
            objective=args.objective,
            time_limit_s=args.time_limit_national,
            analyze=False,
        )
    print(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
