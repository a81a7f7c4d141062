"""Workloads as real OS processes: start in their own session, adopt by PID safely, stop by group.

A process is identified by its PID *and* its start time (field 22 of ``/proc/<pid>/stat``, clock ticks
since boot), so an agent that restarts never adopts a reused PID.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Proc", "proc_start_ticks", "start_process"]


def proc_start_ticks(pid: int) -> int | None:
    """Start time of *pid* in clock ticks since boot, or ``None`` if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ')'
    rest = stat[stat.rfind(")") + 2 :].split()
    if not rest or rest[0] in ("Z", "X"):
        return None
    return int(rest[19])


@dataclass
class Proc:
    """A running (or finished) workload process: our child, or adopted after an agent restart."""

    pid: int
    start_ticks: int
    child: subprocess.Popen[bytes] | None = None
    exit_code: int | None = None

    def alive(self) -> bool:
        """Whether the process still runs (reaps it if it is our child)."""
        if self.exit_code is not None:
            return False
        if self.child is not None:
            rc = self.child.poll()
            if rc is not None:
                self.exit_code = rc
                return False
            return True
        if proc_start_ticks(self.pid) != self.start_ticks:
            self.exit_code = -1  # adopted: the real code went to its new parent
            return False
        return True

    def signal_group(self, sig: int) -> None:
        """Send *sig* to the process group (the workload and what it spawned)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def stop(self, *, grace_s: float = 2.0) -> None:
        """SIGTERM the group, SIGKILL it after *grace_s* (blocking; call from a thread in async code)."""
        if not self.alive():
            return
        self.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if not self.alive():
                return
            time.sleep(0.02)
        self.signal_group(signal.SIGKILL)
        deadline = time.monotonic() + 2.0
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.01)

    @classmethod
    def adopt(cls, pid: int, start_ticks: int) -> Proc | None:
        """The process *pid* if it still runs with the recorded start time, else ``None``."""
        if pid <= 0 or proc_start_ticks(pid) != start_ticks:
            return None
        return cls(pid, start_ticks)


def start_process(argv: list[str], env: dict[str, str], *, log_path: Path, cwd: Path | None = None) -> Proc:
    """Start *argv* in a new session (it survives the agent), output appended to *log_path*.

    Raises
    ------
    OSError
        The command cannot be started (not found, not executable).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            argv,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
        )
    ticks = proc_start_ticks(child.pid)
    return Proc(child.pid, ticks if ticks is not None else -1, child)
