"""Output of the event kernel: :class:`KernelMetrics` and :func:`read_metrics` (public via ``kernel``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from edgescale.sim import _kernel_core as core
from edgescale.sim._kernel_state import _F64, _I32, KernelState
from edgescale.sim.histogram import LogHistogram

__all__ = ["KernelMetrics", "read_metrics"]


@dataclass(frozen=True, eq=False)
class KernelMetrics:
    """Statistics over the measurement window ``[t_start, t_end]`` (see :func:`read_metrics`).

    Per-application arrays have shape (n_apps,), per-station arrays (n_stations,). Arrays ending in ``_s``
    without ``_sum`` are time integrals over the window (``station_busy_s`` integrates the number of busy
    servers, ``station_in_system_s`` the number of requests inside).

    Notes
    -----
    Little's law holds per station as an identity of the window,
    ``station_in_system_s == station_residence_done_s + station_residence_open_s`` (up to rounding), and in
    the mean as ``mean_in_system ~= throughput_per_s * mean_sojourn_s`` up to boundary effects.
    Requests lost when a station goes down count in ``station_drops_down`` and in ``drops_down``.
    Per-cache arrays (``cache_requests``: catalogue lookups, ``cache_hits``) count lookups made inside the
    window, by lookup time.

    Per-application counts and latencies cover the requests *created* in the window (warm-up requests
    that finish inside it are not counted): ``arrivals == completions + drops_full + drops_down + failed +
    unfinished``, where ``unfinished`` are those whose outcome is still open. :func:`~edgescale.sim.kernel.drain` closes the window
    and runs on until they have finished, which removes the bias of counting by completion.
    """

    t_start: float
    t_end: float
    arrivals: NDArray[np.int64]
    retries: NDArray[np.int64]
    completions: NDArray[np.int64]
    drops_full: NDArray[np.int64]
    drops_down: NDArray[np.int64]
    timeouts: NDArray[np.int64]
    failed: NDArray[np.int64]
    orphans_done: NDArray[np.int64]
    unfinished: NDArray[np.int64]
    latency: tuple[LogHistogram, ...]
    wait_s_sum: NDArray[np.float64]
    service_s_sum: NDArray[np.float64]
    link_s_sum: NDArray[np.float64]
    station_arrivals: NDArray[np.int64]
    station_departures: NDArray[np.int64]
    station_drops_full: NDArray[np.int64]
    station_drops_down: NDArray[np.int64]
    station_busy_s: NDArray[np.float64]
    station_in_system_s: NDArray[np.float64]
    station_servers_s: NDArray[np.float64]
    station_up_s: NDArray[np.float64]
    station_sojourn_s_sum: NDArray[np.float64]
    station_wait_s_sum: NDArray[np.float64]
    station_residence_done_s: NDArray[np.float64]
    station_residence_open_s: NDArray[np.float64]
    cache_requests: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    cache_hits: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def duration(self) -> float:
        """Length of the window."""
        return self.t_end - self.t_start

    @property
    def mean_latency_s(self) -> NDArray[np.float64]:
        """Mean end-to-end latency per application (NaN without completions)."""
        return np.array([h.mean for h in self.latency])

    @property
    def utilization(self) -> NDArray[np.float64]:
        """Busy servers over available servers per station, time-averaged (NaN with no servers)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.station_servers_s > 0, self.station_busy_s / self.station_servers_s, np.nan)

    @property
    def mean_in_system(self) -> NDArray[np.float64]:
        """Time-averaged number of requests in each station."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.station_in_system_s / self.duration

    @property
    def throughput_per_s(self) -> NDArray[np.float64]:
        """Departures per second from each station."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.station_departures / self.duration

    @property
    def mean_sojourn_s(self) -> NDArray[np.float64]:
        """Mean time from arrival to departure at each station (NaN without departures)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.station_sojourn_s_sum / self.station_departures


def read_metrics(state: KernelState, *, open_requests: bool = True) -> KernelMetrics:
    """Snapshot the statistics of the current measurement window (copies; the state is not changed).

    Parameters
    ----------
    state : KernelState
    open_requests : bool, optional
        Compute ``unfinished`` and ``station_residence_open_s``, which scan the whole request pool (default
        True). False skips the scan (both are then zeros): for a control plane that reads only counters and
        time integrals at each stop, where the scan of a large pool would cost more than the kernel's run.
    """
    ai, af = state.app, state.app.view(_F64)
    si, sw, sf = state.st, state.st.view(_I32), state.st.view(_F64)
    latency = tuple(
        LogHistogram.from_arrays(
            state.app_hist[a],
            total=af[a, core.A_LAT_SUM],
            total_sq=af[a, core.A_LAT_SUMSQ],
            min_value=af[a, core.A_LAT_MIN],
            max_value=af[a, core.A_LAT_MAX],
            lo=state.histogram_lo_s,
            hi=state.histogram_hi_s,
            resolution=state.histogram_resolution,
        )
        for a in range(ai.shape[0])
    )
    admitted = si[:, core.S_DEPARTURES] + si[:, core.S_LOST] + sw[:, core.W_N] - si[:, core.S_N_START]
    return KernelMetrics(
        t_start=state.metrics_start,
        t_end=state.now,
        arrivals=ai[:, core.A_ARRIVALS].copy(),
        retries=ai[:, core.A_RETRIES].copy(),
        completions=ai[:, core.A_COMPLETIONS].copy(),
        drops_full=ai[:, core.A_DROP_FULL].copy(),
        drops_down=ai[:, core.A_DROP_DOWN].copy(),
        timeouts=ai[:, core.A_TIMEOUTS].copy(),
        failed=ai[:, core.A_FAILED].copy(),
        orphans_done=ai[:, core.A_ORPHANS_DONE].copy(),
        unfinished=state.outstanding if open_requests else np.zeros(ai.shape[0], np.int64),
        latency=latency,
        wait_s_sum=af[:, core.A_WAIT_SUM].copy(),
        service_s_sum=af[:, core.A_SERVICE_SUM].copy(),
        link_s_sum=af[:, core.A_LINK_SUM].copy(),
        station_arrivals=admitted + si[:, core.S_DROP_FULL] + si[:, core.S_DROP_DOWN],
        station_departures=si[:, core.S_DEPARTURES].copy(),
        station_drops_full=si[:, core.S_DROP_FULL].copy(),
        station_drops_down=si[:, core.S_DROP_DOWN] + si[:, core.S_LOST],
        station_busy_s=sf[:, core.S_AREA_BUSY].copy(),
        station_in_system_s=sf[:, core.S_AREA_N].copy(),
        station_servers_s=sf[:, core.S_AREA_SERVERS].copy(),
        station_up_s=sf[:, core.S_AREA_UP].copy(),
        station_sojourn_s_sum=sf[:, core.S_SOJOURN_SUM].copy(),
        station_wait_s_sum=sf[:, core.S_WAIT_SUM].copy(),
        station_residence_done_s=sf[:, core.S_SOJOURN_SUM] + sf[:, core.S_RES_ADJ],
        station_residence_open_s=_open_residence(state) if open_requests else np.zeros(si.shape[0]),
        cache_requests=state.cache[:, core.C_REQ].copy(),
        cache_hits=state.cache[:, core.C_HITS].copy(),
    )


def _open_residence(state: KernelState) -> NDArray[np.float64]:
    rw, rf = state.req.view(_I32), state.req.view(_F64)
    loc = rw[:, core.R_LOC]
    inside = ((rw[:, core.R_STATE] & core.FL_LIVE) != 0) & (loc >= 0)
    start = np.maximum(rf[inside, core.F_ARRIVE], state.metrics_start)
    out = np.zeros(state.st.shape[0])
    np.add.at(out, loc[inside], state.now - start)
    return out
