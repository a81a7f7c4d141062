"""A JetStream mirror of the controller's desired state and events: replicated, survives a NATS node.

The single-machine controller keeps its source of truth in SQLite. With ``kv_replicas`` > 0 it also
writes every deployment spec to the JetStream KV bucket ``es-desired`` (replicated on that many NATS
servers) and every event to the stream ``ES_EVENTS``, so other components (a standby controller,
regional tiers, dashboards) can read desired state and events from NATS. Writes go through a queue and
are retried until JetStream accepts them: during a stream-leader election they wait, they are not lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import nats
from nats.aio.client import Client as NatsClient

__all__ = ["BUCKET", "EVENTS_STREAM", "JetStreamMirror"]

BUCKET = "es-desired"
EVENTS_STREAM = "ES_EVENTS"
log = logging.getLogger("edgescale.operate.jsmirror")


class JetStreamMirror:
    """Write-behind mirror of deployments (KV) and events (stream)."""

    def __init__(self, nc: NatsClient, replicas: int) -> None:
        self.nc = nc
        self.replicas = replicas
        self.js = nc.jetstream(timeout=2.0)
        self.kv: Any = None
        self._queue: asyncio.Queue[tuple[str, str, bytes | None]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self._pending = 0

    async def start(self, *, timeout_s: float = 30.0) -> None:
        """Create (or open) the bucket and the stream, then start the writer."""
        from nats.js.api import KeyValueConfig, StreamConfig

        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            try:
                self.kv = await self.js.create_key_value(
                    KeyValueConfig(bucket=BUCKET, history=5, replicas=self.replicas)
                )
                with contextlib.suppress(nats.js.errors.BadRequestError):
                    await self.js.add_stream(
                        StreamConfig(
                            name=EVENTS_STREAM,
                            subjects=["es.events"],
                            max_msgs=1_000_000,
                            num_replicas=self.replicas,
                        )
                    )
                break
            except (nats.errors.Error, TimeoutError) as e:  # JetStream not ready yet (cluster forming)
                if asyncio.get_running_loop().time() > deadline:
                    raise
                log.info("jetstream not ready (%s); retrying", e)
                await asyncio.sleep(0.5)
        self._task = asyncio.create_task(self._writer())

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Queue a KV put."""
        self._pending += 1
        self._queue.put_nowait(("put", key, json.dumps(value, sort_keys=True).encode()))

    def delete(self, key: str) -> None:
        """Queue a KV delete."""
        self._pending += 1
        self._queue.put_nowait(("del", key, None))

    async def _writer(self) -> None:
        while True:
            op, key, value = await self._queue.get()
            delay = 0.1
            while True:
                try:
                    if op == "put":
                        await self.kv.put(key, value)
                    else:
                        await self.kv.delete(key)
                    self.written += 1
                    self._pending -= 1
                    break
                except (nats.errors.Error, TimeoutError) as e:
                    log.info("jetstream write of %s failed (%s); retrying", key, e)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)

    @property
    def pending(self) -> int:
        """Writes queued or in flight."""
        return self._pending

    async def drained(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued write went through; False on timeout."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self._pending:
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def stop(self) -> None:
        """Stop the writer (pending writes are dropped: SQLite holds the truth)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
