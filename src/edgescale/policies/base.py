"""The read-only cluster view and the abstract policies: the framework owns the loop, a policy the decision.

The same policy object runs in the digital twin (``sim``) and in the real control plane (``operate``).
Both show it the system through a :class:`ClusterView`; neither lets it change anything: a policy
returns a decision and the framework applies it.

Each abstract base has a public method (``place``, ``choose``, ``desired_replicas`` ...) that calls a
private hook (``_place``, ``_choose`` ...) which subclasses implement. The public method turns any
unexpected exception into :class:`~edgescale.errors.PolicyError` (chained, naming the policy and the
time) and checks the shape of the answer, so callers handle one error type.

Feedback arrives through :meth:`Policy.observe` (failures passed in as data); the default ignores it.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from typing import ClassVar, Literal, ParamSpec, Protocol, TypeVar, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from edgescale.errors import EdgescaleError, PolicyError
from edgescale.policies._checks import describe
from edgescale.policies.data import Demand, DeviceState, Failure, Outcome, Placement, TaskClass

__all__ = [
    "Autoscaler",
    "CachePolicy",
    "ClusterView",
    "Demand",
    "DeviceState",
    "Failure",
    "FailureDetector",
    "LoadBalancer",
    "OffloadTarget",
    "OffloadingPolicy",
    "Outcome",
    "Placement",
    "PlacementPolicy",
    "Policy",
    "TaskClass",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
P = ParamSpec("P")
T = TypeVar("T")
OffloadTarget = Literal["device", "edge", "cloud"]
OFFLOAD_TARGETS: tuple[OffloadTarget, ...] = ("device", "edge", "cloud")


@runtime_checkable
class ClusterView(Protocol):
    """What a policy may read about the running system; implementations never let it write.

    Sites are indexed ``0 .. n_sites-1`` and services ``0 .. n_services-1`` as in
    :class:`~edgescale.model.arrays.SystemArrays`. Per-(service, site) arrays have shape
    ``(n_services, n_sites)``. Implemented by :class:`~edgescale.policies.ArrayClusterView`
    (numpy arrays), the twin's cluster and the live controller's cluster.
    """

    @property
    def now(self) -> float:
        """Current time, seconds."""

    @property
    def n_sites(self) -> int:
        """Number of sites."""

    @property
    def n_services(self) -> int:
        """Number of services."""

    @property
    def site_ids(self) -> Sequence[str]:
        """Site names."""

    @property
    def site_tier(self) -> NDArray[np.int8]:
        """Tier index per site (into :data:`edgescale.model.schema.TIERS`)."""

    @property
    def site_cpu_cores(self) -> F64:
        """Cores available to services per site."""

    @property
    def site_cpu_speed(self) -> F64:
        """Core speed per site, relative to the reference core."""

    @property
    def site_up(self) -> NDArray[np.bool_]:
        """Whether each site is up (as far as the control plane knows)."""

    @property
    def site_load(self) -> F64:
        """Utilization per site: busy cores over cores, over the last control epoch."""

    @property
    def site_region(self) -> NDArray[np.int32]:
        """Region index per site (-1 when none)."""

    @property
    def site_domain(self) -> NDArray[np.int32]:
        """Failure-domain index per site (-1 when none)."""

    @property
    def service_ids(self) -> Sequence[str]:
        """Service names."""

    @property
    def service_cpu_cores(self) -> F64:
        """Cores one replica of each service reserves."""

    @property
    def service_tier_mask(self) -> NDArray[np.uint8]:
        """Bit ``1 << tier`` set for each tier a service may run on."""

    @property
    def replicas(self) -> I64:
        """Running replicas per (service, site)."""

    @property
    def queue_len(self) -> F64:
        """Requests waiting or in service per (service, site)."""

    @property
    def utilization(self) -> F64:
        """Busy fraction of the replicas per (service, site) over the last epoch (0 without replicas)."""

    def latency_ms(self, src: int, dst: int) -> float:
        """One-way minimum-path latency between two sites (``inf`` when unreachable)."""

    def latencies(self, src: ArrayLike, dst: ArrayLike) -> F64:
        """Block of latencies, shape ``(len(src), len(dst))``."""


class Policy:
    """Common base of every policy: config ``__repr__``, error wrapping and the feedback hook.

    Constructors take keyword-only arguments and store each under its own name; ``__repr__`` shows
    them. ``ENGINE_PARAMS`` names constructor arguments an engine fills in (from the plan or the
    compiled system) rather than the scenario file.
    """

    ENGINE_PARAMS: ClassVar[frozenset[str]] = frozenset()

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        parts = [
            f"{name}={describe(getattr(self, name, None))}"
            for name, p in sig.parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        return f"{type(self).__name__}({', '.join(parts)})"

    def observe(self, now: float, outcomes: Sequence[Outcome] = (), failures: Sequence[Failure] = ()) -> None:
        """Feedback since the last call: finished requests and failures, as data."""
        self._guarded(f"in observe at t={now:g}", self._observe, now, outcomes, failures)

    def _observe(self, now: float, outcomes: Sequence[Outcome], failures: Sequence[Failure]) -> None:
        """Take feedback into account. The default ignores it."""

    def _guarded(self, when: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call *fn*; wrap unexpected exceptions in PolicyError naming this policy and *when*."""
        try:
            return fn(*args, **kwargs)
        except EdgescaleError:
            raise
        except Exception as e:  # one error type for callers
            raise PolicyError(f"{self!r} failed {when}: {type(e).__name__}: {e}") from e


class PlacementPolicy(Policy, ABC):
    """Decide where service replicas run."""

    @abstractmethod
    def _place(self, view: ClusterView, demand: Demand | None) -> Placement:
        """Return the desired placement. Must not mutate *view*."""

    def place(self, view: ClusterView, demand: Demand | None = None) -> Placement:
        """Desired replicas per (service, site).

        Raises
        ------
        PolicyError
            The policy raised, or returned something other than a :class:`Placement` of shape
            ``(view.n_services, view.n_sites)``.
        """
        out = self._guarded(f"at t={view.now:g}", self._place, view, demand)
        shape = (view.n_services, view.n_sites)
        if not isinstance(out, Placement) or out.replicas.shape != shape:
            got = out.replicas.shape if isinstance(out, Placement) else type(out).__name__
            raise PolicyError(
                f"{self!r} at t={view.now:g}: must return a Placement of shape {shape} (got {got})"
            )
        return out


class LoadBalancer(Policy, ABC):
    """Pick the site that serves a request among candidate sites hosting the service.

    Only *usable* candidates count: sites that are up and run a replica of the service. When none is
    usable, :meth:`choose` returns -1 and the row of :meth:`weights` is all zero.
    """

    ORDER_FREE: ClassVar[bool] = False
    """Whether a choice depends on the view and the arguments only (no generator, no memory of earlier calls):
    a framework may then ask for many origins at once (:meth:`choose_many`), in any order, and get the
    choices one by one would give. Subclasses that override ``_choose`` with randomness must not set it.
    A subclass that overrides ``_choose`` but not ``_choose_many`` gets the in-order ``_choose_many`` (which
    asks its ``_choose``) and, unless it sets ``ORDER_FREE`` itself, ``ORDER_FREE = False``: an ancestor's
    vectorised answer would bypass its choice."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "_choose" in cls.__dict__ and "_choose_many" not in cls.__dict__:
            cls._choose_many = LoadBalancer._choose_many  # type: ignore[method-assign]
            if "ORDER_FREE" not in cls.__dict__:
                cls.ORDER_FREE = False

    @abstractmethod
    def _choose(
        self, view: ClusterView, service: int, origin_site: int, candidates: I64, rng: np.random.Generator
    ) -> int:
        """Return one of *candidates*, or -1 when none is usable."""

    def _own_rng(self) -> np.random.Generator:
        """The policy's own generator (seed 0), used when the caller passes none: reproducible."""
        gen: np.random.Generator | None = self.__dict__.get("_rng")
        if gen is None:
            gen = self.__dict__["_rng"] = np.random.default_rng(0)
        return gen

    def _weights(self, view: ClusterView, service: int, origin_sites: I64, candidates: I64) -> F64:
        """Routing fractions; the default puts weight 1 on what :meth:`_choose` returns (seed 0)."""
        out = np.zeros((len(origin_sites), len(candidates)))
        pos = {int(c): k for k, c in enumerate(candidates)}
        for row, origin in enumerate(origin_sites):
            c = self._choose(view, service, int(origin), candidates, np.random.default_rng(0))
            if c >= 0:
                out[row, pos[int(c)]] = 1.0
        return out

    def choose(
        self,
        view: ClusterView,
        service: int,
        origin_site: int,
        candidates: ArrayLike,
        rng: np.random.Generator | None = None,
    ) -> int:
        """The site index that serves one request of *service* arriving at *origin_site*, or -1.

        *rng* drives randomised policies; without one the policy uses its own generator seeded
        with 0, so runs are reproducible (randomness never comes from a global source).

        Raises
        ------
        PolicyError
            The policy raised or returned a site that is not a candidate.
        """
        cand = np.asarray(candidates, np.int64)
        gen = rng if rng is not None else self._own_rng()
        c = int(self._guarded(f"at t={view.now:g}", self._choose, view, service, origin_site, cand, gen))
        if c != -1 and not (cand == c).any():
            raise PolicyError(f"{self!r} at t={view.now:g}: chose site {c}, which is not a candidate")
        return c

    def _choose_many(
        self, view: ClusterView, service: int, origin_sites: I64, candidates: I64, rng: np.random.Generator
    ) -> I64:
        """:meth:`_choose` for each origin, in order; order-free balancers may vectorise it."""
        return np.array([self._choose(view, service, o, candidates, rng) for o in origin_sites.tolist()], np.int64)

    def choose_many(
        self,
        view: ClusterView,
        service: int,
        origin_sites: ArrayLike,
        candidates: ArrayLike,
        rng: np.random.Generator | None = None,
    ) -> I64:
        """:meth:`choose` for each of *origin_sites*, in their order (one generator): a site index or -1 each.

        Raises
        ------
        PolicyError
            The policy raised, returned other than one site per origin, or a site that is not a candidate.
        """
        origins = np.atleast_1d(np.asarray(origin_sites, np.int64))
        cand = np.asarray(candidates, np.int64)
        gen = rng if rng is not None else self._own_rng()
        when = f"at t={view.now:g}"
        out = np.asarray(self._guarded(when, self._choose_many, view, service, origins, cand, gen), np.int64)
        if out.shape != origins.shape:
            raise PolicyError(f"{self!r} {when}: choose_many must return one site per origin, shape "
                              f"{origins.shape} (got {out.shape})")  # fmt: skip
        bad = (out != -1) & ~np.isin(out, cand)
        if bad.any():
            raise PolicyError(f"{self!r} {when}: chose site {int(out[bad][0])}, which is not a candidate")
        return out

    def weights(self, view: ClusterView, service: int, origin_sites: ArrayLike, candidates: ArrayLike) -> F64:
        """Routing fractions, shape ``(len(origin_sites), len(candidates))``; rows sum to 1 (or 0).

        Entry ``[r, k]`` is the probability that :meth:`choose` sends a request from
        ``origin_sites[r]`` to ``candidates[k]`` given the current view: what the twin's control plane
        writes into routing tables for one epoch.
        """
        origins = np.atleast_1d(np.asarray(origin_sites, np.int64))
        cand = np.asarray(candidates, np.int64)
        w = np.asarray(self._guarded(f"at t={view.now:g}", self._weights, view, service, origins, cand))
        sums = w.sum(axis=1) if w.ndim == 2 else None
        if w.shape != (len(origins), len(cand)) or sums is None or (w < 0).any():
            raise PolicyError(
                f"{self!r} at t={view.now:g}: weights must be >= 0 of shape ({len(origins)}, {len(cand)})"
            )
        if not np.all((np.abs(sums - 1.0) < 1e-9) | (sums == 0.0)):
            raise PolicyError(f"{self!r} at t={view.now:g}: weight rows must sum to 1 or 0")
        return w


class Autoscaler(Policy, ABC):
    """Decide how many replicas a service should have."""

    @abstractmethod
    def _desired_replicas(self, view: ClusterView, service: int, current: int) -> int:
        """Return the replica count wanted for *service* (currently *current*)."""

    def desired_replicas(self, view: ClusterView, service: int, current: int) -> int:
        """Replicas wanted for *service*; the policy assumes its answer is applied.

        Raises
        ------
        PolicyError
            The policy raised or returned a negative count.
        """
        n = int(self._guarded(f"at t={view.now:g}", self._desired_replicas, view, service, current))
        if n < 0:
            raise PolicyError(f"{self!r} at t={view.now:g}: replicas must be >= 0 (got {n})")
        return n


class FailureDetector(Policy, ABC):
    """Decide which nodes (agents, sites) are suspected to have failed, from their heartbeats.

    Nodes are non-negative integers used as array indices (keep them dense: agent or site
    indices). A node never heard from is not suspected.
    """

    @abstractmethod
    def _heartbeat(self, node: int, t: float) -> None:
        """Record a heartbeat of *node* at time *t*."""

    @abstractmethod
    def _suspected(self, now: float) -> frozenset[int]:
        """Nodes suspected at *now*."""

    @abstractmethod
    def _phi(self, node: int, now: float) -> float:
        """Suspicion level of *node* at *now* (0: none)."""

    @abstractmethod
    def _suspect_at(self, node: int) -> float:
        """Time at which *node* becomes suspected if no heartbeat arrives (``inf``: never)."""

    @abstractmethod
    def _forget(self, node: int) -> None:
        """Stop tracking *node*."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # a subclass that redefines _suspect_at only is asked node by node: an ancestor's vectorised
        # _suspect_ats would bypass it (the twin asks suspect_ats)
        if "_suspect_at" in cls.__dict__ and "_suspect_ats" not in cls.__dict__:
            cls._suspect_ats = FailureDetector._suspect_ats  # type: ignore[method-assign]

    def _suspect_ats(self, nodes: I64) -> F64:
        """:meth:`_suspect_at` of each of *nodes*; the default asks once per node, detectors vectorise it
        (a subclass that redefines ``_suspect_at`` only gets this default back)."""
        return np.array([self._suspect_at(node) for node in nodes.tolist()], np.float64)

    def _heartbeats(self, nodes: I64, t: F64) -> None:
        """Record many heartbeats, in order; the default calls :meth:`_heartbeat` for each."""
        for node, ti in zip(nodes.tolist(), t.tolist(), strict=True):
            self._heartbeat(node, ti)

    def heartbeat(self, node: int, t: float) -> None:
        """Record a heartbeat of *node* received at time *t* (seconds)."""
        self._guarded(f"on heartbeat({node}, t={t:g})", self._heartbeat, int(node), float(t))

    def heartbeats(self, nodes: ArrayLike, t: ArrayLike) -> None:
        """Record heartbeats of many nodes; *t* is one time or one per node."""
        nd = np.atleast_1d(np.asarray(nodes, np.int64))
        ts = np.broadcast_to(np.asarray(t, np.float64), nd.shape)
        when = f"on heartbeats at t={float(ts.max()) if ts.size else 0.0:g}"
        self._guarded(when, self._heartbeats, nd, ts)

    def suspected(self, now: float) -> frozenset[int]:
        """Nodes suspected at time *now*."""
        return self._guarded(f"at t={now:g}", self._suspected, float(now))

    def phi(self, node: int, now: float) -> float:
        """Suspicion level of *node* at time *now*: 0 for none, larger for stronger suspicion."""
        return float(self._guarded(f"at t={now:g}", self._phi, int(node), float(now)))

    def suspect_at(self, node: int) -> float:
        """When *node* will be suspected if it sends no further heartbeat (``inf``: never heard of)."""
        return float(self._guarded(f"in suspect_at({node})", self._suspect_at, int(node)))

    def suspect_ats(self, nodes: ArrayLike) -> F64:
        """:meth:`suspect_at` of many nodes at once, in their order (the same numbers, one call).

        Raises
        ------
        PolicyError
            The policy raised or returned other than one time per node.
        """
        nd = np.atleast_1d(np.asarray(nodes, np.int64))
        out = np.asarray(self._guarded(f"in suspect_ats({nd.size} nodes)", self._suspect_ats, nd), np.float64)
        if out.shape != nd.shape:
            raise PolicyError(
                f"{self!r}: suspect_ats must return one time per node, shape {nd.shape} (got {out.shape})"
            )
        return out

    def forget(self, node: int) -> None:
        """Stop tracking *node* (decommissioned); a later heartbeat starts afresh."""
        self._guarded(f"in forget({node})", self._forget, int(node))


class OffloadingPolicy(Policy, ABC):
    """Decide where a device's task runs: on the device, at the edge, or in the cloud."""

    @abstractmethod
    def _decide(self, view: ClusterView, task: TaskClass, device: DeviceState) -> OffloadTarget:
        """Return ``"device"``, ``"edge"`` or ``"cloud"``."""

    def decide(self, view: ClusterView, task: TaskClass, device: DeviceState) -> OffloadTarget:
        """Where *task* from *device* runs.

        Raises
        ------
        PolicyError
            The policy raised or returned something else than ``"device"``, ``"edge"``, ``"cloud"``.
        """
        out = self._guarded(f"at t={view.now:g}", self._decide, view, task, device)
        if out not in OFFLOAD_TARGETS:
            raise PolicyError(
                f"{self!r} at t={view.now:g}: must return 'device', 'edge' or 'cloud' (got {out!r})"
            )
        return out


class CachePolicy(Policy, ABC):
    """A content cache at one site: which items it holds.

    :meth:`lookup` answers hit or miss (and updates recency); :meth:`admit` offers an item after a
    miss. :meth:`request` does both and counts hits and misses.
    """

    hits: int = 0
    misses: int = 0

    @abstractmethod
    def _lookup(self, item: Hashable) -> bool:
        """Whether *item* is cached; may update the policy's bookkeeping."""

    @abstractmethod
    def _admit(self, item: Hashable) -> None:
        """Offer *item* for caching (after a miss); may evict."""

    @abstractmethod
    def __contains__(self, item: object) -> bool:
        """Whether *item* is cached, without touching recency."""

    @abstractmethod
    def __len__(self) -> int:
        """Number of cached items."""

    def lookup(self, item: Hashable) -> bool:
        """Whether *item* is a hit."""
        return bool(self._guarded(f"on lookup({item!r})", self._lookup, item))

    def admit(self, item: Hashable) -> None:
        """Offer *item* for caching."""
        self._guarded(f"on admit({item!r})", self._admit, item)

    def request(self, item: Hashable) -> bool:
        """Look *item* up, admit it on a miss, count the result; return whether it was a hit."""
        hit = self.lookup(item)
        if hit:
            self.hits += 1
        else:
            self.misses += 1
            self.admit(item)
        return hit

    @property
    def hit_ratio(self) -> float:
        """Hits over requests counted by :meth:`request` (NaN before any)."""
        n = self.hits + self.misses
        return self.hits / n if n else float("nan")


def usable(view: ClusterView, service: int, candidates: I64) -> NDArray[np.bool_]:
    """Mask of candidates that are up and run a replica of *service*."""
    return np.asarray(view.site_up[candidates] & (view.replicas[service, candidates] > 0), bool)


def per_replica_load(view: ClusterView, service: int, sites: I64) -> F64:
    """Queue length per replica of *service* at *sites*."""
    return np.asarray(
        view.queue_len[service, sites] / np.maximum(view.replicas[service, sites], 1), np.float64
    )
