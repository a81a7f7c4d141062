"""Model scale: generate a 10^6-device / 10^4-edge-site system, then describe it, each as a whole process.

Usage: python benchmarks/model_scale.py [--devices N] [--edge-sites M]
Prints one JSON object. Targets (issue 2): generate + describe <= 10 s together, <= 2 GiB peak RSS.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import machine, run_process


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--devices", type=int, default=1_000_000)
    ap.add_argument("--edge-sites", type=int, default=10_000)
    ap.add_argument("--aggregation-sites", type=int, default=100)
    ap.add_argument("--clouds", type=int, default=3)
    args = ap.parse_args()
    exe = shutil.which("edgescale") or str(Path(sys.executable).parent / "edgescale")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "big.yaml"
        gen = run_process(
            [
                exe,
                "generate",
                "hierarchical",
                "--devices",
                str(args.devices),
                "--edge-sites",
                str(args.edge_sites),
                "--aggregation-sites",
                str(args.aggregation_sites),
                "--clouds",
                str(args.clouds),
                "--seed",
                "1",
                "-o",
                str(out),
                "--format",
                "json",
            ]
        )
        size = out.stat().st_size
        desc = run_process([exe, "describe", str(out), "--format", "json"])
    d = json.loads(desc.pop("stdout"))
    gen.pop("stdout")
    result = {
        "benchmark": "model_scale",
        "devices": d["devices"],
        "sites": d["sites"],
        "links": d["links"],
        "demand_points": d["demand_points"],
        "file_bytes": size,
        "generate": gen,
        "describe": {**desc, "compile_seconds": d["compile_seconds"], "arrays_mb": d["arrays_mb"]},
        "total_wall_s": round(gen["wall_s"] + desc["wall_s"], 3),
        "max_peak_rss_mib": max(gen["peak_rss_mib"], desc["peak_rss_mib"]),
        "machine": machine(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
