"""``TargetUtilization``: scale replicas toward a target utilization, with hysteresis and cooldown."""

from __future__ import annotations

import math

import numpy as np

from edgescale.policies._checks import ParamError, integer, number
from edgescale.policies.base import Autoscaler, ClusterView

__all__ = ["TargetUtilization"]


class TargetUtilization(Autoscaler):
    """Keep a service's utilization near a target, acting only outside a band and not too often.

    The service's utilization ``u`` is the replica-weighted mean of ``view.utilization`` over the up
    sites running it. Inside the band ``scale_down_at <= u <= scale_up_at`` nothing changes
    (hysteresis). Outside it, the count becomes ``ceil(current * u / target_utilization)``, as
    Kubernetes' horizontal pod autoscaler computes it, clamped to ``[min_replicas, max_replicas]``.
    After a change, no further change is made for ``cooldown_s`` seconds, except to bring the count
    back within its bounds. The policy assumes its answer is applied.

    Parameters
    ----------
    target_utilization : float
        Utilization aimed for after scaling, in (0, 1].
    scale_up_at, scale_down_at : float
        Band edges: scale up above ``scale_up_at``, down below ``scale_down_at``;
        ``0 <= scale_down_at <= target_utilization <= scale_up_at``.
    cooldown_s : float
        Minimum time between two changes of one service, seconds.
    min_replicas : int
        Lower bound (>= 0).
    max_replicas : int, optional
        Upper bound (default: none).

    Examples
    --------
    >>> from edgescale.policies import ArrayClusterView
    >>> v = ArrayClusterView(site_tier=[1, 1], replicas=[[2, 2]], utilization=[[0.9, 0.95]])
    >>> a = TargetUtilization(target_utilization=0.6, scale_up_at=0.8, scale_down_at=0.3)
    >>> a.desired_replicas(v, 0, current=4)
    7
    >>> a.desired_replicas(v.replace(now=10.0), 0, current=7)  # cooling down
    7
    """

    def __init__(
        self,
        *,
        target_utilization: float = 0.6,
        scale_up_at: float = 0.8,
        scale_down_at: float = 0.3,
        cooldown_s: float = 60.0,
        min_replicas: int = 1,
        max_replicas: int | None = None,
    ) -> None:
        self.target_utilization = number("target_utilization", target_utilization, lo=0.0, lo_open=True)
        if self.target_utilization > 1.0:
            raise ParamError("target_utilization", "must be <= 1", target_utilization)
        self.scale_up_at = number("scale_up_at", scale_up_at, lo=self.target_utilization)
        self.scale_down_at = number("scale_down_at", scale_down_at, lo=0.0)
        if self.scale_down_at > self.target_utilization:
            raise ParamError("scale_down_at", "must be <= target_utilization", scale_down_at)
        self.cooldown_s = number("cooldown_s", cooldown_s, lo=0.0)
        self.min_replicas = integer("min_replicas", min_replicas, lo=0)
        self.max_replicas = None if max_replicas is None else integer("max_replicas", max_replicas, lo=1)
        if self.max_replicas is not None and self.max_replicas < self.min_replicas:
            raise ParamError("max_replicas", "must be >= min_replicas", max_replicas)
        self._last_change: dict[int, float] = {}

    def _clamp(self, n: int) -> int:
        hi = self.max_replicas if self.max_replicas is not None else n
        return max(self.min_replicas, min(n, hi))

    def utilization_of(self, view: ClusterView, service: int) -> float:
        """Replica-weighted mean utilization of *service* over up sites (NaN without replicas)."""
        rep = np.where(view.site_up, view.replicas[service], 0).astype(np.float64)
        total = rep.sum()
        return float((rep * view.utilization[service]).sum() / total) if total > 0 else float("nan")

    def _desired_replicas(self, view: ClusterView, service: int, current: int) -> int:
        u = self.utilization_of(view, service)
        want = current
        if current > 0 and not math.isnan(u) and not self.scale_down_at <= u <= self.scale_up_at:
            # NOTE: the small tolerance keeps ceil(4 * 0.6 / 0.6) at 4 despite rounding
            want = math.ceil(current * u / self.target_utilization - 1e-9)
        want = self._clamp(want)
        last = self._last_change.get(service)
        cooling = last is not None and view.now - last < self.cooldown_s
        if want != current and self._clamp(current) == current and cooling:
            want = current
        if want != current:
            self._last_change[service] = view.now
        return want
