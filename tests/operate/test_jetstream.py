"""A 3-node NATS cluster with JetStream: killing the leader of the desired-state KV stream, writes continue."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats

from edgescale.operate.config import ClusterConfig
from edgescale.operate.controller import Controller, ControllerConfig
from edgescale.operate.jsmirror import BUCKET
from edgescale.operate.natsd import NatsServer

from .conftest import await_until, need_nats


def test_kill_the_kv_stream_leader_in_a_3_node_cluster_and_writes_continue(tmp_path: Path) -> None:
    need_nats()
    cfg = ClusterConfig(nats_urls=[])
    servers = [
        NatsServer(tmp_path / f"n{k}", users=cfg.nats_users(), name=f"es-{k}", cluster_name="es")
        for k in range(3)
    ]
    for s in servers:
        s.cluster_routes = [o.route_url() for o in servers if o is not s]
    cfg.nats_urls = [s.url for s in servers]
    for s in servers:
        s.start()

    async def main() -> None:
        c = Controller(cfg, ControllerConfig(tmp_path / "ctl", kv_replicas=3, api_port=-1, reconcile_s=0.1))
        await c.start()
        nc = await nats.connect(cfg.nats_urls, user=cfg.controller_user, password=cfg.controller_password,
                                max_reconnect_attempts=-1, reconnect_time_wait=0.2)  # fmt: skip
        try:
            js = nc.jetstream(timeout=2.0)
            kv = await js.key_value(BUCKET)
            c.apply({"name": "before", "command": ["true"], "replicas": 1})
            assert await c.mirror.drained(20)
            assert (await kv.get("before")).value is not None
            info = await js.stream_info(f"KV_{BUCKET}")
            assert info.config.num_replicas == 3
            leader = next(s for s in servers if s.name == info.cluster.leader)
            leader.kill()  # kill -9 the stream leader
            for k in range(5):
                c.apply({"name": f"after-{k}", "command": ["true"], "replicas": 1})
            assert await c.mirror.drained(30), "writes did not resume after the leader died"

            async def read(key: str) -> bool:
                try:
                    e = await kv.get(key)
                except (nats.errors.Error, TimeoutError):
                    return False
                return e.value is not None

            for k in range(5):
                deadline = asyncio.get_running_loop().time() + 20
                while not await read(f"after-{k}"):
                    assert asyncio.get_running_loop().time() < deadline
                    await asyncio.sleep(0.2)
            info = await js.stream_info(f"KV_{BUCKET}")
            assert info.cluster.leader != leader.name
            await await_until(lambda: c.passes > 3, 5, "the controller keeps reconciling")
        finally:
            await nc.close()
            await c.stop()

    try:
        asyncio.run(main())
    finally:
        for s in servers:
            s.stop()
