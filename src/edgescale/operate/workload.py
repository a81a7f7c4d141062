"""One replica on an agent: start, supervise, restart with exponential backoff, probe its health.

The supervisor is synchronous and cheap (``tick`` polls the process); the HTTP probe is a tiny
asyncio GET so thousands of probes never block the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgescale.operate.natsd import free_port
from edgescale.operate.procs import Proc, start_process

__all__ = ["Workload", "http_probe"]

BACKOFF_RESET_S = 10.0  # a replica that ran this long starts over from the initial backoff


async def http_probe(port: int, path: str, timeout_s: float) -> bool:
    """Whether ``GET http://127.0.0.1:<port><path>`` answers 2xx or 3xx within *timeout_s*."""
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
                await writer.drain()
                line = await reader.readline()
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    except (OSError, TimeoutError):
        return False
    parts = line.split()
    return len(parts) >= 2 and parts[1][:1] in (b"2", b"3")


@dataclass
class Workload:
    """A replica the agent was assigned: its spec (from the assignment) and its process."""

    spec: dict[str, Any]
    log_dir: Path
    port: int = 0
    proc: Proc | None = None
    restarts: int = 0
    state: str = "starting"
    error: str = ""
    ready: bool = False
    backoff_s: float = 0.0
    next_start: float = 0.0
    started_mono: float = 0.0
    probe_failures: int = 0
    probe_next: float = 0.0
    probing: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if self.port == 0:
            self.port = free_port()
        self.backoff_s = float(self.spec.get("restart_backoff_s", 0.5))

    @property
    def uid(self) -> str:
        """The replica's unique id."""
        return str(self.spec["uid"])

    def argv_env(self) -> tuple[list[str], dict[str, str]]:
        """Command and environment with ``{port}`` filled in."""
        port = str(self.port)
        argv = [str(a).replace("{port}", port) for a in self.spec["command"]]
        env = {k: str(v).replace("{port}", port) for k, v in dict(self.spec.get("env") or {}).items()}
        env.update(
            {
                "PORT": port,
                "EDGESCALE_REPLICA": self.uid,
                "EDGESCALE_DEPLOYMENT": str(self.spec["deployment"]),
            }
        )
        return argv, env

    def start(self, now: float) -> None:
        """Start the process now (the state becomes running, or backoff if it cannot start)."""
        argv, env = self.argv_env()
        try:
            self.proc = start_process(argv, env, log_path=self.log_dir / f"{self.uid}.log")
        except OSError as e:
            self.proc = None
            self.error = f"cannot start {argv[0]!r}: {e}"
            self._schedule_restart(now)
            return
        self.state, self.error, self.started_mono = "running", "", now
        self.ready = not self.spec.get("health")  # with a probe: not ready until it passes
        self.probe_failures = 0
        self.probe_next = now

    def _schedule_restart(self, now: float) -> None:
        self.state = "backoff"
        self.ready = False
        self.next_start = now + self.backoff_s
        self.backoff_s = min(self.backoff_s * 2.0, float(self.spec.get("max_backoff_s", 30.0)))

    def tick(self, now: float) -> bool:
        """Supervise once: notice an exit, restart when the backoff is over. True when the state changed."""
        if self.state == "stopped":
            return False
        if self.proc is not None:
            if self.proc.alive():
                if now - self.started_mono > BACKOFF_RESET_S:
                    self.backoff_s = float(self.spec.get("restart_backoff_s", 0.5))
                return False
            self.error = f"exited with {self.proc.exit_code}"
            self.proc = None
            self.restarts += 1
            self._schedule_restart(now)
            return True
        if now >= self.next_start:
            self.start(now)
            return True
        return False

    async def probe(self, now: float) -> bool:
        """Run the HTTP health probe if one is due. True when readiness changed."""
        health = self.spec.get("health")
        if not health or self.state != "running" or self.probing or now < self.probe_next:
            return False
        self.probing = True
        try:
            ok = await http_probe(
                self.port, str(health.get("http_path", "/")), float(health.get("timeout_s", 1.0))
            )
        finally:
            self.probing = False
        self.probe_next = now + float(health.get("period_s", 1.0))
        before = self.ready
        if ok:
            self.probe_failures, self.ready = 0, True
        else:
            self.probe_failures += 1
            if self.ready and self.probe_failures >= int(health.get("failure_threshold", 3)):
                self.ready = False
        return before != self.ready

    def stop(self) -> None:
        """Stop the process for good (blocking: SIGTERM, then SIGKILL)."""
        self.state = "stopped"
        if self.proc is not None:
            self.proc.stop()
            self.proc = None

    def status(self) -> dict[str, Any]:
        """The replica's entry in a status report."""
        p = self.proc
        return {
            "uid": self.uid,
            "deployment": self.spec["deployment"],
            "revision": self.spec.get("revision", 0),
            "state": self.state,
            "ready": self.ready,
            "pid": p.pid if p is not None else None,
            "restarts": self.restarts,
            "error": self.error,
        }

    def record(self) -> dict[str, Any]:
        """What the state file keeps to re-adopt the process after an agent restart."""
        p = self.proc
        return {
            "pid": p.pid if p is not None else None,
            "start_ticks": p.start_ticks if p is not None else None,
            "port": self.port,
            "restarts": self.restarts,
        }

    @classmethod
    def restore(cls, spec: dict[str, Any], rec: dict[str, Any], log_dir: Path, now: float) -> Workload:
        """Rebuild from the state file; adopt the process if it still runs (same PID and start time)."""
        w = cls(spec, log_dir, port=int(rec.get("port") or 0), restarts=int(rec.get("restarts", 0)))
        pid, ticks = rec.get("pid"), rec.get("start_ticks")
        proc = Proc.adopt(int(pid), int(ticks)) if pid and ticks is not None else None
        if proc is not None:
            w.proc, w.state, w.started_mono = proc, "running", now
            w.ready = not spec.get("health")
        else:
            w.next_start = now  # gone while the agent was down: start again at once
            w.state = "backoff" if pid else "starting"
            w.restarts += 1 if pid else 0
        w.probe_next = now
        return w


def monotonic() -> float:
    """The agent's clock for backoff and probes."""
    return time.monotonic()
