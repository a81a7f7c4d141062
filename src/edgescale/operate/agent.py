"""The agent: joins, renews its lease, runs its assignment as real processes, reports, and keeps going alone.

Edge autonomy: the agent's state file holds its identity, its last assignment and the PID and start
time of each workload, so supervision never depends on the controller or on NatsClient being reachable.
A restarted agent re-adopts the workloads that still run (same PIDs); on reconnect it sends a
``sync`` and applies the returned assignment, leaving replicas it already runs alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from edgescale.errors import ControlPlaneError
from edgescale.model.io import write_atomic
from edgescale.operate.config import JoinConfig
from edgescale.operate.protocol import JOIN, agent_subject, error_of
from edgescale.operate.security import AuthError, KeyPair, open_envelope, seal
from edgescale.operate.workload import Workload, monotonic

__all__ = ["Agent", "AgentConfig"]

log = logging.getLogger("edgescale.operate.agent")
STATE_FILE = "agent.json"


@dataclass(frozen=True)
class AgentConfig:
    """How an agent describes itself and how often it talks.

    Parameters
    ----------
    site : str
        Site (node) name, unique in the cluster.
    state_dir : Path
        Its state file, lock and workload logs.
    heartbeat_s : float
        Lease renewal period.
    status_every_s : float
        Full status report period (also sent on every change).
    tick_s : float
        Supervision period.
    """

    site: str
    state_dir: Path
    cpu_cores: float = 1.0
    memory_mb: float = 1024.0
    labels: dict[str, str] = field(default_factory=dict)
    region: str = ""
    domain: str = ""
    tier: str = "edge"
    heartbeat_s: float = 1.0
    status_every_s: float = 5.0
    tick_s: float = 0.1
    request_timeout_s: float = 2.0

    def describe(self) -> dict[str, Any]:
        """What the agent tells the controller when it joins."""
        return {
            "site": self.site,
            "cpu_cores": self.cpu_cores,
            "memory_mb": self.memory_mb,
            "labels": dict(self.labels),
            "region": self.region,
            "domain": self.domain,
            "tier": self.tier,
        }


class Agent:
    """One node's agent. ``await agent.run()`` until :meth:`stop` (or cancellation).

    Parameters
    ----------
    config : AgentConfig
    join : JoinConfig
        NatsClient URLs and credentials, bootstrap token, controller public key.
    """

    def __init__(self, config: AgentConfig, join: JoinConfig) -> None:
        self.config = config
        self.join_config = join
        self.dir = Path(config.state_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = self._lock()
        self.agent_id: str | None = None
        self.key = KeyPair.generate()
        self.controller_key: KeyPair | None = None
        self._mac = b""
        self.generation = 0
        self.workloads: dict[str, Workload] = {}
        self.nc: NatsClient | None = None
        self._dirty = True
        self._stopping = asyncio.Event()
        self._synced = asyncio.Event()
        self._load()

    # --- state file -------------------------------------------------------------------------------

    def _lock(self) -> int:
        fd = os.open(self.dir / "agent.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            raise ControlPlaneError(f"{self.dir}: another agent uses this state directory") from e
        return fd

    def _load(self) -> None:
        path = self.dir / STATE_FILE
        if not path.exists():
            return
        try:
            st = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise ControlPlaneError(f"{path}: unreadable agent state file ({e})") from e
        if st.get("site") != self.config.site:
            raise ControlPlaneError(f"{path}: belongs to site {st.get('site')!r}, not {self.config.site!r}")
        self.agent_id = st.get("agent_id")
        self.key = KeyPair.from_private(st["key"])
        ck = st.get("controller_key")
        self.controller_key = KeyPair.from_public(ck) if ck else None
        self._mac = self.key.shared_key(self.controller_key) if self.controller_key else b""
        self.generation = int(st.get("generation", 0))
        now = monotonic()
        records = st.get("workloads", {})
        for spec in st.get("assignment", []):
            rec = records.get(spec["uid"], {})
            self.workloads[spec["uid"]] = Workload.restore(spec, rec, self.logs, now)
        adopted = [w.uid for w in self.workloads.values() if w.proc is not None]
        log.info(
            "agent %s: state restored, generation %d, adopted %s", self.agent_id, self.generation, adopted
        )

    @property
    def logs(self) -> Path:
        """Directory of the workloads' output."""
        return self.dir / "logs"

    def save(self) -> None:
        """Write the state file atomically (mode 0600: it holds the private key)."""
        st = {
            "v": 1,
            "site": self.config.site,
            "agent_id": self.agent_id,
            "key": self.key.private_b64,
            "controller_key": self.controller_key.public_b64 if self.controller_key else None,
            "generation": self.generation,
            "assignment": [w.spec for w in self.workloads.values()],
            "workloads": {uid: w.record() for uid, w in self.workloads.items()},
        }
        write_atomic(self.dir / STATE_FILE, json.dumps(st) + "\n", mode=0o600)

    # --- supervision (works without any connection) ------------------------------------------------

    def supervise(self) -> bool:
        """One supervision pass over all workloads; True when anything changed."""
        now = monotonic()
        changed = False
        started = False
        for w in self.workloads.values():
            had = w.proc
            if w.tick(now):
                changed = True
                started |= w.proc is not None and w.proc is not had
        if started or changed:
            self.save()
        return changed

    async def _probe_all(self) -> bool:
        now = monotonic()
        results = await asyncio.gather(*(w.probe(now) for w in list(self.workloads.values())))
        return any(results)

    async def apply(self, generation: int, replicas: list[dict[str, Any]]) -> None:
        """Make *replicas* the desired set: start the new, stop the gone, keep the rest untouched."""
        if generation <= self.generation:
            return
        want = {r["uid"]: r for r in replicas}
        gone = [w for uid, w in self.workloads.items() if uid not in want]
        now = monotonic()
        for uid, spec in want.items():
            if uid not in self.workloads:
                w = Workload(spec, self.logs)
                w.start(now)
                self.workloads[uid] = w
        for w in gone:
            del self.workloads[w.uid]
        self.generation = generation
        self.save()
        self._dirty = True
        if gone:
            await asyncio.gather(*(asyncio.to_thread(w.stop) for w in gone))
        log.info(
            "agent %s: generation %d: %d replicas (%d stopped)",
            self.agent_id,
            generation,
            len(want),
            len(gone),
        )

    def status_body(self) -> dict[str, Any]:
        """Status of every replica."""
        return {"generation": self.generation, "replicas": [w.status() for w in self.workloads.values()]}

    # --- messaging --------------------------------------------------------------------------------

    async def _connect(self) -> NatsClient:
        j = self.join_config
        return await nats.connect(
            servers=j.nats_urls,
            user=j.agent_user,
            password=j.agent_password,
            name=f"agent:{self.config.site}",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.25,
            connect_timeout=1,
            ping_interval=max(1, int(self.config.heartbeat_s * 2)),
            max_outstanding_pings=2,
            error_cb=self._on_error,
            reconnected_cb=self._on_reconnect,
            disconnected_cb=self._on_disconnect,
        )

    async def _on_error(self, e: Exception) -> None:
        log.debug("agent %s: nats: %s", self.config.site, e)

    async def _on_disconnect(self) -> None:
        self._synced.clear()
        log.info("agent %s: disconnected; running autonomously", self.agent_id)

    async def _on_reconnect(self) -> None:
        log.info("agent %s: reconnected; resynchronising", self.agent_id)
        asyncio.get_running_loop().create_task(self._sync_safely())

    async def _join(self, nc: NatsClient) -> None:
        ck = self.join_config.controller_key
        if not ck:
            raise ControlPlaneError("join file: controller_key is missing")
        controller = KeyPair.from_public(ck)
        mac_key = self.key.shared_key(controller)
        body = {
            **self.config.describe(),
            "token": self.join_config.bootstrap_token,
            "public_key": self.key.public_b64,
        }
        data, hdr = seal(mac_key, "join", "", JOIN, body)
        msg = await nc.request(JOIN, data, timeout=self.config.request_timeout_s, headers=hdr)
        err = error_of(msg.data)
        if err is not None:
            raise ControlPlaneError(f"join refused: {err}")
        env = open_envelope(msg.data, msg.headers, mac_key, subject=JOIN, agent=None)
        self.agent_id = str(env.body["agent_id"])
        self.controller_key, self._mac = controller, mac_key
        self.save()
        log.info("agent %s: joined as %s", self.config.site, self.agent_id)

    def _seal(self, kind: str, body: dict[str, Any]) -> tuple[str, bytes, dict[str, str]]:
        assert self.agent_id is not None
        subject = agent_subject(self.agent_id, kind)
        data, hdr = seal(self._mac, kind, self.agent_id, subject, body)
        return subject, data, hdr

    async def _on_assign(self, msg: Msg) -> None:
        await self._handle_assignment(msg.data, msg.headers)

    async def _handle_assignment(self, data: bytes, headers: dict[str, str] | None) -> None:
        assert self.agent_id is not None
        assert self.controller_key is not None
        try:
            env = open_envelope(
                data,
                headers,
                self._mac,
                subject=agent_subject(self.agent_id, "assign"),
                agent=self.agent_id,
            )
        except AuthError as e:
            log.warning("agent %s: rejected assignment: %s", self.agent_id, e)
            return
        await self.apply(int(env.body["generation"]), list(env.body["replicas"]))

    async def sync(self) -> None:
        """Send our status, apply the assignment the controller answers with."""
        nc = self.nc
        if nc is None or not nc.is_connected:
            return
        subject, data, hdr = self._seal("sync", self.status_body())
        msg = await nc.request(subject, data, timeout=self.config.request_timeout_s, headers=hdr)
        err = error_of(msg.data)
        if err is not None:
            if "unknown agent" in err:
                await self._join(nc)
            raise ControlPlaneError(f"sync refused: {err}")
        await self._handle_assignment(msg.data, msg.headers)
        self._synced.set()
        self._dirty = True

    async def _sync_safely(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.sync()
                return
            except (ControlPlaneError, nats.errors.Error, TimeoutError) as e:
                log.info("agent %s: sync failed (%s); retrying", self.agent_id, e)
                await asyncio.sleep(min(1.0, self.config.heartbeat_s))
            if self.nc is None or not self.nc.is_connected:
                return  # the reconnect callback syncs again

    async def _publish(self, kind: str, body: dict[str, Any]) -> None:
        nc = self.nc
        if nc is None or not nc.is_connected or self.agent_id is None:
            return  # no buffering while cut off: stale heartbeats would mislead the detector
        subject, data, hdr = self._seal(kind, body)
        with contextlib.suppress(nats.errors.Error, OSError):
            await nc.publish(subject, data, headers=hdr)

    async def _messaging(self) -> None:
        nc = self.nc = await self._connect()
        while self.agent_id is None or self.controller_key is None:
            try:
                await self._join(nc)
            except (nats.errors.Error, TimeoutError) as e:
                log.info("agent %s: join failed (%s); retrying", self.config.site, e)
                await asyncio.sleep(0.5)
        assert self.agent_id is not None
        await nc.subscribe(agent_subject(self.agent_id, "assign"), cb=self._on_assign)
        await self._sync_safely()
        next_hb = next_status = 0.0
        while not self._stopping.is_set():
            now = monotonic()
            if now >= next_hb:
                running = sum(w.proc is not None for w in self.workloads.values())
                await self._publish("hb", {"generation": self.generation, "running": running})
                next_hb = now + self.config.heartbeat_s
            if self._dirty or now >= next_status:
                self._dirty = False
                await self._publish("status", self.status_body())
                next_status = now + self.config.status_every_s
            await asyncio.sleep(min(self.config.tick_s, self.config.heartbeat_s))

    async def _supervising(self) -> None:
        while not self._stopping.is_set():
            if self.supervise():
                self._dirty = True
            if await self._probe_all():
                self._dirty = True
            await asyncio.sleep(self.config.tick_s)

    async def run(self) -> None:
        """Supervise and talk until :meth:`stop`; workloads keep running after the agent exits."""
        tasks = [asyncio.create_task(self._supervising()), asyncio.create_task(self._messaging())]
        stop = asyncio.create_task(self._stopping.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stop], return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                if t is not stop and t.exception() is not None:
                    raise t.exception()  # type: ignore[misc]
        finally:
            for t in [*tasks, stop]:
                t.cancel()
            await asyncio.gather(*tasks, stop, return_exceptions=True)
            if self.nc is not None:
                with contextlib.suppress(Exception):
                    await self.nc.close()
            self.save()

    def stop(self) -> None:
        """Ask :meth:`run` to return (workloads stay up)."""
        self._stopping.set()

    async def stop_workloads(self) -> None:
        """Stop every workload (when the node is drained for good)."""
        await asyncio.gather(*(asyncio.to_thread(w.stop) for w in self.workloads.values()))
