"""Agent B's credentials cannot speak for agent A; forged or replayed messages are refused."""

from __future__ import annotations

import asyncio
import json

import nats

from edgescale.operate.agent import Agent, AgentConfig
from edgescale.operate.controller import Controller, ControllerConfig
from edgescale.operate.protocol import agent_subject
from edgescale.operate.security import seal

from .conftest import Env, await_until


def test_agent_b_cannot_publish_agent_a_status_nor_forge_assignments(env: Env) -> None:
    async def main() -> None:
        c = Controller(
            env.cfg, ControllerConfig(env.dir / "ctl", heartbeat_s=0.2, reconcile_s=0.1, api_port=-1)
        )
        await c.start()
        a, b = (
            Agent(AgentConfig(site=s, state_dir=env.dir / s, heartbeat_s=0.2, tick_s=0.05), env.cfg.join())
            for s in ("A", "B")
        )
        tasks = [asyncio.create_task(x.run()) for x in (a, b)]
        j = env.cfg.join()
        nc = await nats.connect(j.nats_urls, user=j.agent_user, password=j.agent_password)  # B's NATS login
        try:
            await await_until(lambda: len(c.agents) == 2 and a.agent_id and b.agent_id, 10, "both joined")
            assert a.agent_id is not None
            assert b.agent_id is not None
            captured: list[nats.aio.msg.Msg] = []

            async def grab(msg: nats.aio.msg.Msg) -> None:
                captured.append(msg)

            await nc.subscribe(agent_subject(a.agent_id, "status"), cb=grab)
            assigns: list[nats.aio.msg.Msg] = []

            async def grab_assign(msg: nats.aio.msg.Msg) -> None:
                assigns.append(msg)

            await nc.subscribe("es.agent.*.assign", cb=grab_assign)  # B's login may listen...
            c.apply(
                {
                    "name": "w",
                    "command": ["sleep", "300"],
                    "replicas": 1,
                    "node_selector": {},
                    "cpu_cores": 0.1,
                }
            )
            await await_until(lambda: c.deployment_status("w")["running"] == 1, 10, "running")
            await await_until(lambda: captured, 10, "a status message of A")
            await await_until(lambda: assigns, 10, "an assignment on the wire")
            assert all(
                b"sleep" not in m.data and b"300" not in m.data for m in assigns
            )  # ...but reads nothing
            rec_a = c.agents[a.agent_id]
            before = dict(rec_a.reports)
            rejected = c.rejected
            subject = agent_subject(a.agent_id, "status")
            evil = {"generation": 99, "replicas": [{"uid": "evil", "deployment": "w", "state": "running"}]}
            forged = [
                seal(b._mac, "status", a.agent_id, subject, evil),  # B's key, claiming to be A
                seal(b._mac, "status", b.agent_id, subject, evil),  # B's identity on A's subject
                (json.dumps({"v": 1, "kind": "status", "agent": a.agent_id, "subject": subject, "seq": 2**62,
                             "ts": 0, "body": evil}).encode(), {}),  # unsigned
                (captured[0].data, captured[0].headers or {}),  # A's own message, replayed
            ]  # fmt: skip
            for data, hdr in forged:
                await nc.publish(subject, data, headers=hdr or None)
            await nc.flush()
            await await_until(lambda: c.rejected >= rejected + 4, 5, "4 rejections")
            assert "evil" not in rec_a.reports
            assert set(rec_a.reports) <= set(before) | {r.uid for r in c.replicas.values()}
            kinds = [e["message"] for e in c.store.events(kind="auth.rejected")]
            assert any("bad MAC" in k for k in kinds)
            assert any("unsigned" in k for k in kinds)
            assert any("replayed" in k for k in kinds)
            # an assignment for A forged with B's key is ignored by A
            pids = {uid: w.proc.pid for uid, w in a.workloads.items() if w.proc}
            data, hdr = seal(b._mac, "assign", a.agent_id, agent_subject(a.agent_id, "assign"),
                             {"generation": 10**6, "replicas": []})  # fmt: skip
            await nc.publish(agent_subject(a.agent_id, "assign"), data, headers=hdr)
            await nc.flush()
            await asyncio.sleep(0.3)
            assert {uid: w.proc.pid for uid, w in a.workloads.items() if w.proc} == pids
            assert a.generation < 10**6
            env.pids += list(pids.values())
        finally:
            await nc.close()
            for x in (a, b):
                x.stop()
            await asyncio.gather(*tasks, return_exceptions=True)
            for x in (a, b):
                await x.stop_workloads()
            await c.stop()

    asyncio.run(main())
