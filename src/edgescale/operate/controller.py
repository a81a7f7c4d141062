"""The controller: desired state in, assignments out; failure detection and the autonomy window.

Agents' messages arrive on NatsClient and are verified (:mod:`edgescale.operate.security`); every reconcile
pass builds a :class:`~edgescale.operate.cluster.LiveCluster`, asks the placement policy where the
missing replicas go, writes the new assignment to SQLite in one transaction and only then publishes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import numpy as np
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from edgescale.errors import ControlPlaneError
from edgescale.model.io import write_atomic
from edgescale.operate.cluster import INCREMENTAL, LiveCluster, NodeState, ServiceState, plan_counts
from edgescale.operate.config import ClusterConfig
from edgescale.operate.protocol import EVENTS, JOIN, agent_subject, parse_agent_subject, reply_error
from edgescale.operate.rollout import RolloutTracker
from edgescale.operate.security import AuthError, KeyPair, check_token, open_envelope, seal
from edgescale.operate.spec import Deployment, parse_deployment
from edgescale.operate.store import Store
from edgescale.policies import FailureDetector, PlacementPolicy, make_policy

__all__ = ["Controller", "ControllerConfig"]

log = logging.getLogger("edgescale.operate.controller")


@dataclass(frozen=True)
class ControllerConfig:
    """How the controller decides.

    Parameters
    ----------
    state_dir : Path
        SQLite database (``state.db``) and ``controller.json`` (its API address).
    heartbeat_s : float
        Agents' heartbeat period (the detector's first estimate).
    detector, detector_params
        A ``failure_detection`` policy by name (``phi-accrual``: threshold 8 by default).
    autonomy_window_s : float
        How long a suspected node keeps its replicas before they are re-placed (a deployment's
        ``autonomy_window_s`` overrides it).
    placement, placement_params
        A ``placement`` policy by name (default ``least-loaded``).
    reconcile_s : float
        Period of the reconcile loop (it also runs soon after any change).
    batch_s : float
        Wait this long after a change before a pass, so that a burst of changes is placed at once.
    api_port : int
        HTTP API port (0: a free one; -1: no API).
    kv_replicas : int
        Mirror desired state to the JetStream KV bucket ``es-desired`` and events to the stream
        ``ES_EVENTS`` with this many replicas (0: no mirror; SQLite stays the source of truth).
    """

    state_dir: Path
    heartbeat_s: float = 1.0
    detector: str = "phi-accrual"
    detector_params: dict[str, Any] = field(default_factory=dict)
    autonomy_window_s: float = 30.0
    placement: str = "least-loaded"
    placement_params: dict[str, Any] = field(default_factory=dict)
    reconcile_s: float = 0.5
    batch_s: float = 0.02
    api_host: str = "127.0.0.1"
    api_port: int = 0
    inter_region_ms: float = 0.0
    kv_replicas: int = 0

    def make_detector(self) -> FailureDetector:
        """The configured failure detector (phi-accrual defaults scaled to the heartbeat period)."""
        params = dict(self.detector_params)
        if self.detector == "phi-accrual":
            hb = self.heartbeat_s
            params.setdefault("first_heartbeat_estimate_s", hb)
            params.setdefault("min_std_s", max(0.05, hb / 4))
            params.setdefault("acceptable_pause_s", hb)
            params.setdefault("window", 100)
        return make_policy("failure_detection", self.detector, params)

    def make_placement(self) -> PlacementPolicy:
        """The configured placement policy (by its name in :data:`edgescale.policies.POLICIES`)."""
        return make_policy("placement", self.placement, self.placement_params)


@dataclass
class AgentRec:
    """The controller's record of one agent."""

    idx: int
    node: NodeState
    public_key: str
    mac: bytes
    generation: int = 0
    last_seq: int = 0
    last_hb: float | None = None
    suspected_since: float | None = None
    lost: bool = False
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    reported_generation: int = 0

    @property
    def id(self) -> str:
        """Agent id."""
        return self.node.agent_id


@dataclass
class DepRec:
    """A deployment as the controller holds it."""

    spec: Deployment
    revision: int
    template_hash: str


@dataclass
class Rep:
    """One replica of the assignment."""

    uid: str
    deployment: str
    revision: int
    agent: str


@dataclass
class _Job:
    """One reconcile pass's placement problem, built on the event loop and solved in a thread."""

    deps: list[DepRec]
    nodes: list[AgentRec]
    current: np.ndarray[Any, Any]
    remove: list[Rep]
    view: LiveCluster
    usable: np.ndarray[Any, Any]
    want: np.ndarray[Any, Any]
    spread: list[Any]


class Controller:
    """The control plane's brain; ``await start()``, then it runs until ``await stop()``.

    Parameters
    ----------
    cluster : ClusterConfig
        NATS URLs and credentials, bootstrap and API tokens, the controller's key.
    config : ControllerConfig
    """

    def __init__(self, cluster: ClusterConfig, config: ControllerConfig) -> None:
        self.cluster = cluster
        self.config = config
        self.key = cluster.key()
        self.policy = config.make_placement()
        self.detector = config.make_detector()
        self.store = Store(Path(config.state_dir) / "state.db")
        self.agents: dict[str, AgentRec] = {}
        self.deployments: dict[str, DepRec] = {}
        self.replicas: dict[str, Rep] = {}
        self.by_agent: dict[str, dict[str, Rep]] = {}
        self.by_site: dict[str, AgentRec] = {}
        self.by_dep: dict[str, dict[str, Rep]] = {}
        self._hb: list[tuple[int, float]] = []  # heartbeats not yet given to the detector
        self._templates: dict[tuple[str, int], dict[str, Any]] = {}
        self._agent_sub: Any = None
        self.mirror: Any = None
        self._stalled_at = -1e9
        self._recovered_at = -1e9
        self.rollouts = RolloutTracker(self)
        self.nc: NatsClient | None = None
        self.rejected = 0
        self.passes = 0
        self._t0 = time.monotonic()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._api: Any = None
        self.api_url: str | None = None
        self._load()

    def clock(self) -> float:
        """Seconds since this controller started (monotonic)."""
        return time.monotonic() - self._t0

    # --- durable state ------------------------------------------------------------------------------

    def _load(self) -> None:
        now = self.clock()
        for a in self.store.agents():
            rec = AgentRec(
                a["idx"],
                NodeState.from_info(a["id"], a["info"]),
                a["public_key"],
                self._shared(a["public_key"]),
            )
            rec.generation = a["generation"]
            self.agents[rec.id] = rec
            self.by_site[rec.node.site] = rec
            self.detector.heartbeat(rec.idx, now)  # a dead agent is still detected after a restart
        for name, d in self.store.deployments().items():
            self.deployments[name] = DepRec(
                Deployment.model_validate(d["spec"]), d["revision"], d["template_hash"]
            )
        for uid, dep, rev, agent in self.store.replicas():
            self._add_rep(Rep(uid, dep, rev, agent))
        self.rollouts.load()

    def _shared(self, public_b64: str) -> bytes:
        """The message key shared with the agent of this public key."""
        return self.key.shared_key(KeyPair.from_public(public_b64))

    def _add_rep(self, r: Rep) -> None:
        self.replicas[r.uid] = r
        self.by_agent.setdefault(r.agent, {})[r.uid] = r
        self.by_dep.setdefault(r.deployment, {})[r.uid] = r

    def _drop_rep(self, r: Rep) -> None:
        self.replicas.pop(r.uid, None)
        self.by_agent.get(r.agent, {}).pop(r.uid, None)
        self.by_dep.get(r.deployment, {}).pop(r.uid, None)

    def event(self, kind: str, subject: str, message: str, data: dict[str, Any] | None = None) -> None:
        """Record an event (SQLite) and publish it on ``es.events``."""
        eid = self.store.add_event(kind, subject, message, data)
        log.info("%s %s: %s", kind, subject, message)
        nc = self.nc
        if nc is not None and nc.is_connected:
            payload = json.dumps(
                {"id": eid, "kind": kind, "subject": subject, "message": message, "data": data or {}}
            )
            asyncio.get_running_loop().create_task(self._publish_quietly(EVENTS, payload.encode()))

    async def _publish_quietly(
        self, subject: str, data: bytes, headers: dict[str, str] | None = None
    ) -> None:
        nc = self.nc
        if nc is not None and nc.is_connected:
            with contextlib.suppress(nats.errors.Error, OSError):
                await nc.publish(subject, data, headers=headers)

    # --- desired state (API) ----------------------------------------------------------------------

    def apply(self, doc: Any) -> dict[str, Any]:
        """Create or update a deployment; a new template is a new revision (a rollout).

        Raises
        ------
        ScenarioError
            The document is not a valid deployment.
        """
        spec = parse_deployment(
            doc, source=f"deployment {doc.get('name', '?') if isinstance(doc, dict) else '?'}"
        )
        h = spec.template_hash()
        old = self.deployments.get(spec.name)
        if old is not None and old.template_hash == h:
            rev = old.revision
        else:
            rev = self.store.max_revision(spec.name) + 1
        with self.store.transaction():
            self.store.put_deployment(spec.name, spec.model_dump(), rev, h)
            if old is not None and old.revision != rev:
                self.rollouts.begin(spec.name, old.revision, rev)
        self.deployments[spec.name] = DepRec(spec, rev, h)
        if self.mirror is not None:
            self.mirror.put(spec.name, {"revision": rev, "spec": spec.model_dump()})
        self.event("deployment.applied", spec.name, f"revision {rev}, {spec.replicas} replicas")
        self._wake.set()
        return self.deployment_status(spec.name)

    def delete(self, name: str) -> bool:
        """Delete a deployment (its replicas are stopped by the next reconcile)."""
        if name not in self.deployments:
            return False
        with self.store.transaction():
            self.store.delete_deployment(name)
            self.rollouts.forget(name)
        del self.deployments[name]
        if self.mirror is not None:
            self.mirror.delete(name)
        self.event("deployment.deleted", name, "deleted")
        self._wake.set()
        return True

    def remove_node(self, agent_id: str) -> bool:
        """Forget a node (decommissioned): its replicas are re-placed, it must join again."""
        rec = self.agents.pop(agent_id, None)
        if rec is None:
            return False
        self.by_site.pop(rec.node.site, None)
        self.store.delete_agent(agent_id)
        self.detector.forget(rec.idx)
        self.event("node.removed", rec.node.site, f"agent {agent_id} removed")
        self._wake.set()
        return True

    # --- observed state (API) ---------------------------------------------------------------------

    def report_of(self, rep: Rep) -> dict[str, Any] | None:
        """The latest report the replica's agent sent about it."""
        a = self.agents.get(rep.agent)
        return a.reports.get(rep.uid) if a is not None else None

    def deployment_status(self, name: str) -> dict[str, Any]:
        """Spec, revision, and counts of assigned, running and ready replicas."""
        d = self.deployments[name]
        reps = list(self.by_dep.get(name, {}).values())
        reports = [self.report_of(r) for r in reps]
        running = sum(1 for x in reports if x is not None and x.get("state") == "running")
        ready = sum(1 for x in reports if x is not None and x.get("state") == "running" and x.get("ready"))
        current = sum(1 for r in reps if r.revision == d.revision)
        return {
            "name": name,
            "revision": d.revision,
            "replicas": d.spec.replicas,
            "assigned": len(reps),
            "updated": current,
            "running": running,
            "ready": ready,
            "nodes": sorted({self.agents[r.agent].node.site for r in reps if r.agent in self.agents}),
            "rollout": self.rollouts.status(name),
            "spec": d.spec.model_dump(),
        }

    def summary(self) -> dict[str, Any]:
        """Counts for ``operate status``: nodes by state, replicas wanted, assigned, running, ready."""
        states: dict[str, int] = {}
        for a in self.agents.values():
            st = "lost" if a.lost else ("suspected" if a.suspected_since is not None else "ready")
            states[st] = states.get(st, 0) + 1
        deps = [self.deployment_status(n) for n in sorted(self.deployments)]
        keys = ("name", "revision", "replicas", "assigned", "running", "ready")
        return {
            "nodes": len(self.agents),
            "node_states": states,
            "deployments": [{k: d[k] for k in keys} for d in deps],
            "replicas_wanted": sum(d["replicas"] for d in deps),
            "replicas_running": sum(d["running"] for d in deps),
            "reconcile_passes": self.passes,
            "rejected_messages": self.rejected,
        }

    def nodes(self) -> list[dict[str, Any]]:
        """Every node with its liveness, suspicion level and replica counts."""
        now = self.clock()
        per_agent: dict[str, int] = {}
        for r in self.replicas.values():
            per_agent[r.agent] = per_agent.get(r.agent, 0) + 1
        out = []
        for a in sorted(self.agents.values(), key=lambda x: x.idx):
            running = sum(1 for x in a.reports.values() if x.get("state") == "running")
            state = "lost" if a.lost else ("suspected" if a.suspected_since is not None else "ready")
            out.append(
                {
                    "id": a.id,
                    "site": a.node.site,
                    "state": state,
                    "phi": round(self.detector.phi(a.idx, now), 3),
                    "last_heartbeat_ago_s": None if a.last_hb is None else round(now - a.last_hb, 3),
                    "assigned": per_agent.get(a.id, 0),
                    "running": running,
                    "generation": a.generation,
                    "reported_generation": a.reported_generation,
                    "cpu_cores": a.node.cpu_cores,
                    "labels": a.node.labels,
                    "region": a.node.region,
                    "domain": a.node.domain,
                }
            )
        return out

    def replica_list(self) -> list[dict[str, Any]]:
        """Every assigned replica with its reported state."""
        out = []
        for r in self.replicas.values():
            rep = self.report_of(r) or {}
            a = self.agents.get(r.agent)
            out.append(
                {
                    "uid": r.uid,
                    "deployment": r.deployment,
                    "revision": r.revision,
                    "agent": r.agent,
                    "site": a.node.site if a else None,
                    "state": rep.get("state", "pending"),
                    "ready": rep.get("ready"),
                    "pid": rep.get("pid"),
                    "restarts": rep.get("restarts", 0),
                }
            )
        return out

    # --- messages from agents ---------------------------------------------------------------------

    async def _on_join(self, msg: Msg) -> None:
        try:
            reply = self._join(msg.data, msg.headers)
        except AuthError as e:
            self.rejected += 1
            self.event("auth.rejected", JOIN, str(e))
            reply = (reply_error(str(e)), {})
        if msg.reply:
            await self._publish_quietly(msg.reply, reply[0], reply[1] or None)

    def _join(self, data: bytes, headers: dict[str, str] | None) -> tuple[bytes, dict[str, str]]:
        try:
            body = json.loads(data).get("body", {})
            public = str(body["public_key"])
            mac_key = self._shared(public)
        except (ValueError, KeyError, AttributeError) as e:
            raise AuthError(f"{JOIN}: malformed join request") from e
        env = open_envelope(data, headers, mac_key, subject=JOIN, agent="")
        if not check_token(env.body.get("token"), self.cluster.bootstrap_token):
            raise AuthError(f"{JOIN}: bad bootstrap token")
        site = str(env.body.get("site", ""))
        info = {
            k: env.body.get(k)
            for k in ("site", "cpu_cores", "memory_mb", "labels", "region", "domain", "tier")
        }
        try:
            NodeState.from_info("check", info)
        except (TypeError, ValueError) as e:
            raise AuthError(f"{JOIN}: malformed node description ({e})") from e
        found = self.by_site.get(site)
        if found is not None:
            rec = found
            if rec.public_key != public:
                raise AuthError(
                    f"{JOIN}: site {site!r} already joined with another key; remove the node first"
                )
            self.store.update_agent_info(rec.id, info)
            rec.node = NodeState.from_info(rec.id, info)
        else:
            agent_id = "a-" + secrets.token_hex(6)
            idx = self.store.add_agent(agent_id, site, public, info)
            rec = AgentRec(idx, NodeState.from_info(agent_id, info), public, mac_key)
            self.by_site[site] = rec
            self.agents[agent_id] = rec
            self.detector.heartbeat(idx, self.clock())
            self.event("node.joined", site, f"agent {agent_id}", info)
        self._wake.set()
        return seal(mac_key, "join", rec.id, JOIN, {"agent_id": rec.id})

    async def _on_agent(self, msg: Msg) -> None:
        parsed = parse_agent_subject(msg.subject)
        if parsed is None or parsed[1] == "assign":
            return
        agent_id, kind = parsed
        rec = self.agents.get(agent_id)
        try:
            if rec is None:
                raise AuthError(f"{msg.subject}: unknown agent")
            env = open_envelope(
                msg.data, msg.headers, rec.mac, subject=msg.subject, agent=agent_id, after_seq=rec.last_seq
            )
        except AuthError as e:
            self.rejected += 1
            if rec is not None or kind != "hb":
                self.event("auth.rejected", msg.subject, str(e))
            if msg.reply:
                await self._publish_quietly(msg.reply, reply_error(str(e)))
            return
        rec.last_seq = env.seq
        if kind == "hb":
            self.heartbeat(rec)
        elif kind in ("status", "sync"):
            rec.reports = {
                r["uid"]: r for r in env.body.get("replicas", []) if isinstance(r, dict) and "uid" in r
            }
            rec.reported_generation = int(env.body.get("generation", 0))
            self.heartbeat(rec)
            self.rollouts.observe()
            if kind == "sync" and msg.reply:
                data, hdr = self._assignment(rec)
                await self._publish_quietly(msg.reply, data, hdr)

    def heartbeat(self, rec: AgentRec) -> None:
        """Renew *rec*'s lease now (given to the detector in batches, see :meth:`flush_heartbeats`)."""
        now = self.clock()
        rec.last_hb = now
        self._hb.append((rec.idx, now))
        if rec.suspected_since is not None:
            self._wake.set()

    def flush_heartbeats(self) -> None:
        """Hand the heartbeats received since the last call to the detector, in one vectorised call."""
        if self._hb:
            hb, self._hb = self._hb, []
            nodes, t = zip(*hb, strict=True)
            self.detector.heartbeats(np.array(nodes, np.int64), np.array(t))

    # --- assignments ------------------------------------------------------------------------------

    def _replica_spec(self, r: Rep) -> dict[str, Any]:
        t = self._templates.get((r.deployment, r.revision))
        if t is None:
            d = self.deployments.get(r.deployment)
            spec = d.spec.model_dump() if d is not None and d.revision == r.revision else None
            if spec is None:
                spec = self.store.revision_spec(r.deployment, r.revision) or {}
            t = self._templates[(r.deployment, r.revision)] = self._template(spec)
        return {"uid": r.uid, "deployment": r.deployment, "revision": r.revision, **t}

    @staticmethod
    def _template(spec: dict[str, Any]) -> dict[str, Any]:
        return {
            k: spec.get(k)
            for k in (
                "command",
                "env",
                "cpu_cores",
                "memory_mb",
                "health",
                "restart_backoff_s",
                "max_backoff_s",
            )
        }

    def _assignment(self, rec: AgentRec) -> tuple[bytes, dict[str, str]]:
        reps = [self._replica_spec(r) for r in self.by_agent.get(rec.id, {}).values()]
        body = {"generation": rec.generation, "replicas": reps}
        return seal(rec.mac, "assign", rec.id, agent_subject(rec.id, "assign"), body, encrypt=True)

    async def publish_assignments(self, agent_ids: list[str]) -> None:
        """Send their current assignment to these agents."""
        for aid in agent_ids:
            rec = self.agents.get(aid)
            if rec is not None:
                data, hdr = self._assignment(rec)
                await self._publish_quietly(agent_subject(aid, "assign"), data, hdr)

    # --- reconcile --------------------------------------------------------------------------------

    def _window(self, d: DepRec) -> float:
        w = d.spec.autonomy_window_s
        return self.config.autonomy_window_s if w is None else w

    def _behind(self, now: float) -> bool:
        """Whether silence may be ours, not the agents': a backlog of their messages waits here, or this
        process was paused (a long pass, a GC, a stopped VM) less than two heartbeat periods ago."""
        sub = self._agent_sub
        if sub is not None and sub.pending_msgs > max(100, len(self.agents) // 20):
            return True
        return now - self._stalled_at < 2 * self.config.heartbeat_s

    async def _watch_stalls(self) -> None:
        """Notice when the event loop was blocked for more than a quarter heartbeat period."""
        step = 0.05
        while True:
            t = self.clock()
            await asyncio.sleep(step)
            if self.clock() - t - step > self.config.heartbeat_s / 4:
                self._stalled_at = self.clock()

    def _update_suspicions(self, now: float) -> None:
        self.flush_heartbeats()
        behind = self._behind(now)  # then suspect nobody new: the silence may be our backlog or pause
        suspected = self.detector.suspected(now)
        for a in self.agents.values():
            if a.suspected_since is not None and a.idx not in suspected:
                a.suspected_since = None
                self._recovered_at = now  # its neighbours (a healed region) may be back a beat later
                was_lost, a.lost = a.lost, False
                self.event(
                    "node.recovered",
                    a.node.site,
                    "heartbeats again" + (" (after losing its replicas)" if was_lost else ""),
                )
            elif a.idx in suspected and a.suspected_since is None and not behind:
                a.suspected_since = now
                phi = self.detector.phi(a.idx, now)
                self.event(
                    "node.suspected",
                    a.node.site,
                    f"no heartbeat for {now - (a.last_hb or 0):.2f} s (phi {phi:.1f})",
                )

    def _usable(
        self, now: float, nodes: list[AgentRec], deps: list[DepRec], services: list[ServiceState]
    ) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """(deployment, node): the node matches the selector and is not past the autonomy window."""
        since = np.array([np.inf if a.suspected_since is None else a.suspected_since for a in nodes])
        silent = now - since if len(nodes) else np.zeros(0)
        eligible: dict[tuple[tuple[str, str], ...], np.ndarray[Any, np.dtype[np.bool_]]] = {}
        usable = np.ones((len(deps), len(nodes)), bool)
        for s, d in enumerate(deps):
            sel = services[s].node_selector
            if sel not in eligible:
                eligible[sel] = services[s].eligible([a.node for a in nodes])
            window = self._window(d)
            lost = (silent >= window) & (now - self._recovered_at >= 2 * self.config.heartbeat_s)
            usable[s] = eligible[sel] & ~lost
            for j in np.flatnonzero(lost):
                a = nodes[j]
                if not a.lost:
                    a.lost = True
                    self.event(
                        "node.lost",
                        a.node.site,
                        f"suspected for {window:g} s (autonomy window): replicas move",
                    )
        return usable

    def reconcile_once(self) -> list[str]:
        """One pass: detect, place, persist. Returns the agents whose assignment changed."""
        job = self._prepare()
        if job is None:
            return []
        return self._apply_plan(job, *plan_counts(self.policy, job.view, job.usable, job.want, job.spread))

    async def reconcile(self) -> list[str]:
        """:meth:`reconcile_once` with the placement computed in a thread: the loop keeps serving."""
        job = self._prepare()
        if job is None:
            return []
        desired, unplaced = await asyncio.to_thread(
            plan_counts, self.policy, job.view, job.usable, job.want, job.spread
        )
        return self._apply_plan(job, desired, unplaced)

    def _prepare(self) -> _Job | None:
        """Detect failures and build the placement problem; ``None`` when there is nothing to do."""
        self.passes += 1
        now = self.clock()
        self._update_suspicions(now)
        if not self.deployments and not self.replicas:
            return None
        nodes = sorted(self.agents.values(), key=lambda a: a.idx)
        deps = [self.deployments[k] for k in sorted(self.deployments)]
        col = {a.id: j for j, a in enumerate(nodes)}
        row = {d.spec.name: s for s, d in enumerate(deps)}
        m, n = len(deps), len(nodes)
        gone = {r.uid: r for name, reps in self.by_dep.items() if name not in row for r in reps.values()}
        gone |= {r.uid: r for aid, reps in self.by_agent.items() if aid not in col for r in reps.values()}
        remove = [*gone.values(), *self.rollouts.retire(now)]
        removed = {r.uid for r in remove}
        current = np.zeros((m, n), np.int64)
        for s, d in enumerate(deps):
            cols = [
                col[r.agent]
                for r in self.by_dep.get(d.spec.name, {}).values()
                if r.revision == d.revision and r.agent in col and r.uid not in removed
            ]
            np.add.at(current[s], np.array(cols, np.int64), 1)
        services = [
            ServiceState(
                d.spec.name,
                self.rollouts.target(d),
                d.spec.cpu_cores,
                tuple(d.spec.tiers) if d.spec.tiers else None,
                tuple(sorted(d.spec.node_selector.items())),
            )
            for d in deps
        ]
        usable = self._usable(now, nodes, deps, services)
        want = np.array([sv.replicas for sv in services], np.int64)
        settled = not remove and not (current * ~usable).any() and (current.sum(axis=1) == want).all()
        if settled and isinstance(self.policy, INCREMENTAL):
            return None  # nothing to place, nothing to move: the steady state costs little
        # new replicas go to nodes nobody suspects; replicas already on a suspected node stay there
        # until its autonomy window is over (``usable``). Whole-placement policies see only lost nodes down.
        up = [a.suspected_since is None for a in nodes] if isinstance(self.policy, INCREMENTAL) else None
        view = LiveCluster.from_state(
            [a.node for a in nodes],
            services,
            current,
            now=now,
            up=up,
            inter_region_ms=self.config.inter_region_ms,
        )
        spread = [
            view.site_domain
            if d.spec.spread == "domain"
            else view.site_region
            if d.spec.spread == "region"
            else None
            for d in deps
        ]
        return _Job(deps, nodes, current, remove, view, usable, want, spread)

    def _apply_plan(
        self, job: _Job, desired: np.ndarray[Any, Any], unplaced: np.ndarray[Any, Any]
    ) -> list[str]:
        t = self.clock()
        try:
            return self._apply(job, desired, unplaced)
        finally:
            if self.clock() - t > self.config.heartbeat_s / 4:
                self._stalled_at = self.clock()  # a long blocking write: do not blame the agents

    def _apply(self, job: _Job, desired: np.ndarray[Any, Any], unplaced: np.ndarray[Any, Any]) -> list[str]:
        deps, nodes, current, remove = job.deps, job.nodes, job.current, job.remove
        add: list[Rep] = []
        removed = {r.uid for r in remove}
        # replicas of a lost node that no other node can take stay assigned to it: moving them nowhere
        # would only stop them when the node comes back and recreate them later (KubeEdge's complaint)
        stay = np.asarray(unplaced, np.int64).copy()
        for s, j in zip(*np.nonzero(desired != current), strict=True):
            d, a = deps[s], nodes[j]
            if id(self.deployments.get(d.spec.name)) != id(d) or a.id not in self.agents:
                self._wake.set()  # changed while we were placing: the next pass sees the change
                continue
            diff = int(desired[s, j] - current[s, j])
            if diff < 0 and a.lost and stay[s] > 0:
                keep = min(int(stay[s]), -diff)
                stay[s] -= keep
                diff += keep
            if diff < 0:
                cell = sorted(
                    (
                        r
                        for r in self.by_agent.get(a.id, {}).values()
                        if r.deployment == d.spec.name and r.revision == d.revision and r.uid not in removed
                    ),
                    key=lambda r: r.uid,
                )
                remove += cell[:-diff]
            for _ in range(max(diff, 0)):
                add.append(
                    Rep(f"{d.spec.name}-{d.revision}-{secrets.token_hex(4)}", d.spec.name, d.revision, a.id)
                )
        for s in np.flatnonzero(unplaced):
            log.debug("%s: %d replicas found no node", deps[s].spec.name, unplaced[s])
        if not add and not remove:
            return []
        changed = sorted({r.agent for r in add} | {r.agent for r in remove})
        with self.store.transaction():
            self.store.remove_replicas([r.uid for r in remove])
            self.store.add_replicas([(r.uid, r.deployment, r.revision, r.agent) for r in add])
            for aid in changed:
                if aid in self.agents:
                    self.agents[aid].generation += 1
                    self.store.set_generation(aid, self.agents[aid].generation)
        for r in remove:
            self._drop_rep(r)
        for r in add:
            self._add_rep(r)
        self._summarise(add, remove)
        return [a for a in changed if a in self.agents]

    def _summarise(self, add: list[Rep], remove: list[Rep]) -> None:
        for verb, reps in (("scheduled", add), ("removed", remove)):
            per: dict[str, int] = {}
            for r in reps:
                per[r.deployment] = per.get(r.deployment, 0) + 1
            for dep, k in per.items():
                sites = sorted(
                    {
                        self.agents[r.agent].node.site
                        for r in reps
                        if r.deployment == dep and r.agent in self.agents
                    }
                )
                shown = ", ".join(sites[:5]) + (f" (+{len(sites) - 5} more)" if len(sites) > 5 else "")
                self.event(f"replica.{verb}", dep, f"{k} replica(s) {verb} on {shown or '-'}")

    async def _reconcile_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.config.reconcile_s)
            await asyncio.sleep(self.config.batch_s)  # let a burst of changes land in one pass
            self._wake.clear()
            try:
                changed = await self.reconcile()
            except ControlPlaneError as e:
                log.error("reconcile failed: %s", e)
                continue
            if changed:
                t = self.clock()
                await self.publish_assignments(changed)
                if self.clock() - t > self.config.heartbeat_s / 4:
                    self._stalled_at = self.clock()

    # --- lifecycle --------------------------------------------------------------------------------

    async def _connect(self) -> NatsClient:
        c = self.cluster

        async def _err(e: Exception) -> None:
            log.debug("controller: nats: %s", e)

        return await nats.connect(
            servers=c.nats_urls,
            user=c.controller_user,
            password=c.controller_password,
            name="controller",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.25,
            connect_timeout=2,
            error_cb=_err,
            pending_size=64 * 1024 * 1024,
        )

    async def start(self) -> None:
        """Connect, subscribe, re-publish every assignment, start the loops and the HTTP API."""
        nc = self.nc = await self._connect()
        await nc.subscribe(JOIN, cb=self._on_join)
        self._agent_sub = await nc.subscribe(
            "es.agent.*.*", cb=self._on_agent, pending_msgs_limit=1_000_000, pending_bytes_limit=1 << 30
        )
        await nc.flush()
        if self.config.kv_replicas > 0:
            from edgescale.operate.jsmirror import JetStreamMirror

            self.mirror = JetStreamMirror(nc, self.config.kv_replicas)
            await self.mirror.start()
            for name, d in self.deployments.items():
                self.mirror.put(name, {"revision": d.revision, "spec": d.spec.model_dump()})
        self.event(
            "controller.started",
            "controller",
            f"{len(self.agents)} agents, {len(self.deployments)} deployments",
        )
        await self.publish_assignments(list(self.agents))
        self._tasks.append(asyncio.create_task(self._reconcile_loop()))
        self._tasks.append(asyncio.create_task(self._watch_stalls()))
        if self.config.api_port >= 0:
            await self._start_api()

    async def _start_api(self) -> None:
        import uvicorn

        from edgescale.operate.api import make_app
        from edgescale.operate.natsd import free_port

        port = self.config.api_port or free_port(self.config.api_host)
        cfg = uvicorn.Config(
            make_app(self),
            host=self.config.api_host,
            port=port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        self._api = uvicorn.Server(cfg)
        self._tasks.append(asyncio.create_task(self._api.serve()))
        while not self._api.started:
            await asyncio.sleep(0.01)
            if self._tasks[-1].done():
                raise ControlPlaneError(f"controller API: cannot listen on {self.config.api_host}:{port}")
        self.api_url = f"http://{self.config.api_host}:{port}"
        write_atomic(
            Path(self.config.state_dir) / "controller.json", json.dumps({"api_url": self.api_url}) + "\n"
        )

    async def stop(self) -> None:
        """Stop the loops, the API and the NatsClient connection; close the database."""
        if self._api is not None:
            self._api.should_exit = True
        for t in self._tasks:
            if t is not self._tasks[-1] or self._api is None:
                t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.mirror is not None:
            await self.mirror.stop()
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()
        self.store.close()

    async def run_forever(self) -> None:
        """Start and serve until cancelled."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()
