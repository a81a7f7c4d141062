"""The offloading model: devices, options (device, edge sites, cloud), latency, energy and cost."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

from edgescale.errors import InfeasibleError, ModelAssumptionError
from edgescale.optimize._offload_common import as_array, as_int_array

__all__ = ["OffloadProblem", "local_energy_j", "local_time_ms", "shannon_rate_bps"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]
_W = "OffloadProblem"


def shannon_rate_bps(bandwidth_hz: ArrayLike, snr_db: ArrayLike) -> F64:
    """Shannon capacity ``B log2(1 + SNR)`` of a channel, bits per second.

    Parameters
    ----------
    bandwidth_hz : array_like
        Channel bandwidth ``B``, Hz (> 0).
    snr_db : array_like
        Signal-to-noise ratio, dB (``SNR = 10 ** (snr_db / 10)``).

    References
    ----------
    .. [1] Y. Mao et al., "A survey on mobile edge computing: the communication perspective",
       IEEE Commun. Surveys Tuts. 19(4), 2017, eq. (2).

    Examples
    --------
    >>> float(shannon_rate_bps(1e6, 0.0))   # SNR 1: one bit per second per hertz
    1000000.0
    >>> round(float(shannon_rate_bps(10e6, 20.0)) / 1e6, 3)   # 10 MHz at 20 dB
    66.582
    """
    b = as_array(
        "shannon_rate_bps", "bandwidth_hz", bandwidth_hz, np.shape(bandwidth_hz), lo=0.0, lo_open=True
    )
    snr = 10.0 ** (np.asarray(snr_db, np.float64) / 10.0)
    return np.asarray(b * np.log2(1.0 + snr), np.float64)


def local_time_ms(cycles: ArrayLike, frequency_hz: ArrayLike) -> F64:
    """Time to run ``cycles`` CPU cycles at ``frequency_hz``: ``1e3 * cycles / f`` ms.

    Examples
    --------
    >>> float(local_time_ms(1e9, 1e9))
    1000.0
    """
    return np.asarray(1e3 * np.asarray(cycles, np.float64) / np.asarray(frequency_hz, np.float64))


def local_energy_j(cycles: ArrayLike, frequency_hz: ArrayLike, kappa: ArrayLike) -> F64:
    """CPU energy of ``cycles`` cycles at ``frequency_hz``: ``kappa * cycles * f**2`` joules.

    ``kappa`` is the effective switched capacitance (J per cycle per Hz², about 1e-28 to 1e-27 for
    mobile CPUs); the dynamic power is then ``kappa * f**3`` watts.

    References
    ----------
    .. [1] Y. Mao et al., 2017 (see :func:`shannon_rate_bps`), eq. (1); T. D. Burd and R. W. Brodersen,
       "Processor design for portable systems", J. VLSI Signal Process. 13, 1996.

    Examples
    --------
    >>> float(local_energy_j(1e9, 1e9, 1e-27))   # 1 Gcycle at 1 GHz
    1.0
    """
    f = np.asarray(frequency_hz, np.float64)
    return np.asarray(np.asarray(kappa, np.float64) * np.asarray(cycles, np.float64) * f * f)


@dataclass(frozen=True, eq=False)
class OffloadProblem:
    """One task per device, to run on the device (option 0), edge site ``k`` (option ``k + 1``) or
    the cloud (option ``K + 1``). Build it with :meth:`build`; every array is per device ``(n,)``
    except ``rtt_ms`` ``(n, K + 1)`` (edge sites, then the cloud) and the per-edge arrays ``(K,)``.

    Edge site ``k`` shares ``edge_hz[k]`` cycles per second equally among the ``n_k`` tasks it runs
    (processor sharing), each task getting at most ``edge_core_hz[k]`` (one core), so a task of ``c``
    cycles takes ``1e3 * c * g_k(n_k)`` ms there, ``g_k(n) = max(1 / edge_core_hz[k], n / edge_hz[k])``; it
    takes at most ``edge_slots[k]`` tasks. The cloud gives each task ``cloud_hz``.
    """

    cycles: F64
    input_bits: F64
    output_bits: F64
    deadline_ms: F64
    device_hz: F64
    kappa: F64
    tx_w: F64
    rx_w: F64
    idle_w: F64
    uplink_bps: F64
    downlink_bps: F64
    rtt_ms: F64
    edge_hz: F64
    edge_core_hz: F64
    edge_slots: I64
    cloud_hz: float
    latency_weight: F64
    energy_weight: F64
    extra_cost: F64

    @classmethod
    def build(
        cls,
        *,
        cycles: ArrayLike,
        device_hz: ArrayLike,
        rtt_ms: ArrayLike,
        edge_hz: ArrayLike,
        input_bits: ArrayLike = 0.0,
        output_bits: ArrayLike = 0.0,
        deadline_ms: ArrayLike = np.inf,
        kappa: ArrayLike = 1e-27,
        tx_w: ArrayLike = 1.0,
        rx_w: ArrayLike = 0.5,
        idle_w: ArrayLike = 0.05,
        uplink_bps: ArrayLike = 20e6,
        downlink_bps: ArrayLike = 50e6,
        edge_slots: ArrayLike | None = None,
        edge_core_hz: ArrayLike = np.inf,
        cloud_hz: float = 10e9,
        latency_weight: ArrayLike = 1.0,
        energy_weight: ArrayLike = 0.0,
        extra_cost: ArrayLike = 0.0,
    ) -> OffloadProblem:
        """Check and broadcast the inputs (devices from ``cycles``, edge sites from ``edge_hz``).

        ``latency_weight`` is cost per ms (> 0) and ``energy_weight`` cost per joule of device energy;
        a device's cost is ``latency_weight * latency_ms + energy_weight * energy_j``. ``extra_cost``
        ``(n, K + 2)`` is added per option (e.g. migration costs, see :func:`reallocation_cost`).
        """
        n = int(np.size(cycles))
        k = int(np.size(edge_hz))
        if n == 0:
            raise ModelAssumptionError(f"{_W}: cycles must name at least one device (got {cycles!r})")
        dev = (n,)
        slots = np.full(k, n) if edge_slots is None else edge_slots
        return cls(
            cycles=as_array(_W, "cycles", np.ravel(cycles), dev, lo=0.0, lo_open=True),
            input_bits=as_array(_W, "input_bits", input_bits, dev, lo=0.0),
            output_bits=as_array(_W, "output_bits", output_bits, dev, lo=0.0),
            deadline_ms=as_array(_W, "deadline_ms", deadline_ms, dev, lo=0.0, lo_open=True, allow_inf=True),
            device_hz=as_array(_W, "device_hz", device_hz, dev, lo=0.0, lo_open=True),
            kappa=as_array(_W, "kappa", kappa, dev, lo=0.0),
            tx_w=as_array(_W, "tx_w", tx_w, dev, lo=0.0),
            rx_w=as_array(_W, "rx_w", rx_w, dev, lo=0.0),
            idle_w=as_array(_W, "idle_w", idle_w, dev, lo=0.0),
            uplink_bps=as_array(_W, "uplink_bps", uplink_bps, dev, lo=0.0, lo_open=True, allow_inf=True),
            downlink_bps=as_array(
                _W, "downlink_bps", downlink_bps, dev, lo=0.0, lo_open=True, allow_inf=True
            ),
            rtt_ms=as_array(_W, "rtt_ms", rtt_ms, (n, k + 1), lo=0.0, allow_inf=True),
            edge_hz=as_array(_W, "edge_hz", np.ravel(edge_hz), (k,), lo=0.0, lo_open=True),
            edge_core_hz=as_array(
                _W, "edge_core_hz", edge_core_hz, (k,), lo=0.0, lo_open=True, allow_inf=True
            ),
            edge_slots=as_int_array(_W, "edge_slots", slots, (k,)),
            cloud_hz=float(as_array(_W, "cloud_hz", cloud_hz, (), lo=0.0, lo_open=True)),
            latency_weight=as_array(_W, "latency_weight", latency_weight, dev, lo=0.0, lo_open=True),
            energy_weight=as_array(_W, "energy_weight", energy_weight, dev, lo=0.0),
            extra_cost=as_array(_W, "extra_cost", extra_cost, (n, k + 2), lo=0.0),
        )

    @property
    def n_devices(self) -> int:
        """Number of devices (one task each)."""
        return len(self.cycles)

    @property
    def n_edges(self) -> int:
        """Number of edge sites ``K``."""
        return len(self.edge_hz)

    @property
    def cloud(self) -> int:
        """Option index of the cloud, ``K + 1``."""
        return self.n_edges + 1

    @cached_property
    def _parts(self) -> tuple[F64, F64]:
        """Latency (ms) and device energy (J) per option, leaving out the edge execution time."""
        n, k = self.n_devices, self.n_edges
        up_ms = 1e3 * self.input_bits / self.uplink_bps
        down_ms = 1e3 * self.output_bits / self.downlink_bps
        lat = np.empty((n, k + 2))
        en = np.empty((n, k + 2))
        lat[:, 0] = local_time_ms(self.cycles, self.device_hz)
        en[:, 0] = local_energy_j(self.cycles, self.device_hz, self.kappa)
        wait_ms = self.rtt_ms.copy()
        wait_ms[:, k] += 1e3 * self.cycles / self.cloud_hz
        lat[:, 1:] = (up_ms + down_ms)[:, None] + wait_ms
        en[:, 1:] = (
            (self.tx_w * up_ms + self.rx_w * down_ms)[:, None] + self.idle_w[:, None] * wait_ms
        ) / 1e3
        return lat, en

    def seconds_per_cycle(self, tasks: ArrayLike) -> F64:
        """``g_k(n) = max(1 / edge_core_hz, n / edge_hz)`` for ``tasks`` of shape ``(K,)`` or ``(K, T)``."""
        n = np.asarray(tasks, np.float64)
        shape = (-1,) + (1,) * (n.ndim - 1)
        inv_core = (1.0 / self.edge_core_hz).reshape(shape)
        return np.asarray(np.maximum(inv_core, n / self.edge_hz.reshape(shape)))

    @cached_property
    def exec_ms_alone(self) -> F64:
        """``(n, K)``: ms device ``i``'s task takes at edge ``k`` when alone there (``1e3 c g_k(1)``)."""
        return np.asarray(1e3 * self.cycles[:, None] * self.seconds_per_cycle(np.ones(self.n_edges))[None, :])

    @cached_property
    def fixed_cost(self) -> F64:
        """``(n, K + 2)``: the cost of each option leaving out the edge congestion term."""
        lat, en = self._parts
        # a zero weight ignores its term even where it is infinite (an unreachable option stays +inf)
        with np.errstate(invalid="ignore"):
            lat_part = np.where(self.latency_weight[:, None] == 0, 0.0, self.latency_weight[:, None] * lat)
            en_part = np.where(self.energy_weight[:, None] == 0, 0.0, self.energy_weight[:, None] * en)
        return np.asarray(lat_part + en_part + self.extra_cost)

    @cached_property
    def congestion_weight(self) -> F64:
        """``m_i = c_i (1e3 w_t + w_e p_idle)``: device i's congestion cost at edge k is ``m_i g_k(n_k)``."""
        return np.asarray(self.cycles * (1e3 * self.latency_weight + self.energy_weight * self.idle_w))

    @cached_property
    def alone_latency_ms(self) -> F64:
        """``(n, K + 2)``: latency of each option when the task is alone at its edge site."""
        lat, _ = self._parts
        alone = lat.copy()
        alone[:, 1:-1] += self.exec_ms_alone
        return alone

    @cached_property
    def allowed(self) -> B:
        """``(n, K + 2)``: options that meet the deadline when the task is alone there and have slots."""
        alone = self.alone_latency_ms
        ok = np.isfinite(alone) & (alone <= self.deadline_ms[:, None] * (1 + 1e-12))
        ok[:, 1:-1] &= self.edge_slots[None, :] > 0
        return np.asarray(ok)

    def check_hostable(self) -> None:
        """Raise :class:`InfeasibleError` when a device has no option meeting its deadline."""
        none = ~self.allowed.any(axis=1)
        if none.any():
            i = int(np.flatnonzero(none)[0])
            best = float(self.alone_latency_ms[i].min())
            over = best - float(self.deadline_ms[i])
            raise InfeasibleError(
                f"deadline: device {i} needs {best:.4g} ms at best (alone on its fastest option), over its "
                f"{self.deadline_ms[i]:g} ms deadline by {over:.4g} ms "
                f"({int(none.sum())} devices without a feasible option)",
                constraint="deadline",
                excess=over,
            )

    def counts(self, choice: ArrayLike) -> I64:
        """Tasks per edge site ``(K,)`` for a *choice* of options."""
        c = np.asarray(choice, np.int64)
        return np.bincount(c[(c >= 1) & (c <= self.n_edges)] - 1, minlength=self.n_edges).astype(np.int64)

    def evaluate(self, choice: ArrayLike) -> tuple[F64, F64, F64]:
        """Latency (ms), device energy (J) and cost of every device for a *choice* of options."""
        c = np.asarray(choice, np.int64)
        if c.shape != (self.n_devices,) or (c < 0).any() or (c > self.cloud).any():
            raise ModelAssumptionError(
                f"{_W}.evaluate: choice must be {self.n_devices} options in 0..{self.cloud} (got {c!r})"
            )
        rows = np.arange(self.n_devices)
        lat, en = self._parts
        latency = lat[rows, c].copy()
        energy = en[rows, c].copy()
        edge = (c >= 1) & (c <= self.n_edges)
        k = c[edge] - 1
        g = self.seconds_per_cycle(self.counts(c))
        exec_ms = 1e3 * self.cycles[edge] * g[k]
        latency[edge] += exec_ms
        energy[edge] += self.idle_w[edge] * exec_ms / 1e3
        cost = self.latency_weight * latency + self.energy_weight * energy + self.extra_cost[rows, c]
        return latency, energy, np.asarray(cost)

    def social_cost(self, choice: ArrayLike) -> float:
        """Total cost of a *choice* of options."""
        return float(self.evaluate(choice)[2].sum())

    def potential(self, choice: ArrayLike) -> float:
        """Weighted Rosenthal potential ``sum_i a_{i,s_i} / m_i + sum_k sum_{t <= n_k} g_k(t)``."""
        c = np.asarray(choice, np.int64)
        rows = np.arange(self.n_devices)
        n_k = self.counts(c).astype(np.float64)
        own = self.fixed_cost[rows, c] / self.congestion_weight
        congestion = 0.0
        for e in range(self.n_edges):
            t = np.arange(1, int(n_k[e]) + 1, dtype=np.float64)
            congestion += float(np.maximum(1.0 / self.edge_core_hz[e], t / self.edge_hz[e]).sum())
        return float(own.sum() + congestion)

    def _congestion_hulls(self) -> list[tuple[F64, F64]]:
        """Per edge site, the lower convex hull of ``(P_t, P_t g_k(t))``, ``P_t`` the sum of the t largest
        ``m_i`` allowed there (t up to the slots): the convex minorant of the least congestion cost at
        a given mass ``M_k``."""
        from edgescale.optimize._offload_game import lower_hull

        m = self.congestion_weight
        out = []
        for e in range(self.n_edges):
            ms = np.sort(m[self.allowed[:, e + 1]])[::-1][: int(self.edge_slots[e])]
            p = np.concatenate([[0.0], np.cumsum(ms)])
            t = np.arange(len(p), dtype=np.float64)
            phi = p * np.maximum(1.0 / self.edge_core_hz[e], t / self.edge_hz[e])
            out.append(lower_hull(p, phi))
        return out

    def lower_bound(self, choice: ArrayLike | None = None, *, iterations: int = 20) -> float:
        """A proven lower bound on the least total cost (congestion deadlines relaxed).

        Site k's congestion cost ``M_k g_k(n_k)`` (``M_k = sum_{i at k} m_i``) is at least
        ``phi_k(M_k)``, the least over sets of at most ``slots_k`` devices of that mass, which is at
        least its convex minorant ``h_k`` (the lower hull of ``(P_t, P_t g_k(t))``, ``P_t`` the sum of
        the t largest ``m_i``). For every slope ``s``, ``h_k(M) >= s M - h_k*(s)`` (Fenchel), so
        ``LB(s) = sum_i min_j (a_ij + s_j m_i) - sum_k h_k*(s_k)`` bounds the optimum. Slopes start at
        ``g_k(1)`` (every device alone at its best option) and at the hull's slopes at ``choice``'s
        masses, and move halfway to the slopes at the masses each ``LB(s)`` picks; the best bound
        seen is returned.
        """
        n_opt = self.n_edges + 2
        a = np.where(self.allowed, self.fixed_cost, np.inf)
        m = self.congestion_weight
        hulls = self._congestion_hulls()
        g1 = self.seconds_per_cycle(np.ones(self.n_edges))

        def slope(mass: F64) -> F64:
            out = g1.copy()
            for e, (hx, hy) in enumerate(hulls):
                if len(hx) >= 2:
                    h = int(np.clip(np.searchsorted(hx, mass[e]), 1, len(hx) - 1))
                    out[e] = (hy[h] - hy[h - 1]) / (hx[h] - hx[h - 1])
            return out

        def conj(sv: F64) -> tuple[float, F64]:
            """``sum_k h_k*(s_k)`` and the masses attaining it (a supergradient piece)."""
            total, arg = 0.0, np.zeros(self.n_edges)
            for e, (hx, hy) in enumerate(hulls):
                v = sv[e] * hx - hy
                h = int(v.argmax())
                if v[h] > 0:
                    total += float(v[h])
                    arg[e] = hx[h]
            return total, arg

        def mass_of(pick: I64) -> F64:
            edge = (pick >= 1) & (pick <= self.n_edges)
            return np.asarray(
                np.bincount(pick[edge] - 1, weights=m[edge], minlength=self.n_edges), np.float64
            )

        def value(sv: F64) -> tuple[float, F64]:
            add = np.zeros(n_opt)
            add[1:-1] = sv
            cost = a + m[:, None] * add[None, :]
            pick = cost.argmin(axis=1)
            c, arg = conj(sv)
            return float(cost[np.arange(self.n_devices), pick].sum()) - c, mass_of(pick) - arg

        upper = math.inf if choice is None else self.social_cost(np.asarray(choice, np.int64))
        starts = [g1.copy()]
        if choice is not None:
            starts.append(slope(mass_of(np.asarray(choice, np.int64))))
        best = -np.inf
        for sv in starts:
            for _ in range(max(int(iterations), 1)):
                lb, grad = value(sv)
                best = max(best, lb)
                norm = float(grad @ grad)
                if norm <= 0:
                    break
                # Polyak step towards the best known cost (or a 10% improvement) along the supergradient
                target = upper if math.isfinite(upper) else abs(best) * 1.1 + 1e-12
                sv = np.maximum(sv + max(target - lb, 0.0) / norm * grad, 0.0)
        return best

    def with_extra_cost(self, extra_cost: ArrayLike) -> OffloadProblem:
        """The same problem with ``extra_cost`` ``(n, K + 2)`` added to each option's cost."""
        add = as_array(_W, "extra_cost", extra_cost, self.extra_cost.shape, lo=0.0)
        fields = {f: getattr(self, f) for f in self.__dataclass_fields__}
        fields["extra_cost"] = self.extra_cost + add
        return OffloadProblem(**fields)
