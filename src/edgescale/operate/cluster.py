"""``LiveCluster``: the controller's state as a :class:`~edgescale.policies.ClusterView`, and placement.

One site per agent (node), one service per deployment. The same placement policy objects as in the
twin decide where replicas go; :func:`plan_counts` is the framework around them: replicas already on
usable nodes stay (no churn), excess ones go, and the policy places the missing ones given the cores
already reserved. Policies that decide a whole placement (``from-plan``, ``everywhere``,
``nearest-failover``) are applied as they answer instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from edgescale.model.schema import TIERS
from edgescale.policies import ClusterView, Demand, LeastLoadedPlacement, PlacementPolicy, WaterFilling

__all__ = ["LiveCluster", "NodeState", "ServiceState", "plan_counts"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]


SITE_LABEL = "edgescale/site"  # every node carries its site name as this label
INCREMENTAL = (LeastLoadedPlacement, WaterFilling)  # they place what is missing; others a whole placement


@dataclass(frozen=True)
class NodeState:
    """What the controller knows about one agent's node."""

    agent_id: str
    site: str
    tier: str = "edge"
    cpu_cores: float = 1.0
    memory_mb: float = 1024.0
    labels: dict[str, str] = field(default_factory=dict)
    region: str = ""
    domain: str = ""

    @classmethod
    def from_info(cls, agent_id: str, info: dict[str, Any]) -> NodeState:
        """From the description an agent sent when it joined."""
        return cls(
            agent_id,
            str(info.get("site", agent_id)),
            str(info.get("tier", "edge")) if info.get("tier") in TIERS else "edge",
            float(info.get("cpu_cores") or 1.0) if info.get("cpu_cores") != 0 else 0.0,
            float(info.get("memory_mb") or 1024.0) if info.get("memory_mb") != 0 else 0.0,
            {
                **{str(k): str(v) for k, v in dict(info.get("labels") or {}).items()},
                SITE_LABEL: str(info.get("site", agent_id)),
            },
            str(info.get("region") or ""),
            str(info.get("domain") or ""),
        )


@dataclass(frozen=True)
class ServiceState:
    """What placement needs of one deployment."""

    name: str
    replicas: int
    cpu_cores: float
    tiers: tuple[str, ...] | None = None
    node_selector: tuple[tuple[str, str], ...] = ()

    @property
    def tier_mask(self) -> int:
        """Bit ``1 << tier`` for each allowed tier (every tier when none is named)."""
        tiers = self.tiers if self.tiers is not None else TIERS
        return sum(1 << TIERS.index(t) for t in tiers)

    def eligible(self, nodes: Sequence[NodeState]) -> B:
        """Nodes whose labels match the selector."""
        sel = dict(self.node_selector)
        return np.array([all(n.labels.get(k) == v for k, v in sel.items()) for n in nodes], bool)


def _ro(a: ArrayLike, dtype: Any) -> NDArray[Any]:
    out = np.array(a, dtype)
    out.flags.writeable = False
    return out


def _index(names: Sequence[str]) -> tuple[NDArray[np.int32], list[str]]:
    """Dense index per name ('' is -1) and the distinct names."""
    distinct = sorted({n for n in names if n})
    pos = {n: k for k, n in enumerate(distinct)}
    return np.array([pos.get(n, -1) for n in names], np.int32), distinct


class LiveCluster:
    """A read-only :class:`ClusterView` of the live system, built from the controller's records.

    Latency between nodes is unknown to the controller unless a matrix is given (``operate apply``
    passes the designed system's path latencies); without one it is 0 within a region and
    ``inter_region_ms`` across regions.

    Examples
    --------
    >>> nodes = [NodeState("a-1", "s1", cpu_cores=2), NodeState("a-2", "s2", cpu_cores=4)]
    >>> v = LiveCluster.from_state(nodes, [ServiceState("web", 3, 0.5)], np.zeros((1, 2), np.int64))
    >>> v.n_sites, v.n_services, v.site_ids, float(v.site_cpu_cores[1])
    (2, 1, ('s1', 's2'), 4.0)
    >>> isinstance(v, ClusterView)
    True
    """

    def __init__(self, **arrays: Any) -> None:
        self._a = arrays

    @classmethod
    def from_state(
        cls,
        nodes: Sequence[NodeState],
        services: Sequence[ServiceState],
        replicas: ArrayLike,
        *,
        now: float = 0.0,
        up: ArrayLike | None = None,
        load: ArrayLike | None = None,
        latency_ms: ArrayLike | None = None,
        inter_region_ms: float = 0.0,
    ) -> LiveCluster:
        """Build the view of *nodes* and *services* with *replicas* per (service, node)."""
        n, m = len(nodes), len(services)
        region, _ = _index([x.region for x in nodes])
        domain, _ = _index([x.domain for x in nodes])
        lat = None if latency_ms is None else _ro(latency_ms, np.float64)
        rep = np.asarray(replicas, np.int64).reshape(m, n)
        return cls(
            now=float(now),
            site_ids=tuple(x.site for x in nodes),
            service_ids=tuple(s.name for s in services),
            site_tier=_ro([TIERS.index(x.tier) for x in nodes], np.int8),
            site_cpu_cores=_ro([x.cpu_cores for x in nodes], np.float64),
            site_cpu_speed=_ro(np.ones(n), np.float64),
            site_up=_ro(np.ones(n, bool) if up is None else up, np.bool_),
            site_load=_ro(np.zeros(n) if load is None else load, np.float64),
            site_region=_ro(region, np.int32),
            site_domain=_ro(domain, np.int32),
            service_cpu_cores=_ro([s.cpu_cores for s in services], np.float64),
            service_tier_mask=_ro([s.tier_mask for s in services], np.uint8),
            replicas=_ro(rep, np.int64),
            queue_len=_ro(np.zeros((m, n)), np.float64),
            utilization=_ro(np.zeros((m, n)), np.float64),
            latency_matrix_ms=lat,
            inter_region_ms=float(inter_region_ms),
        )

    @classmethod
    def of(cls, view: ClusterView) -> LiveCluster:
        """A copy of any :class:`ClusterView` (e.g. the twin's ``ArrayClusterView``)."""
        n = view.n_sites
        names = (
            "site_tier", "site_cpu_cores", "site_cpu_speed", "site_up", "site_load", "site_region",
            "site_domain", "service_cpu_cores", "service_tier_mask", "replicas", "queue_len", "utilization",
        )  # fmt: skip
        arrays = {k: _ro(getattr(view, k), np.asarray(getattr(view, k)).dtype) for k in names}
        return cls(
            now=float(view.now),
            site_ids=tuple(view.site_ids),
            service_ids=tuple(view.service_ids),
            latency_matrix_ms=_ro(view.latencies(np.arange(n), np.arange(n)), np.float64),
            **arrays,
        )

    def with_(self, services: I64 | None = None, **changes: Any) -> LiveCluster:
        """A new view with some arrays replaced and, optionally, only some services."""
        a = dict(self._a)
        if services is not None:
            idx = np.asarray(services, np.int64)
            a["service_ids"] = tuple(a["service_ids"][k] for k in idx)
            for name in ("service_cpu_cores", "service_tier_mask"):
                a[name] = _ro(a[name][idx], a[name].dtype)
            for name in ("replicas", "queue_len", "utilization"):
                a[name] = _ro(a[name][idx], a[name].dtype)
        for k, v in changes.items():
            a[k] = _ro(v, self._a[k].dtype) if isinstance(self._a.get(k), np.ndarray) else v
        return LiveCluster(**a)

    def as_dict(self) -> dict[str, Any]:
        """The arrays (read-only), e.g. to build an ``ArrayClusterView`` of the same state."""
        return dict(self._a)

    def __repr__(self) -> str:
        return f"LiveCluster(now={self.now:g}, n_sites={self.n_sites}, n_services={self.n_services})"

    @property
    def now(self) -> float:
        """Controller time, seconds."""
        return float(self._a["now"])

    @property
    def n_sites(self) -> int:
        """Number of nodes."""
        return len(self._a["site_ids"])

    @property
    def n_services(self) -> int:
        """Number of deployments."""
        return len(self._a["service_ids"])

    @property
    def site_ids(self) -> tuple[str, ...]:
        """Site name of each node."""
        return tuple(self._a["site_ids"])

    @property
    def service_ids(self) -> tuple[str, ...]:
        """Deployment names."""
        return tuple(self._a["service_ids"])

    @property
    def site_tier(self) -> NDArray[np.int8]:
        """Tier index per node."""
        return np.asarray(self._a["site_tier"], np.int8)

    @property
    def site_cpu_cores(self) -> F64:
        """Cores per node (free cores, in the views placement sees)."""
        return np.asarray(self._a["site_cpu_cores"], np.float64)

    @property
    def site_cpu_speed(self) -> F64:
        """Relative core speed (1: unknown)."""
        return np.asarray(self._a["site_cpu_speed"], np.float64)

    @property
    def site_up(self) -> B:
        """Nodes placement may use."""
        return np.asarray(self._a["site_up"], np.bool_)

    @property
    def site_load(self) -> F64:
        """Reserved cores over cores per node."""
        return np.asarray(self._a["site_load"], np.float64)

    @property
    def site_region(self) -> NDArray[np.int32]:
        """Region index per node (-1: none)."""
        return np.asarray(self._a["site_region"], np.int32)

    @property
    def site_domain(self) -> NDArray[np.int32]:
        """Failure-domain index per node (-1: none)."""
        return np.asarray(self._a["site_domain"], np.int32)

    @property
    def service_cpu_cores(self) -> F64:
        """Cores one replica reserves, per deployment."""
        return np.asarray(self._a["service_cpu_cores"], np.float64)

    @property
    def service_tier_mask(self) -> NDArray[np.uint8]:
        """Allowed tiers per deployment."""
        return np.asarray(self._a["service_tier_mask"], np.uint8)

    @property
    def replicas(self) -> I64:
        """Assigned replicas per (deployment, node)."""
        return np.asarray(self._a["replicas"], np.int64)

    @property
    def queue_len(self) -> F64:
        """Not measured by the controller: zeros."""
        return np.asarray(self._a["queue_len"], np.float64)

    @property
    def utilization(self) -> F64:
        """Not measured by the controller: zeros."""
        return np.asarray(self._a["utilization"], np.float64)

    def latency_ms(self, src: int, dst: int) -> float:
        """One-way latency between two nodes."""
        return float(self.latencies([src], [dst])[0, 0])

    def latencies(self, src: ArrayLike, dst: ArrayLike) -> F64:
        """Latency block, shape ``(len(src), len(dst))``, computed on demand (no n x n matrix is kept)."""
        s = np.atleast_1d(np.asarray(src, np.int64))
        d = np.atleast_1d(np.asarray(dst, np.int64))
        lat = self._a.get("latency_matrix_ms")
        if lat is not None:
            return np.asarray(lat[np.ix_(s, d)], np.float64)
        r = self.site_region
        rs, rd = r[s][:, None], r[d][None, :]
        same = (rs == rd) | (rs < 0) | (rd < 0)
        return np.where(same, 0.0, float(self._a.get("inter_region_ms", 0.0)))


def _trim(rep: I64, want: int, order_key: F64) -> None:
    """Remove replicas from the row *rep* until it sums to *want*, most loaded nodes first."""
    extra = int(rep.sum()) - want
    for j in np.argsort(-order_key, kind="stable"):
        if extra <= 0:
            break
        k = min(int(rep[j]), extra)
        rep[j] -= k
        extra -= k


def _place_missing(
    policy: PlacementPolicy, view: LiveCluster, idx: I64, up: B, cur: I64, missing: I64, used: F64
) -> tuple[I64, I64]:
    """Ask the policy to place *missing* replicas of services *idx* on the *up* sites, given *used* cores."""
    total = view.site_cpu_cores
    sub = view.with_(
        idx,
        site_up=up,
        site_cpu_cores=np.maximum(total - used, 0.0),
        site_load=used / np.maximum(total, 1e-9),
        replicas=cur,
    )
    p = policy.place(sub, Demand(replicas=missing))
    short = p.unplaced if p.unplaced is not None else np.zeros(len(idx), np.int64)
    return np.asarray(p.replicas, np.int64), np.asarray(short, np.int64)


def _spread(
    policy: PlacementPolicy, view: LiveCluster, idx: I64, up: B, cur: I64, missing: I64, used: F64, dom: I64
) -> tuple[I64, I64]:
    """Place one service's missing replicas domain by domain, evening out the domains' counts."""
    k = int(missing[0])
    doms = np.unique(dom[up & (dom >= 0)])
    if k == 0 or len(doms) == 0:
        return _place_missing(policy, view, idx, up, cur, missing, used)
    have = {int(d): int(cur[0][dom == d].sum()) for d in doms}
    base, rem = divmod(int(cur.sum()) + k, len(doms))
    order = sorted(have, key=lambda d: (-have[d], d))  # the remainder where replicas already are
    added = np.zeros_like(cur)
    short = 0
    used = used.copy()
    svc = float(view.service_cpu_cores[idx[0]])
    for i, d in enumerate(order):
        quota = max(0, base + (1 if i < rem else 0) - have[d])
        if quota:
            a, s = _place_missing(policy, view, idx, up & (dom == d), cur, np.array([quota]), used)
            added += a
            used += a[0] * svc
            short += int(s[0])
    if short:  # what its domain could not take goes anywhere (schedule anyway)
        a, s = _place_missing(policy, view, idx, up, cur + added, np.array([short]), used)
        added += a
        short = int(s[0])
    return added, np.array([short], np.int64)


def plan_counts(
    policy: PlacementPolicy,
    view: ClusterView,
    usable: B,
    want: ArrayLike,
    spread: Sequence[NDArray[np.int32] | None] | None = None,
) -> tuple[I64, I64]:
    """Desired replicas per (deployment, node), and replicas no node could take, per deployment.

    Parameters
    ----------
    policy : PlacementPolicy
        Any placement policy; :class:`LeastLoadedPlacement` places only the missing replicas.
    view : ClusterView
        ``replicas`` holds the current assignment; ``site_up`` the nodes that are not lost. Any view
        works (the twin's too); the policy sees :class:`LiveCluster` sub-views of it.
    usable : ndarray of bool, shape (n_services, n_sites)
        Node may run the deployment: up (not past its autonomy window) and matching its selector.
        Deployments with the same row are placed in one policy call.
    want : array_like of int, shape (n_services,)
        Replicas wanted per deployment (the policy's ``Demand``).
    spread : list of (array of int, shape (n_sites,)) or None, optional
        Per deployment, a failure-domain (or region) index per site: its missing replicas are placed so
        that the domains end up as even as possible (the policy is asked once per domain, on a view
        showing only that domain's sites); what a domain cannot take goes anywhere. Replicas already
        placed are not moved to even things out. Incremental policies only.
    """
    want = np.asarray(want, np.int64)
    view = view if isinstance(view, LiveCluster) else LiveCluster.of(view)
    m, n = view.n_services, view.n_sites
    total = view.site_cpu_cores
    svc = view.service_cpu_cores
    out = np.zeros((m, n), np.int64)
    unplaced = np.zeros(m, np.int64)
    incremental = isinstance(policy, INCREMENTAL)
    kept = view.replicas * usable
    used = (kept * svc[:, None]).sum(axis=0)
    groups: dict[bytes, list[int]] = {}
    spreads = list(spread) if spread is not None else [None] * m
    for s in range(m):
        own = f"spread{s}".encode() if incremental and spreads[s] is not None else b""
        groups.setdefault(np.packbits(usable[s]).tobytes() + own, []).append(s)
    for key in sorted(groups, key=lambda k: groups[k][0]):
        idx = np.array(groups[key], np.int64)
        row = usable[idx[0]]
        if incremental:
            cur = kept[idx].copy()
            for r, s in enumerate(idx):
                if cur[r].sum() > want[s]:
                    before = cur[r] * svc[s]
                    _trim(cur[r], int(want[s]), used / np.maximum(total, 1e-9))
                    used -= before - cur[r] * svc[s]
            missing = np.maximum(want[idx] - cur.sum(axis=1), 0)
            dom = spreads[idx[0]] if len(idx) == 1 else None
            if dom is not None:
                added, short = _spread(
                    policy, view, idx, row & view.site_up, cur, missing, used, np.asarray(dom)
                )
            else:
                added, short = _place_missing(policy, view, idx, row & view.site_up, cur, missing, used)
            used += (added * svc[idx, None]).sum(axis=0)
            out[idx] = cur + added
            unplaced[idx] = short
        else:  # a whole placement (e.g. a plan's): every service in the call, this group's rows kept
            sub = view.with_(None, site_up=row & view.site_up, replicas=kept)
            p = policy.place(sub, Demand(replicas=want))
            out[idx] = np.asarray(p.replicas, np.int64)[idx] * row[None, :]
            unplaced[idx] = p.unplaced[idx] if p.unplaced is not None else 0
    return out, unplaced
