"""How far the Melbourne placement MILP is from a proof: its bound over time, and relaxations of it.

Usage::

    python benchmarks/optimize_melbourne_bound.py [--time-limit 600] [--partial-time-limit 90]
                                                  [--every 30]

Prints one JSON object:

- ``lp``: the LP relaxation without and with the linking rows (the bound ``optimize_placement`` starts from);
- ``milp``: the latency MILP of ``optimize_placement`` (incremental level columns, linking rows), solved by
  HiGHS on one thread for ``--time-limit`` seconds: its dual bound and best value every ``--every`` seconds,
  nodes, status (from scratch: ``optimize_placement`` gives it a start, which changes the best value, not the
  bound's course much);
- ``one_service_integer``: the same MILP with only one service's replica levels integer (the others
  continuous), each for ``--partial-time-limit`` seconds. Each is a relaxation of the MILP, so its optimum
  (when proven) is a lower bound of the MILP's; its best value shows how much of the gap that service's
  lumpy capacity makes alone.

Seconds are wall time of HiGHS on this machine, which other work may share; ``cpu_s`` is the process's CPU time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import highspy
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import machine

REPO = Path(__file__).resolve().parent.parent


def _milp(
    m: Any,
    a: Any,
    obj: Any,
    *,
    integer_services: list[int] | None,
    time_limit_s: float,
    every_s: float,
) -> dict[str, Any]:
    from edgescale.optimize._placement_milp import _QuietHighs, build_lp, incremental_lp

    lp = build_lp(m, a, obj, integer=True, budget_per_hour=None, link=True)
    inc, _ = incremental_lp(m, lp)
    if integer_services is not None:
        n_c = len(m.chain_latency)
        lq = np.repeat(np.arange(len(m.q_service)), np.diff(m.q_level_ptr))
        kinds = list(inc.integrality_)
        for i, q in enumerate(lq):
            if int(m.q_service[q]) not in integer_services:
                kinds[n_c + i] = highspy.HighsVarType.kContinuous
        inc.integrality_ = kinds
    h = _QuietHighs()  # type: ignore[no-untyped-call]  # no banner on stdout (this prints JSON), one thread
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("mip_rel_gap", 1e-6)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.passModel(inc)
    trace: list[dict[str, float]] = []
    nxt = [0.0]

    def on_interrupt(event: Any) -> None:
        data_out = event.data_out
        t = float(data_out.running_time)
        if t >= nxt[0]:
            nxt[0] = t + every_s
            trace.append(
                {
                    "seconds": round(t, 1),
                    "bound": float(data_out.mip_dual_bound),
                    "best": float(data_out.mip_primal_bound),
                    "nodes": int(data_out.mip_node_count),
                }
            )

    h.cbMipInterrupt.subscribe(on_interrupt)
    c0 = time.process_time()
    h.run()
    info = h.getInfo()
    best = float(info.objective_function_value) if info.primal_solution_status == 2 else None
    bound = float(info.mip_dual_bound)
    return {
        "status": str(h.getModelStatus()).split(".")[-1],
        "best": best,
        "bound": bound,
        "gap_pct": None if best is None else 100.0 * (best - bound) / best,
        "seconds": float(h.getRunTime()),
        "cpu_s": time.process_time() - c0,
        "nodes": int(info.mip_node_count),
        "trace": trace,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--time-limit", type=float, default=600.0)
    ap.add_argument("--partial-time-limit", type=float, default=90.0)
    ap.add_argument("--every", type=float, default=30.0)
    args = ap.parse_args()

    from edgescale.model.arrays import compile_scenario
    from edgescale.model.io import load
    from edgescale.optimize._placement_milp import solve
    from edgescale.optimize._placement_model import ModelOptions, build_model
    from edgescale.optimize._placement_model import objective as objective_terms

    s = load(REPO / "examples" / "melbourne-metro.yaml")
    a = compile_scenario(s, devices=False)
    m = build_model(s, a, ModelOptions())
    obj = objective_terms(a, m, {"latency": 1.0})
    out: dict[str, Any] = {
        "scenario": s.name,
        "model": {
            "chains": len(m.chain_latency),
            "queue_levels": len(m.level_cap),
            "queues": len(m.q_service),
        },
        "lp": {},
    }
    for link in (False, True):
        r = solve(m, a, obj, integer=False, time_limit_s=60.0, budget_per_hour=None, link=link)
        out["lp"]["with_linking_rows" if link else "plain"] = r.objective
    out["milp"] = _milp(m, a, obj, integer_services=None, time_limit_s=args.time_limit, every_s=args.every)
    out["one_service_integer"] = {}
    if args.partial_time_limit > 0:
        for svc, name in enumerate(a.service_ids):
            r = _milp(
                m,
                a,
                obj,
                integer_services=[svc],
                time_limit_s=args.partial_time_limit,
                every_s=args.every,
            )
            r.pop("trace")
            out["one_service_integer"][name] = r
    out["machine"] = machine()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
