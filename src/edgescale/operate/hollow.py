"""Hollow agents: thousands of lightweight agents in one process for scale tests (KubeEdge's "edgemark").

Each hollow agent has its own X25519 key, joins with the bootstrap token, heartbeats, receives and
verifies its signed assignments and reports signed status, exactly as a real agent does; only its
workloads are fake (a replica is "running" and ready as soon as it is assigned). Agents share a few
NATS connections. Heartbeats are spread evenly over the period (a timing wheel), so the load is flat.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import nats
import numpy as np
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from edgescale.errors import ControlPlaneError
from edgescale.operate.config import JoinConfig
from edgescale.operate.protocol import JOIN, agent_subject, error_of
from edgescale.operate.security import AuthError, KeyPair, open_envelope, seal

__all__ = ["HollowAgent", "HollowFleet"]


@dataclass
class HollowAgent:
    """One hollow agent's identity and fake workloads."""

    site: str
    key: KeyPair
    nc: NatsClient
    region: str = ""
    mac: bytes = b""
    agent_id: str = ""
    generation: int = 0
    replicas: dict[str, dict[str, Any]] = field(default_factory=dict)
    alive: bool = True
    killed_at: float | None = None

    def status_body(self) -> dict[str, Any]:
        """Every fake replica running and ready."""
        return {
            "generation": self.generation,
            "replicas": [
                {"uid": uid, "deployment": r["deployment"], "revision": r["revision"], "state": "running",
                 "ready": True, "pid": None, "restarts": 0}
                for uid, r in self.replicas.items()
            ],
        }  # fmt: skip


class HollowFleet:
    """*n* hollow agents on *connections* shared NATS connections.

    Parameters
    ----------
    join : JoinConfig
    n : int
        Number of agents (sites ``<prefix>-0`` ...).
    heartbeat_s : float
        Heartbeat period of every agent.
    status_every_s : float
        Period of full status reports (also sent on every change).
    cpu_cores : float
        Cores each agent offers.
    seed : int
        Seeds the heartbeat phases.
    """

    def __init__(
        self,
        join: JoinConfig,
        n: int,
        *,
        connections: int = 8,
        heartbeat_s: float = 2.0,
        status_every_s: float = 60.0,
        cpu_cores: float = 1.0,
        prefix: str = "hollow",
        regions: int = 10,
        seed: int = 0,
        join_concurrency: int = 100,
        slots: int = 100,
    ) -> None:
        self.join_config = join
        self.n = n
        self.connections = max(1, min(connections, n))
        self.heartbeat_s = heartbeat_s
        self.status_every_s = status_every_s
        self.cpu_cores = cpu_cores
        self.prefix = prefix
        self.regions = regions
        self.rng = np.random.default_rng(seed)
        self.join_concurrency = join_concurrency
        self.slots = slots
        self.agents: list[HollowAgent] = []
        self.ncs: list[NatsClient] = []
        self.controller_key = KeyPair.from_public(join.controller_key)
        self.sent_heartbeats = 0
        self.sent_status = 0
        self._task: asyncio.Task[None] | None = None
        self._dirty: dict[str, HollowAgent] = {}

    async def _connect(self) -> None:
        j = self.join_config

        async def _err(e: Exception) -> None:
            pass

        for k in range(self.connections):
            self.ncs.append(
                await nats.connect(
                    servers=j.nats_urls, user=j.agent_user, password=j.agent_password, name=f"hollow-{k}",
                    max_reconnect_attempts=-1, reconnect_time_wait=0.25, error_cb=_err,
                    pending_size=32 * 1024 * 1024, flusher_queue_size=65536,
                )
            )  # fmt: skip

    async def _join_one(self, a: HollowAgent, sem: asyncio.Semaphore) -> None:
        body = {
            "site": a.site, "cpu_cores": self.cpu_cores, "memory_mb": 4096, "labels": {"hollow": "true"},
            "region": a.region, "domain": "", "tier": "edge",
            "token": self.join_config.bootstrap_token, "public_key": a.key.public_b64,
        }  # fmt: skip
        async with sem:
            for attempt in range(5):
                data, hdr = seal(a.mac, "join", "", JOIN, body)
                try:
                    msg = await a.nc.request(JOIN, data, timeout=30, headers=hdr)
                    break
                except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.5)
            err = error_of(msg.data)
            if err is not None:
                raise ControlPlaneError(f"hollow {a.site}: join refused: {err}")
            env = open_envelope(msg.data, msg.headers, a.mac, subject=JOIN, agent=None)
            a.agent_id = str(env.body["agent_id"])
            await a.nc.subscribe(agent_subject(a.agent_id, "assign"), cb=self._on_assign(a))

    def _on_assign(self, a: HollowAgent) -> Any:
        async def cb(msg: Msg) -> None:
            try:
                env = open_envelope(
                    msg.data, msg.headers, a.mac, subject=agent_subject(a.agent_id, "assign"),
                    agent=a.agent_id,
                )  # fmt: skip
            except AuthError:
                return
            gen = int(env.body["generation"])
            if gen > a.generation and a.alive:
                a.generation = gen
                a.replicas = {r["uid"]: r for r in env.body["replicas"]}
                self._dirty[a.agent_id] = a

        return cb

    async def start(self) -> float:
        """Connect, join every agent (real protocol, bounded concurrency); return the seconds it took."""
        t0 = time.perf_counter()
        await self._connect()
        self.agents = [
            HollowAgent(
                f"{self.prefix}-{k}",
                KeyPair.generate(),
                self.ncs[k % self.connections],
                f"r{k % self.regions}",
            )
            for k in range(self.n)
        ]
        for a in self.agents:  # the key exchange up front: the join phase must not delay heartbeats
            a.mac = a.key.shared_key(self.controller_key)
        self._task = asyncio.create_task(self._loop())  # heartbeats start as soon as an agent has joined
        sem = asyncio.Semaphore(self.join_concurrency)
        await asyncio.gather(*(self._join_one(a, sem) for a in self.agents))
        for nc in self.ncs:
            await nc.flush()
        return time.perf_counter() - t0

    async def _send(self, a: HollowAgent, kind: str, body: dict[str, Any]) -> None:
        subject = agent_subject(a.agent_id, kind)
        data, hdr = seal(a.mac, kind, a.agent_id, subject, body)
        with contextlib.suppress(nats.errors.Error, OSError):
            await a.nc.publish(subject, data, headers=hdr)

    async def _loop(self) -> None:
        """The timing wheel: each tick serves one slot of heartbeats and all pending status reports."""
        phase = self.rng.permutation(len(self.agents)) % self.slots
        wheel = [[self.agents[k] for k in np.flatnonzero(phase == s)] for s in range(self.slots)]
        tick_s = self.heartbeat_s / self.slots
        status_due = time.monotonic() + self.status_every_s
        slot = 0
        next_tick = time.monotonic()
        while True:
            for a in wheel[slot]:
                if a.alive and a.agent_id:
                    await self._send(a, "hb", {"generation": a.generation, "running": len(a.replicas)})
                    self.sent_heartbeats += 1
            full = time.monotonic() >= status_due
            if full:
                status_due += self.status_every_s
            batch, self._dirty = (self.agents if full else list(self._dirty.values())), {}
            for a in batch:
                if a.alive:
                    await self._send(a, "status", a.status_body())
                    self.sent_status += 1
            slot = (slot + 1) % self.slots
            next_tick += tick_s
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))

    def kill(self, k: int) -> float:
        """Agent *k* goes silent (a crashed node); returns the wall-clock time of its last heartbeat chance."""
        a = self.agents[k]
        a.alive = False
        a.killed_at = time.time()
        return a.killed_at

    def running(self) -> int:
        """Fake replicas the live agents run."""
        return sum(len(a.replicas) for a in self.agents if a.alive)

    async def stop(self) -> None:
        """Stop heartbeats and close the connections."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for nc in self.ncs:
            with contextlib.suppress(Exception):
                await nc.close()
