"""Shared helpers for benchmark scripts: timing whole processes, machine facts."""

from __future__ import annotations

import os
import platform
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from typing import Any


def run_process(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run *cmd* as a whole process (environment *env*, else this one's); wall and CPU seconds, peak RSS (MiB)."""
    with tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr:  # files: no pipe can fill up
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fout, stderr=ferr, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        fout.seek(0)
        ferr.seek(0)
        out, err = fout.read().decode(), ferr.read().decode()
    proc.returncode = os.waitstatus_to_exitcode(status)
    code = proc.returncode
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({code}): {err[-2000:]}")
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "stdout": out,
    }


def machine() -> dict[str, Any]:
    """Where and when the figures were measured."""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "system": platform.system(),
    }
