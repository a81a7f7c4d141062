"""``ArrayClusterView``: a :class:`~edgescale.policies.base.ClusterView` over numpy arrays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from edgescale.model.schema import TIERS
from edgescale.policies._checks import frozen

if TYPE_CHECKING:
    from edgescale.model.arrays import SystemArrays

__all__ = ["SERVING_TIER_MASK", "ArrayClusterView", "path_latency_matrix"]

F64 = NDArray[np.float64]
SERVING_TIER_MASK = sum(1 << TIERS.index(t) for t in ("edge", "aggregation", "cloud"))

_SITE_FIELDS: dict[str, tuple[Any, Any]] = {
    # name: (dtype, default fill)
    "site_cpu_cores": (np.float64, 1.0),
    "site_cpu_speed": (np.float64, 1.0),
    "site_up": (np.bool_, True),
    "site_load": (np.float64, 0.0),
    "site_region": (np.int32, -1),
    "site_domain": (np.int32, -1),
}
_SERVICE_FIELDS: dict[str, tuple[Any, Any]] = {
    "service_cpu_cores": (np.float64, 1.0),
    "service_tier_mask": (np.uint8, SERVING_TIER_MASK),
}
_MATRIX_FIELDS: dict[str, tuple[Any, Any]] = {
    "replicas": (np.int64, 0),
    "queue_len": (np.float64, 0.0),
    "utilization": (np.float64, 0.0),
}


class ArrayClusterView:
    """A read-only cluster view over numpy arrays (tests, the twin, parity checks).

    Arrays are held as read-only views, not copies, when they already have the right dtype: a
    framework may keep the writable originals and update them between policy calls, while a policy
    that tries to write through the view gets ``ValueError: assignment destination is read-only``.
    Attributes cannot be reassigned; :meth:`replace` returns a new view.

    Parameters
    ----------
    site_tier : array_like of int, shape (n_sites,)
        Tier index per site (0 device, 1 edge, 2 aggregation, 3 cloud).
    latency_ms : array_like of float, shape (n_sites, n_sites), optional
        One-way path latency between sites (``inf``: unreachable). Default: all zero.
    now : float
        Current time, seconds.
    n_services : int, optional
        Number of services, when no per-service array says it (default 0).
    site_ids, service_ids : sequence of str, optional
        Names; default ``site-<k>`` and ``service-<k>``.
    **arrays
        Any of ``site_cpu_cores`` (default 1), ``site_cpu_speed`` (1), ``site_up`` (True),
        ``site_load`` (0), ``site_region`` (-1), ``site_domain`` (-1), ``service_cpu_cores`` (1),
        ``service_tier_mask`` (edge, aggregation and cloud), and per-(service, site) ``replicas``,
        ``queue_len``, ``utilization`` (0).

    Examples
    --------
    >>> v = ArrayClusterView(site_tier=[1, 1, 3], replicas=[[1, 0, 2]], site_up=[True, False, True])
    >>> v.n_sites, v.n_services, v.site_ids[2]
    (3, 1, 'site-2')
    >>> v.replicas[0, 1] = 5
    Traceback (most recent call last):
    ...
    ValueError: assignment destination is read-only
    """

    n_sites: int
    n_services: int
    now: float
    site_ids: tuple[str, ...]
    service_ids: tuple[str, ...]
    site_tier: NDArray[np.int8]
    site_cpu_cores: F64
    site_cpu_speed: F64
    site_up: NDArray[np.bool_]
    site_load: F64
    site_region: NDArray[np.int32]
    site_domain: NDArray[np.int32]
    service_cpu_cores: F64
    service_tier_mask: NDArray[np.uint8]
    replicas: NDArray[np.int64]
    queue_len: F64
    utilization: F64
    latency_matrix_ms: F64

    def __init__(
        self,
        *,
        site_tier: ArrayLike,
        latency_ms: ArrayLike | None = None,
        now: float = 0.0,
        n_services: int | None = None,
        site_ids: Sequence[str] | None = None,
        service_ids: Sequence[str] | None = None,
        **arrays: ArrayLike,
    ) -> None:
        unknown = set(arrays) - set(_SITE_FIELDS) - set(_SERVICE_FIELDS) - set(_MATRIX_FIELDS)
        if unknown:
            raise TypeError(f"ArrayClusterView: unknown array(s) {sorted(unknown)}")
        tier = frozen(np.asarray(site_tier, np.int8))
        n = len(tier)
        m = _count_services(n_services, service_ids, arrays)
        put = self._put
        put("now", float(now))
        put("n_sites", n)
        put("n_services", m)
        put("site_tier", tier)
        put("site_ids", tuple(site_ids) if site_ids is not None else tuple(f"site-{k}" for k in range(n)))
        put(
            "service_ids",
            tuple(service_ids) if service_ids is not None else tuple(f"service-{k}" for k in range(m)),
        )
        lat = np.zeros((n, n)) if latency_ms is None else np.asarray(latency_ms, np.float64)
        put("latency_matrix_ms", _shaped("latency_ms", frozen(lat), (n, n)))
        for fields, shape in ((_SITE_FIELDS, (n,)), (_SERVICE_FIELDS, (m,)), (_MATRIX_FIELDS, (m, n))):
            for name, (dtype, fill) in fields.items():
                given = arrays.get(name)
                a = np.full(shape, fill, dtype) if given is None else np.asarray(given, dtype)
                put(name, _shaped(name, frozen(a), shape))
        if len(self.site_ids) != n or len(self.service_ids) != m:
            raise ValueError("ArrayClusterView: site_ids/service_ids must match the arrays' lengths")

    def _put(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"ArrayClusterView is read-only (cannot set {name!r}); use replace()")

    def __repr__(self) -> str:
        return f"ArrayClusterView(now={self.now:g}, n_sites={self.n_sites}, n_services={self.n_services})"

    def latency_ms(self, src: int, dst: int) -> float:
        """One-way path latency from site *src* to site *dst*."""
        return float(self.latency_matrix_ms[src, dst])

    def latencies(self, src: ArrayLike, dst: ArrayLike) -> F64:
        """Latency block, shape ``(len(src), len(dst))`` (a copy)."""
        s = np.atleast_1d(np.asarray(src, np.int64))
        d = np.atleast_1d(np.asarray(dst, np.int64))
        return self.latency_matrix_ms[np.ix_(s, d)]

    def replace(self, **changes: Any) -> ArrayClusterView:
        """A new view with some fields changed, e.g. ``view.replace(now=5.0, site_up=up)``."""
        kw: dict[str, Any] = {
            "site_tier": self.site_tier,
            "latency_ms": self.latency_matrix_ms,
            "now": self.now,
            "site_ids": self.site_ids,
            "service_ids": self.service_ids,
        }
        kw.update({f: getattr(self, f) for f in (*_SITE_FIELDS, *_SERVICE_FIELDS, *_MATRIX_FIELDS)})
        kw.update(changes)
        return ArrayClusterView(**kw)

    @classmethod
    def from_system(cls, arrays: SystemArrays, *, now: float = 0.0, **state: ArrayLike) -> ArrayClusterView:
        """A view of a compiled system: static arrays from *arrays*, dynamic ones from *state*.

        Latencies are minimum-latency paths over the link graph, held as a dense matrix: meant for
        systems of up to a few thousand sites.
        """
        a = arrays
        kw: dict[str, Any] = {
            "site_cpu_cores": a.site_cpu_cores,
            "site_cpu_speed": a.site_cpu_speed,
            "site_region": a.site_region,
            "site_domain": a.site_domain,
            "service_cpu_cores": a.service_cpu_cores,
            "service_tier_mask": a.service_tier_mask,
        }
        kw.update(state)
        return cls(
            site_tier=a.site_tier,
            latency_ms=path_latency_matrix(a),
            now=now,
            site_ids=a.site_ids,
            service_ids=a.service_ids,
            **kw,
        )


def path_latency_matrix(arrays: SystemArrays) -> F64:
    """All-pairs minimum-latency paths (ms) over the link graph; ``inf`` when unreachable."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    a = arrays
    n = a.n_sites
    src = np.concatenate([a.link_src, a.link_dst]).astype(np.int64)
    dst = np.concatenate([a.link_dst, a.link_src]).astype(np.int64)
    lat = np.concatenate([a.link_latency_ms, a.link_latency_ms])
    order = np.lexsort((lat, dst, src))  # keep the fastest of parallel links
    src, dst, lat = src[order], dst[order], lat[order]
    first = np.ones(len(src), bool)
    first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
    # explicitly stored zeros are edges for csgraph: zero-latency links stay links
    g = csr_matrix((lat[first], (src[first], dst[first])), shape=(n, n))
    return np.asarray(dijkstra(g, directed=True), np.float64)


def _count_services(
    n_services: int | None, service_ids: Sequence[str] | None, arrays: dict[str, ArrayLike]
) -> int:
    if n_services is not None:
        return int(n_services)
    if service_ids is not None:
        return len(service_ids)
    for name in (*_MATRIX_FIELDS, *_SERVICE_FIELDS):
        if arrays.get(name) is not None:
            return int(np.shape(arrays[name])[0])
    return 0


def _shaped(name: str, a: NDArray[Any], shape: tuple[int, ...]) -> NDArray[Any]:
    if a.shape != shape:
        raise ValueError(f"ArrayClusterView: {name} must have shape {shape} (got {a.shape})")
    return a
