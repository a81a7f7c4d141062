"""Computation offloading: run each device's task on the device, at an edge site or in the cloud.

The model (:class:`OffloadProblem`) follows the multi-user offloading literature [MYZHL17]_ [CJLF16]_:

- **Device CPU**: a task of ``c`` cycles at ``f`` Hz takes ``c / f`` seconds and ``kappa c f**2``
  joules (dynamic power ``kappa f**3``).
- **Radio**: the input (``input_bits``) is sent at ``uplink_bps`` (e.g. a Shannon rate from
  :func:`shannon_rate_bps`) drawing ``tx_w``; the output comes back at ``downlink_bps`` drawing
  ``rx_w``; the device waits at ``idle_w`` during the network round trip and the remote execution.
  These are the formulas of :func:`edgescale.policies.offloading.estimate_offloading` (the runtime
  policy), with the device CPU power written as ``kappa f**3``.
- **Edge sites** share ``edge_hz[k]`` cycles per second equally among the tasks they run (processor
  sharing), each task getting at most ``edge_core_hz[k]`` (one core), and take at most
  ``edge_slots[k]`` tasks; the **cloud** gives each task ``cloud_hz``.

A device's cost is ``latency_weight * latency_ms + energy_weight * energy_j`` (plus any
``extra_cost``, e.g. migration). :func:`offload_optimal` minimises the total cost exactly (HiGHS MILP)
subject to edge slots and deadlines; :func:`offload_best_response` lets each device best-respond to
the edge congestion until no device can improve (a Nash equilibrium) and reports the price of
anarchy; :func:`reallocation_cost` and :func:`offload_resolve` re-decide after devices move, trading
the migration of task state against staying.

References
----------
.. [MYZHL17] Y. Mao, C. You, J. Zhang, K. Huang, K. B. Letaief, "A survey on mobile edge computing:
   the communication perspective", IEEE Commun. Surveys Tuts. 19(4), 2017.
.. [CJLF16] X. Chen, L. Jiao, W. Li, X. Fu, "Efficient multi-user computation offloading for
   mobile-edge cloud computing", IEEE/ACM Trans. Netw. 24(5), 2016.
.. [R73] R. W. Rosenthal, "A class of games possessing pure-strategy Nash equilibria",
   Int. J. Game Theory 2, 1973.
.. [MS96] D. Monderer, L. S. Shapley, "Potential games", Games Econ. Behav. 14, 1996.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from edgescale.errors import InfeasibleError, ModelAssumptionError
from edgescale.model.plan import OffloadEntry
from edgescale.optimize._offload_common import as_array, as_int_array, gap_of
from edgescale.optimize._offload_game import best_response_dynamics, improving_moves
from edgescale.optimize._offload_milp import check_offload_milp_size, solve_offload_milp
from edgescale.optimize._offload_model import OffloadProblem, local_energy_j, local_time_ms, shannon_rate_bps
from edgescale.optimize._offload_scenario import REFERENCE_HZ, ScenarioOffload, offload_problem_from_scenario

__all__ = [
    "REFERENCE_HZ",
    "OffloadProblem",
    "OffloadResult",
    "Reallocation",
    "ScenarioOffload",
    "local_energy_j",
    "local_time_ms",
    "offload_best_response",
    "offload_optimal",
    "offload_problem_from_scenario",
    "offload_resolve",
    "reallocation_cost",
    "shannon_rate_bps",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
REL_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class OffloadResult:
    """An offloading decision and how good it is.

    Attributes
    ----------
    choice : ndarray of int64, shape (n,)
        Option per device: 0 on the device, ``k + 1`` at edge site ``k``, ``K + 1`` in the cloud.
    latency_ms, energy_j, cost : ndarray, shape (n,)
        Per device, under the decision.
    objective : float
        Total cost.
    bound : float
        Proven lower bound on the optimal total cost.
    gap : float
        ``(objective - bound) / objective``.
    status : str
        ``"optimal"`` (proven), ``"time_limit"``, ``"feasible"`` or ``"heuristic"``.
    solve_seconds : float
    method : str
        ``"milp"`` or ``"best_response"``.
    equilibrium : bool
        No device can lower its own cost by more than a relative 1e-9 by moving alone (capacity allowing).
    rounds, moves : int
        Best-response rounds and moves (0 for the MILP).
    price_of_anarchy : float or None
        ``objective / optimum`` when an optimum was given (an upper bound on the true ratio if that
        optimum was not proven; below 1 is possible when the equilibrium breaks deadlines the
        optimum keeps).
    deadline_violations : int
        Devices over their deadline (the game does not enforce deadlines under congestion).
    moved : int
        Devices whose option differs from ``previous`` (re-solves only).
    """

    choice: I64
    latency_ms: F64
    energy_j: F64
    cost: F64
    objective: float
    bound: float
    gap: float
    status: str
    solve_seconds: float
    method: str
    equilibrium: bool = False
    rounds: int = 0
    moves: int = 0
    price_of_anarchy: float | None = None
    deadline_violations: int = 0
    moved: int = 0

    def shares(self, n_edges: int) -> dict[str, float]:
        """Fractions of devices on the device, at the edge and in the cloud."""
        c = self.choice
        n = max(len(c), 1)
        return {
            "device": float(np.count_nonzero(c == 0) / n),
            "edge": float(np.count_nonzero((c >= 1) & (c <= n_edges)) / n),
            "cloud": float(np.count_nonzero(c == n_edges + 1) / n),
        }

    def plan_entries(
        self, n_edges: int, device_group: ArrayLike, group_ids: list[str]
    ) -> tuple[OffloadEntry, ...]:
        """The plan's ``offload`` section: shares per device group (``device_group[i]`` indexes ``group_ids``)."""
        g = np.asarray(device_group, np.int64)
        out = []
        for k, name in enumerate(group_ids):
            sel = g == k
            if sel.any():
                c = self.choice[sel]
                n = float(len(c))
                dev = float(np.count_nonzero(c == 0) / n)
                edge = float(np.count_nonzero((c >= 1) & (c <= n_edges)) / n)
                cloud = float(np.count_nonzero(c == n_edges + 1) / n)
                out.append(OffloadEntry(group=name, device=dev, edge=edge, cloud=cloud))
        return tuple(out)

    def to_dict(self, *, per_device: bool = False) -> dict[str, Any]:
        """Summary as JSON-ready values (``per_device`` adds the choice of every device)."""
        out: dict[str, Any] = {
            "method": self.method,
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound if math.isfinite(self.bound) else None,
            "gap": self.gap if math.isfinite(self.gap) else None,
            "solve_seconds": self.solve_seconds,
            "equilibrium": self.equilibrium,
            "rounds": self.rounds,
            "moves": self.moves,
            "price_of_anarchy": self.price_of_anarchy,
            "deadline_violations": self.deadline_violations,
            "moved": self.moved,
            "mean_latency_ms": float(self.latency_ms.mean()),
            "total_energy_j": float(self.energy_j.sum()),
        }
        if per_device:
            out["choice"] = self.choice.tolist()
        return out


def _finish(
    p: OffloadProblem, choice: I64, *, bound: float, status: str, seconds: float, method: str, **kw: Any
) -> OffloadResult:
    lat, en, cost = p.evaluate(choice)
    objective = float(cost.sum())
    bound = min(bound, objective)
    a, m, inv_f, inv_core = p.fixed_cost, p.congestion_weight, 1.0 / p.edge_hz, 1.0 / p.edge_core_hz
    eq = improving_moves(a, m, inv_f, inv_core, p.edge_slots, p.allowed, choice, REL_TOL) == 0
    late = int(np.count_nonzero(lat > p.deadline_ms * (1 + 1e-9)))
    return OffloadResult(
        choice,
        lat,
        en,
        cost,
        objective,
        bound,
        gap_of(objective, bound),
        status,
        seconds,
        method,
        equilibrium=eq,
        deadline_violations=late,
        **kw,
    )


def offload_best_response(
    problem: OffloadProblem,
    *,
    optimum: OffloadResult | None = None,
    start: ArrayLike | None = None,
    seed: int | np.random.Generator | None = 0,
    max_rounds: int = 1000,
) -> OffloadResult:
    """Decentralised offloading: devices best-respond to edge congestion until none can improve.

    Devices, in a random order (from ``seed``), move one at a time to the option of least cost given
    where the others are (an edge site only if it has a free slot). Each round costs O(n (K + 2)).

    Parameters
    ----------
    problem : OffloadProblem
    optimum : OffloadResult, optional
        A centralised solution (e.g. from :func:`offload_optimal`): gives the price of anarchy, and
        its bound is used when the equilibrium meets every deadline. The bound is otherwise
        :meth:`OffloadProblem.lower_bound` (which relaxes the deadlines under congestion).
    start : array_like of int, optional
        Initial options; by default every device first picks its best response in turn.
    seed : int or Generator, optional
        Order of the devices.
    max_rounds : int
        Stop after this many rounds (``equilibrium`` then tells whether one was reached).

    Returns
    -------
    OffloadResult
        ``status`` is ``"heuristic"`` unless the objective meets the bound (``"optimal"``).

    Raises
    ------
    InfeasibleError
        A device has no option meeting its deadline, or the edge slots cannot take every device
        that can only run at the edge.

    Notes
    -----
    Device i's cost at edge k is ``a_ik + m_i g_k(n_k)`` with ``m_i = c_i (1e3 w_t + w_e p_idle)`` and
    ``g_k(n) = max(1 / edge_core_hz[k], n / edge_hz[k])`` (seconds per cycle), and ``a_ij`` at the
    other options. Dividing by ``m_i`` gives a congestion game with player-specific constants, whose
    Rosenthal potential [R73]_ ``Phi = sum_i a_{i,s_i} / m_i + sum_k sum_{t <= n_k} g_k(t)`` changes by exactly
    ``Delta cost_i / m_i`` when device i moves alone: a weighted potential game [MS96]_. Every move
    lowers ``Phi`` by at least a relative 1e-9 of the mover's cost and there are finitely many
    states, so the dynamics stop, at a (1e-9-approximate) Nash equilibrium; slots only remove moves.
    This is the structure used by [CJLF16]_ with wireless interference in place of edge congestion.

    Examples
    --------
    Two devices, one edge site of 2 GHz, a 1 Gcycle task each, devices at 0.5 GHz:

    >>> p = OffloadProblem.build(cycles=[1e9, 1e9], device_hz=0.5e9, rtt_ms=[[10, 100]] * 2,
    ...                          edge_hz=[2e9], cloud_hz=1e9)
    >>> r = offload_best_response(p)
    >>> r.choice.tolist(), r.latency_ms.tolist(), r.equilibrium
    ([1, 1], [1010.0, 1010.0], True)
    """
    t0 = time.perf_counter()
    problem.check_hostable()
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = problem.n_devices
    choice = (
        np.full(n, -1, np.int64)
        if start is None
        else as_int_array("offload_best_response", "start", start, (n,), lo=-1)
    )
    if (choice > problem.cloud).any():
        raise ModelAssumptionError(f"offload_best_response: start must be options in -1..{problem.cloud}")
    rows = np.arange(n)
    choice = np.where((choice >= 0) & problem.allowed[rows, np.maximum(choice, 0)], choice, -1)
    order = _placement_order(problem, rng.permutation(n).astype(np.int64))
    args = (
        problem.fixed_cost,
        problem.congestion_weight,
        1.0 / problem.edge_hz,
        1.0 / problem.edge_core_hz,
        problem.edge_slots,
        problem.allowed,
    )
    rounds, moves, unplaced = best_response_dynamics(*args, choice, order, REL_TOL, int(max_rounds))
    if unplaced:
        # the greedy placement left a device that can only run at the edge without a slot: place the
        # edge-only devices by a maximum flow (raises when no placement exists) and play on from there
        choice = _edge_only_placement(problem)
        r2, m2, unplaced = best_response_dynamics(*args, choice, order, REL_TOL, int(max_rounds))
        rounds, moves = rounds + r2, moves + m2
        if unplaced:  # pragma: no cover - placed devices never lose their option
            raise _slots_error(problem, unplaced)
    bound = problem.lower_bound(choice)
    late = np.any(problem.evaluate(choice)[0] > problem.deadline_ms * (1 + 1e-9))
    poa = None
    if optimum is not None and not late:
        # the optimum's bound holds for choices meeting every deadline, as this one does
        bound = max(bound, optimum.bound)
    res = _finish(
        problem,
        choice,
        bound=bound,
        status="heuristic",
        seconds=0.0,
        method="best_response",
        rounds=int(rounds),
        moves=int(moves),
    )
    if optimum is not None:
        poa = res.objective / optimum.objective if optimum.objective > 0 else 1.0
    status = "optimal" if res.gap <= 1e-9 and res.deadline_violations == 0 else "heuristic"
    return _replace(res, status=status, price_of_anarchy=poa, solve_seconds=time.perf_counter() - t0)


def _replace(r: OffloadResult, **kw: Any) -> OffloadResult:
    fields = {f: getattr(r, f) for f in r.__dataclass_fields__}
    fields.update(kw)
    return OffloadResult(**fields)


def _placement_order(p: OffloadProblem, order: I64) -> I64:
    """*order* re-sorted (stably) so the devices with the fewest options are placed first.

    Devices that can only run at the edge come first (fewest edge sites first): the others can always
    fall back on the device or the cloud, which have no slots.
    """
    k = p.n_edges
    n_edge = p.allowed[:, 1 : k + 1].sum(axis=1)
    has_other = p.allowed[:, 0] | p.allowed[:, -1]
    key = has_other.astype(np.int64) * (k + 3) + n_edge
    return np.asarray(order[np.argsort(key[order], kind="stable")], np.int64)


def _edge_only_placement(p: OffloadProblem) -> I64:
    """A choice placing every edge-only device within the slots (maximum flow), the others unplaced (-1).

    Raises
    ------
    InfeasibleError
        No placement of the edge-only devices fits the edge slots.
    """
    from scipy import sparse
    from scipy.sparse.csgraph import maximum_flow

    k = p.n_edges
    only = np.flatnonzero(~p.allowed[:, 0] & ~p.allowed[:, -1])
    n_only = len(only)
    # vertices: source 0, devices 1..n_only, edges n_only+1..n_only+k, sink n_only+k+1
    sink = n_only + k + 1
    d_i, e_j = np.nonzero(p.allowed[only, 1 : k + 1])
    rows = np.concatenate([np.zeros(n_only, np.int64), 1 + d_i, n_only + 1 + np.arange(k)])
    cols = np.concatenate([1 + np.arange(n_only), n_only + 1 + e_j, np.full(k, sink)])
    cap = np.concatenate(
        [np.ones(n_only + len(d_i), np.int64), np.minimum(p.edge_slots, n_only).astype(np.int64)]
    )
    graph = sparse.csr_array((cap.astype(np.int32), (rows, cols)), shape=(sink + 1, sink + 1))
    res = maximum_flow(graph, 0, sink)
    if res.flow_value < n_only:
        raise _slots_error(p, n_only - int(res.flow_value))
    flow = sparse.coo_array(res.flow)
    sel = (flow.data > 0) & (flow.row >= 1) & (flow.row <= n_only) & (flow.col > n_only) & (flow.col < sink)
    choice = np.full(p.n_devices, -1, np.int64)
    choice[only[flow.row[sel] - 1]] = flow.col[sel] - n_only
    return choice


def _slots_error(p: OffloadProblem, short: int) -> InfeasibleError:
    only_edge = ~p.allowed[:, 0] & ~p.allowed[:, -1]
    need, have = int(only_edge.sum()), int(p.edge_slots.sum())
    return InfeasibleError(
        f"edge_slots: {need} devices can meet their deadline only at an edge site, and the slots of the "
        f"edge sites each can use ({have} slots in all) can take at most {need - short} of them "
        f"(short by {short})",
        constraint="edge_slots",
        excess=float(short),
    )


def offload_optimal(
    problem: OffloadProblem, *, time_limit_s: float = 60.0, start: ArrayLike | None = None
) -> OffloadResult:
    """Centralised offloading: the least total cost, exactly, as a MILP solved with HiGHS.

    Parameters
    ----------
    problem : OffloadProblem
    time_limit_s : float
        HiGHS time limit; the status is then ``"time_limit"`` with the bound and gap it proved.
    start : array_like of int, optional
        A starting choice; by default the best-response equilibrium (also the fallback answer).

    Returns
    -------
    OffloadResult
        ``status`` ``"optimal"`` only when HiGHS proved it.

    Raises
    ------
    InfeasibleError
        A device cannot meet its deadline anywhere, the edge slots are too few, or no choice meets
        every deadline under congestion.

    Notes
    -----
    Binary ``x_ij`` picks device i's option. For edge k, binaries ``y_kt`` say that k runs exactly
    t tasks (``sum_t y_kt = 1``, t up to ``slots_k``), and continuous ``w_ikt`` that device i is
    one of them (``sum_t w_ikt = x_ik``, ``w_ikt <= y_kt``, ``sum_i w_ikt = t y_kt``), so the
    congestion cost ``sum_{i at k} m_i g_k(n_k)`` is the linear ``sum_{i,t} m_i g_k(t) w_ikt`` and a
    deadline fixes ``w_ikt = 0`` for the t that break it. This disaggregated form has a much
    tighter LP relaxation than a big-M one (5-20x faster on 20-60 devices); it has
    ``n (K + 2) + sum_k n_k T_k`` columns: for tens of devices (65 devices and 3 edge sites: 8 s of CPU
    time), :func:`offload_best_response` beyond. Over
    :data:`~edgescale.optimize._offload_common.MAX_MILP_COLUMNS` columns it raises
    :class:`~edgescale.errors.ModelAssumptionError` before building anything.

    Examples
    --------
    The example of :func:`offload_best_response`: sharing the edge costs each device 1010 ms, so
    sending one to the cloud (1100 ms) lowers the total:

    >>> p = OffloadProblem.build(cycles=[1e9, 1e9], device_hz=0.5e9, rtt_ms=[[10, 100]] * 2,
    ...                          edge_hz=[2e9], cloud_hz=1e9)
    >>> r = offload_optimal(p)
    >>> sorted(r.choice.tolist()), r.objective, r.status
    ([1, 2], 1610.0, 'optimal')
    """
    if not time_limit_s > 0:
        raise ModelAssumptionError(f"offload_optimal: time_limit_s must be > 0 (got {time_limit_s!r})")
    t0 = time.perf_counter()
    problem.check_hostable()
    check_offload_milp_size(problem)
    start_choice: I64 | None
    if start is None:
        # a warm start only: if the heuristic fails, the exact solver runs without one
        try:
            start_choice = offload_best_response(problem).choice
        except InfeasibleError as e:
            if e.constraint == "edge_slots":  # proven by a maximum flow: no choice fits the slots
                raise
            start_choice = None
    else:
        start_choice = as_int_array("offload_optimal", "start", start, (problem.n_devices,))
    res, choice = solve_offload_milp(problem, time_limit_s=time_limit_s, start=start_choice)
    if res.status == "infeasible":
        raise InfeasibleError(
            "deadline: no choice meets every deadline under edge congestion within the edge slots "
            "(every device can meet its deadline when alone; the edge sites are too slow for all at once)",
            constraint="deadline",
        )
    if choice is None:
        raise InfeasibleError(
            f"offload_optimal: HiGHS found no feasible choice in {time_limit_s:g} s (status {res.status})",
            constraint="time_limit",
        )
    status = {"optimal": "optimal", "time_limit": "time_limit"}.get(res.status, "feasible")
    out = _finish(problem, choice, bound=res.bound, status=status, seconds=0.0, method="milp")
    if status == "optimal" and out.gap > 1e-6:
        status = "feasible"
    return _replace(out, status=status, solve_seconds=time.perf_counter() - t0)


@dataclass(frozen=True, eq=False)
class Reallocation:
    """What moving each device's task from its ``previous`` option to each option costs.

    Attributes
    ----------
    latency_ms, energy_j : ndarray, shape (n, K + 2)
        Migration time and device energy (0 where the option is unchanged).
    """

    latency_ms: F64
    energy_j: F64

    def cost(self, problem: OffloadProblem) -> F64:
        """The migration cost in the problem's units (its latency and energy weights)."""
        return np.asarray(
            problem.latency_weight[:, None] * self.latency_ms + problem.energy_weight[:, None] * self.energy_j
        )


def reallocation_cost(
    problem: OffloadProblem,
    previous: ArrayLike,
    state_bits: ArrayLike,
    *,
    site_bandwidth_bps: ArrayLike = 1e9,
    site_latency_ms: ArrayLike = 0.0,
) -> Reallocation:
    """Cost of moving task state when devices change option (e.g. after they moved).

    Parameters
    ----------
    problem : OffloadProblem
        The problem at the devices' new positions (its ``rtt_ms`` and radio rates).
    previous : array_like of int, shape (n,)
        Option each device used before (-1: none, nothing to move).
    state_bits : array_like, shape (n,)
        State of each task that must follow it.
    site_bandwidth_bps, site_latency_ms : array_like, shape (K + 1, K + 1)
        Between the edge sites and the cloud (last index), for state moved site to site.

    Returns
    -------
    Reallocation

    Notes
    -----
    From site ``p`` to site ``q``: ``1e3 s / bw[p, q] + lat[p, q]`` ms, no device energy. From the
    device to a site ``q``: upload ``1e3 s / uplink + rtt[q] / 2`` ms at ``tx_w``. From a site ``p`` to
    the device: download ``1e3 s / downlink + rtt[p] / 2`` ms at ``rx_w``.

    Examples
    --------
    A 10 Mbit state moved from edge 0 to edge 1 over 100 Mbit/s with 5 ms latency, or pulled to the
    device over a 50 Mbit/s downlink with a 10 ms round trip to edge 0:

    >>> p = OffloadProblem.build(cycles=1e9, device_hz=1e9, rtt_ms=[[10, 10, 100]], edge_hz=[5e9, 5e9])
    >>> r = reallocation_cost(p, [1], 10e6, site_bandwidth_bps=100e6, site_latency_ms=5.0)
    >>> r.latency_ms.tolist(), r.energy_j.tolist()
    ([[205.0, 0.0, 105.0, 105.0]], [[0.1, 0.0, 0.0, 0.0]])
    """
    n, k = problem.n_devices, problem.n_edges
    prev = as_int_array("reallocation_cost", "previous", previous, (n,), lo=-1)
    s = as_array("reallocation_cost", "state_bits", state_bits, (n,), lo=0.0)
    bw = as_array(
        "reallocation_cost",
        "site_bandwidth_bps",
        site_bandwidth_bps,
        (k + 1, k + 1),
        lo=0.0,
        lo_open=True,
        allow_inf=True,
    )
    dl = as_array("reallocation_cost", "site_latency_ms", site_latency_ms, (k + 1, k + 1), lo=0.0)
    lat = np.zeros((n, k + 2))
    en = np.zeros((n, k + 2))
    from_dev = prev == 0
    up = 1e3 * s / problem.uplink_bps
    lat[from_dev, 1:] = up[from_dev, None] + problem.rtt_ms[from_dev] / 2.0
    en[from_dev, 1:] = (problem.tx_w * up)[from_dev, None] / 1e3
    remote = np.flatnonzero(prev >= 1)
    p_site = prev[remote] - 1
    lat[remote, 1:] = 1e3 * s[remote, None] / bw[p_site] + dl[p_site]
    down = 1e3 * s[remote] / problem.downlink_bps[remote]
    lat[remote, 0] = down + problem.rtt_ms[remote, p_site] / 2.0
    en[remote, 0] = problem.rx_w[remote] * down / 1e3
    has = prev >= 0
    lat[has, prev[has]] = 0.0
    en[has, prev[has]] = 0.0
    return Reallocation(lat, en)


def offload_resolve(
    problem: OffloadProblem,
    previous: ArrayLike,
    reallocation: Reallocation,
    *,
    method: str = "milp",
    time_limit_s: float = 60.0,
    seed: int | np.random.Generator | None = 0,
) -> OffloadResult:
    """Decide again after devices moved: each option's cost includes migrating the task's state there.

    Parameters
    ----------
    problem : OffloadProblem
        At the devices' new positions.
    previous : array_like of int, shape (n,)
        The options used so far (-1: new device).
    reallocation : Reallocation
        From :func:`reallocation_cost`.
    method : {"milp", "best_response"}
        :func:`offload_optimal` or :func:`offload_best_response` (started from ``previous``).

    Returns
    -------
    OffloadResult
        Its costs include the migrations; ``moved`` counts the devices that changed option.
    """
    prev = as_int_array("offload_resolve", "previous", previous, (problem.n_devices,), lo=-1)
    p2 = problem.with_extra_cost(reallocation.cost(problem))
    if method == "milp":
        res = offload_optimal(p2, time_limit_s=time_limit_s)
    elif method == "best_response":
        start = np.where((prev >= 0) & p2.allowed[np.arange(len(prev)), np.maximum(prev, 0)], prev, -1)
        res = offload_best_response(p2, start=start, seed=seed)
    else:
        raise ModelAssumptionError(
            f"offload_resolve: method must be 'milp' or 'best_response' (got {method!r})"
        )
    return _replace(res, moved=int(np.count_nonzero((prev >= 0) & (res.choice != prev))))
