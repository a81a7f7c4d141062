"""A whole cluster on one machine: nats-server, controller and agents as separate processes.

Used by ``edgescale operate up``, the fault tests and the demo. Every process runs in its own
session so it can be killed with ``kill -9`` on its own (fault tests) or as a group (cleanup).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgescale.errors import ControlPlaneError
from edgescale.operate.client import ApiClient
from edgescale.operate.config import ClusterConfig, save_cluster
from edgescale.operate.natsd import NatsServer, NatsUser

__all__ = ["LocalCluster", "sample_deployment"]


def sample_deployment(replicas: int) -> dict[str, Any]:
    """A small HTTP server per replica (Python's ``http.server``) with an HTTP health probe."""
    return {
        "name": "hello",
        "command": [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1"],
        "replicas": replicas,
        "cpu_cores": 0.1,
        "memory_mb": 32,
        "health": {"http_path": "/", "period_s": 1.0},
    }


@dataclass
class LocalCluster:
    """Processes of a one-machine cluster under *directory*.

    Parameters
    ----------
    directory : Path
        Holds ``cluster.json``, ``join.json``, the NATS store, the controller's and agents' state
        directories and every process's log.
    heartbeat_s, autonomy_window_s, reconcile_s
        Passed to the controller and agents.
    controller_args, agent_args
        Extra command-line arguments.
    """

    directory: Path
    heartbeat_s: float = 1.0
    autonomy_window_s: float = 30.0
    reconcile_s: float = 0.5
    controller_args: list[str] = field(default_factory=list)
    agent_args: list[str] = field(default_factory=list)
    cfg: ClusterConfig | None = None
    nats: NatsServer | None = None
    controller: subprocess.Popen[bytes] | None = None
    agents: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    api_port: int = 0
    regions: dict[str, NatsServer] = field(default_factory=dict)
    leaf_user: NatsUser | None = None

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)

    def start_nats(self) -> NatsServer:
        """Create the secrets (first time) and start the nats-server."""
        self.directory.mkdir(parents=True, exist_ok=True)
        cfg = ClusterConfig(nats_urls=[])
        from edgescale.operate.security import new_token

        self.leaf_user = NatsUser("leaf", new_token())
        self.nats = NatsServer(
            self.directory / "nats", users=cfg.nats_users(), leaf_listen=True, leaf_user=self.leaf_user
        )
        cfg.nats_urls = [self.nats.url]
        from edgescale.operate.natsd import free_port

        self.api_port = self.api_port or free_port()
        cfg.api_url = f"http://127.0.0.1:{self.api_port}"
        save_cluster(cfg, self.directory)
        self.cfg = cfg
        self.nats.start()
        return self.nats

    def start_region(self, name: str, *, hub_url: str | None = None) -> Path:
        """Start a regional leaf nats-server connected to the hub; return the join file for its agents.

        *hub_url* overrides the hub's leaf address (e.g. a proxy that can cut the region off).
        """
        if self.nats is None or self.cfg is None or self.leaf_user is None:
            raise ControlPlaneError("start_region: start the hub (start_nats) first")
        u = self.leaf_user
        remote = hub_url or f"nats-leaf://127.0.0.1:{self.nats.leaf_port}"
        remote = remote.replace("nats-leaf://", f"nats-leaf://{u.user}:{u.password}@", 1)
        leaf = NatsServer(
            self.directory / f"region-{name}", users=self.cfg.nats_users(), name=f"es-leaf-{name}",
            jetstream=False, leaf_remote=remote,
        )  # fmt: skip
        leaf.start()
        self.regions[name] = leaf
        join = self.cfg.join()
        join.nats_urls = [leaf.url]
        path = self.directory / f"join-{name}.json"
        from edgescale.operate.config import _write_secret

        _write_secret(path, join.to_dict())
        return path

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        with open(self.directory / f"{name}.log", "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "edgescale", "operate", *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    @property
    def controller_dir(self) -> Path:
        """The controller's state directory."""
        return self.directory / "controller"

    def agent_dir(self, site: str) -> Path:
        """An agent's state directory."""
        return self.directory / "agents" / site

    def start_controller(self) -> subprocess.Popen[bytes]:
        """Start (or restart) the controller process."""
        args = [
            "controller",
            "--cluster", str(self.directory),
            "--state-dir", str(self.controller_dir),
            "--api-port", str(self.api_port),
            "--heartbeat-s", str(self.heartbeat_s),
            "--autonomy-window-s", str(self.autonomy_window_s),
            "--reconcile-s", str(self.reconcile_s),
            *self.controller_args,
        ]  # fmt: skip
        self.controller = self._spawn(args, "controller")
        return self.controller

    def start_agent(self, site: str, *extra: str, join: Path | None = None) -> subprocess.Popen[bytes]:
        """Start (or restart) the agent of *site* (with another join file, e.g. through a proxy)."""
        args = [
            "agent",
            "--join", str(join or self.directory / "join.json"),
            "--site", site,
            "--state-dir", str(self.agent_dir(site)),
            "--heartbeat-s", str(self.heartbeat_s),
            *self.agent_args,
            *extra,
        ]  # fmt: skip
        self.agents[site] = self._spawn(args, f"agent-{site}")
        return self.agents[site]

    def client(self, timeout_s: float = 20.0) -> ApiClient:
        """An API client, once the controller answers."""
        assert self.cfg is not None
        c = ApiClient(self.cfg.api_url, self.cfg.api_token)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                c.status()
                return c
            except ControlPlaneError:
                if time.monotonic() > deadline:
                    raise
                if self.controller is not None and self.controller.poll() is not None:
                    raise ControlPlaneError(f"controller exited: {self.log('controller')[-2000:]}") from None
                time.sleep(0.1)

    def log(self, name: str) -> str:
        """A process's log so far."""
        p = self.directory / f"{name}.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def workload_pids(self) -> list[int]:
        """PIDs of the workloads the agents' state files record that still run (start time checked)."""
        import json

        from edgescale.operate.procs import Proc

        pids = []
        for f in (self.directory / "agents").glob("*/agent.json"):
            with contextlib.suppress(OSError, ValueError):
                for rec in json.loads(f.read_text()).get("workloads", {}).values():
                    if rec.get("pid") and Proc.adopt(int(rec["pid"]), int(rec["start_ticks"])) is not None:
                        pids.append(int(rec["pid"]))
        return pids

    def stop(self, *, workloads: bool = True) -> None:
        """Stop agents, controller and nats-server (and the workloads, by default)."""
        pids = self.workload_pids() if workloads else []
        for p in [*self.agents.values(), self.controller]:
            if p is not None and p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGTERM)
        for p in [*self.agents.values(), self.controller]:
            if p is not None:
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(p.pid, signal.SIGKILL)
                    p.wait(5)
        pids += self.workload_pids() if workloads else []
        for pid in set(pids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        for leaf in self.regions.values():
            leaf.stop()
        if self.nats is not None:
            self.nats.stop()
