"""More analysis formulas against published worked examples, each with its printed numbers.

Companion of ``test_published_examples.py`` and under the same rules: every test quotes the source,
where its text with the numbers was seen (through the search tools), and the printed numbers, and
asserts to the printed precision (half a unit in the last printed digit unless the docstring says
why not). Exact values (rational numbers printed as fractions) are asserted exactly.

Where the numbers were seen
---------------------------
* Network calculus: the regression tests of the Disco Deterministic Network Calculator
  (``NetCal/DNC``, University of Kaiserslautern; ``src/test/java/de/uni_kl/cs/discodnc/``), where
  each ``*_Network.java`` file builds a network and the matching ``*_Results.java`` file lists the
  expected delay and backlog bound of each flow for TFA, SFA and PMOO under arbitrary ("blind") and
  FIFO multiplexing. Every server there has the rate-latency service curve ``beta_{R,T}`` and every
  flow the token bucket ``gamma_{r,b}``; numbers are given as decimals or as ``create(p, q)``
  fractions, both reproduced here exactly (edgescale computes in ``Fraction``). Also the doctests
  of Nokia's ``NCBounds`` (A. Bouillard).
* Queueing: a FabTime web page (non-preemptive priorities); the ``%!test`` blocks of the GNU Octave
  ``queueing`` package (``mmarzolla/queueing``, M/M/c/K); a WinQSB-style report on SlideShare
  (M/M/2/7); P. A. Jensen's ORMM queueing add-in page (M/M/3 and its waiting-time tail); a
  University of South Florida assignment solution (M/D/1); the stored output of an example notebook
  of A. Herzog's ``queuesim`` (Allen-Cunneen / Kingman / Pollaczek-Khinchine); a homework answer
  page for an M/D/1 example (weak provenance, said so).
* Reliability: Tung, Yen & Melching's textbook example reproduced on a web page (cold standby);
  the documentation doctests and unit tests of ``fiabilipy`` (series, parallel, a non-series-
  parallel network, 2-of-3 voter, availability with repair); a "nines" table (DevX).
Several sources are tool outputs or test suites rather than textbooks; each docstring says which.

Not found (no worked example with printed numbers turned up through the search tools): the
M/D/1 waiting-time percentiles (``md1_wait_percentile``), M/M/1 percentiles as such (only the
M/M/c waiting-time tail of the ORMM page), Allen-Cunneen with more than one server or non-Poisson
arrivals, Kingman with non-Poisson arrivals, the preemptive-resume priority formula, two-unit
systems *with repair* (MTTF or availability; the repair-free cold standby and independent-repair
k-of-n are covered), and any numbered example of Le Boudec & Thiran's book.

Disagreements found (not asserted as equalities; see the report of this change)
------------------------------------------------------------------------------
DiscoDNC bounds that edgescale does not reproduce because it follows another, more conservative
convention (edgescale's bounds are larger in every case; none is smaller than DiscoDNC's):

* TFA through a server crossed by the flow of interest alone: DiscoDNC uses the horizontal deviation
  (``S_1SC_1F_1AC``: 12.5; ``TA_2S_1SC_1F_1AC_1P``: 30); ``tfa_delay`` always uses the backlogged
  period of the aggregate, ``(R T + b) / (R - r)`` (25 and 75 there).
* Multi-server TFA and SFA: DiscoDNC propagates the output burst ``b + r T`` (the aggregate output
  ``alpha (/) beta``) and bounds cross traffic with the flow of interest removed (given lowest priority); ``tfa_delay``
  propagates ``alpha(t + D_k)`` per flow and ``sfa_delay`` the cross flow's own left-over latency
  (``TA_3S_1SC_2F_1AC_1P``: TFA 195 against 315, SFA 320/3 against 3190/27;
  ``TA_2S_1SC_2F_1AC_1P``: SFA 65 against 80). Single-server SFA and every PMOO bound agree.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from edgescale.analysis import netcalc as nc
from edgescale.analysis import queueing, reliability
from edgescale.errors import UnstableSystemError


def assert_printed(actual: float, printed: float, decimals: int) -> None:
    """Assert *actual* equals *printed* to *decimals* places: |diff| <= half a unit in the last place."""
    bound = 0.5 * 10.0**-decimals + 1e-12
    assert abs(actual - printed) <= bound, f"computed {actual} vs printed {printed} (allowed {bound})"


# ============================================================================ network calculus

DNC = "NetCal/DNC, src/test/java/de/uni_kl/cs/discodnc/"
RL_10_10 = nc.rate_latency(10, 10)
TB_5_25 = nc.token_bucket(5, 25)


def test_discodnc_s_1sc_1f_1ac_single_flow_single_server() -> None:
    """DiscoDNC regression network ``S_1SC_1F_1AC``: one server ``beta_{10,10}``, one flow
    ``gamma_{5,25}``.

    Seen in: NetCal/DNC, ``S_1SC_1F_1AC_Network.java`` (``sc_R = 10, sc_T = 10, ac_r = 5,
    ac_b = 25``) and ``S_1SC_1F_1AC_Results.java``.
    Printed: SFA and PMOO delay 12.5, backlog 75 (the textbook ``T + b/R`` and ``b + r T``).
    """
    assert nc.horizontal_deviation(TB_5_25, RL_10_10) == Fraction(25, 2)
    assert nc.vertical_deviation(TB_5_25, RL_10_10) == 75
    tandem = nc.Tandem(servers=[(10, 10)], foi=(5, 25))
    assert nc.sfa_delay(tandem) == Fraction(25, 2)
    assert nc.pmoo_delay(tandem) == Fraction(25, 2)


def test_discodnc_ta_2s_1sc_1f_1ac_1p_concatenation() -> None:
    """DiscoDNC regression network ``TA_2S_1SC_1F_1AC_1P``: a tandem of two ``beta_{10,10}``
    servers crossed by one flow ``gamma_{5,25}``.

    Seen in: NetCal/DNC, ``TA_2S_1SC_1F_1AC_1P_Network.java`` and ``..._Results.java``.
    Printed: SFA and PMOO delay 22.5, backlog 125 (pay bursts only once: the concatenation is
    ``beta_{10,20}``, so ``20 + 25/10`` and ``25 + 5 * 20``).
    """
    e2e = nc.concatenate(RL_10_10, RL_10_10)
    assert e2e == nc.rate_latency(10, 20)
    assert nc.horizontal_deviation(TB_5_25, e2e) == Fraction(45, 2)
    assert nc.vertical_deviation(TB_5_25, e2e) == 125
    tandem = nc.Tandem(servers=[(10, 10), (10, 10)], foi=(5, 25))
    assert nc.sfa_delay(tandem) == Fraction(45, 2)
    assert nc.pmoo_delay(tandem) == Fraction(45, 2)
    assert nc.vertical_deviation(TB_5_25, nc.sfa_service_curve(tandem)) == 125


def test_discodnc_s_1sc_2f_1ac_left_over_service() -> None:
    """DiscoDNC regression network ``S_1SC_2F_1AC``: one server ``beta_{10,10}``, two flows
    ``gamma_{5,25}`` each.

    Seen in: NetCal/DNC, ``S_1SC_2F_1AC_Network.java`` and ``S_1SC_2F_1AC_Results.java``.
    Printed, per flow: SFA/PMOO arbitrary multiplexing delay 30, backlog 150; SFA FIFO delay
    ``create(35, 2)``, backlog ``create(175, 2)``; TFA FIFO delay 15, backlog 150; TFA arbitrary
    delay positive infinity.

    Arbitrary multiplexing is the blind left-over curve ``[beta - gamma_{5,25}]^+ = beta_{5,25}``.
    The FIFO numbers are those of the left-over curve with ``theta = T + b_cross / R = 12.5``
    (Le Boudec & Thiran, Sec. 6.2), ``beta_{5,12.5}``. TFA FIFO is the deviation of the aggregate
    ``gamma_{10,50}``. The aggregate rate equals the server rate, so the backlogged period is
    unbounded: TFA under arbitrary multiplexing is infinite, which ``tfa_delay`` reports by raising.
    """
    blind = nc.leftover_blind(RL_10_10, TB_5_25)
    assert blind == nc.rate_latency(5, 25)
    assert nc.horizontal_deviation(TB_5_25, blind) == 30
    assert nc.vertical_deviation(TB_5_25, blind) == 150
    fifo = nc.leftover_fifo(RL_10_10, TB_5_25, Fraction(25, 2))
    assert nc.horizontal_deviation(TB_5_25, fifo) == Fraction(35, 2)
    assert nc.vertical_deviation(TB_5_25, fifo) == Fraction(175, 2)
    aggregate = nc.pointwise_sum(TB_5_25, TB_5_25)
    assert nc.horizontal_deviation(aggregate, RL_10_10) == 15
    assert nc.vertical_deviation(aggregate, RL_10_10) == 150
    tandem = nc.Tandem(servers=[(10, 10)], foi=(5, 25), cross=[nc.CrossFlow(5, 25, 0, 0)])
    assert nc.sfa_delay(tandem) == 30
    assert nc.pmoo_delay(tandem) == 30
    with pytest.raises(UnstableSystemError):
        nc.tfa_delay(tandem)


def test_discodnc_s_1sc_2f_2ac_two_different_token_buckets() -> None:
    """DiscoDNC regression network ``S_1SC_2F_2AC``: one server ``beta_{10,10}``, flow 0
    ``gamma_{4,10}``, flow 1 ``gamma_{5,25}``.

    Seen in: NetCal/DNC, ``S_1SC_2F_2AC_Network.java`` (``ac_r_0 = 4, ac_b_0 = 10, ac_r_1 = 5,
    ac_b_1 = 25``) and ``S_1SC_2F_2AC_Results.java``.
    Printed: TFA arbitrary delay 135, TFA FIFO delay 13.5, TFA backlog 125 (both flows);
    flow 0: SFA/PMOO arbitrary delay 27, backlog 110; SFA FIFO delay ``create(29, 2)``, backlog 60;
    flow 1: SFA/PMOO arbitrary delay 22.5, backlog ``create(350, 3)``; SFA FIFO delay
    ``create(91, 6)``, backlog 80.
    TFA arbitrary is the backlogged period ``(R T + b_0 + b_1) / (R - r_0 - r_1) = 135``, the
    convention of ``tfa_delay``; FIFO uses ``theta = T + b_cross / R`` as in ``S_1SC_2F_1AC``.
    """
    flows = [(4, 10), (5, 25)]
    tandem = nc.Tandem(servers=[(10, 10)], foi=flows[0], cross=[nc.CrossFlow(*flows[1], 0, 0)])
    assert nc.tfa_delay(tandem) == 135
    aggregate = nc.pointwise_sum(nc.token_bucket(*flows[0]), nc.token_bucket(*flows[1]))
    assert nc.busy_period_bound(aggregate, RL_10_10) == 135
    assert nc.horizontal_deviation(aggregate, RL_10_10) == Fraction(27, 2)
    assert nc.vertical_deviation(aggregate, RL_10_10) == 125

    printed = {0: (27, 110, Fraction(29, 2), 60), 1: (Fraction(45, 2), Fraction(350, 3), Fraction(91, 6), 80)}
    for me, (delay, backlog, fifo_delay, fifo_backlog) in printed.items():
        alpha, cross = nc.token_bucket(*flows[me]), nc.token_bucket(*flows[1 - me])
        blind = nc.leftover_blind(RL_10_10, cross)
        assert nc.horizontal_deviation(alpha, blind) == delay
        assert nc.vertical_deviation(alpha, blind) == backlog
        theta = 10 + Fraction(flows[1 - me][1], 10)
        fifo = nc.leftover_fifo(RL_10_10, cross, theta)
        assert nc.horizontal_deviation(alpha, fifo) == fifo_delay
        assert nc.vertical_deviation(alpha, fifo) == fifo_backlog
        t = nc.Tandem(servers=[(10, 10)], foi=flows[me], cross=[nc.CrossFlow(*flows[1 - me], 0, 0)])
        assert nc.sfa_delay(t) == delay
        assert nc.pmoo_delay(t) == delay


def test_discodnc_s_1sc_10f_10ac_ten_flows() -> None:
    """DiscoDNC regression network ``S_1SC_10F_10AC``: one server ``beta_{10,10}``, ten flows,
    flow ``i - 1`` with ``gamma_{0.1 i, i}`` for ``i = 1..10``; results for flows 0 and 6.

    Seen in: NetCal/DNC, ``S_1SC_10F_10AC_Network.java`` (``createTokenBucket(i * 0.1, i)``) and
    ``S_1SC_10F_10AC_Results.java``.
    Printed (flows 0 and 6 alike): TFA arbitrary delay ``create(310, 9)``, TFA FIFO delay 15.5,
    TFA backlog 110. Flow 0: SFA/PMOO arbitrary delay ``create(775, 23)``, backlog
    ``create(100, 23)``; SFA FIFO delay ``create(1796, 115)``, backlog ``create(127, 50)``.
    Flow 6: SFA/PMOO arbitrary delay ``create(775, 26)``, backlog ``create(350, 13)``; SFA FIFO
    delay ``create(2099, 130)``, backlog ``create(434, 25)``.
    The rates ``0.1 i`` are taken as the exact decimals ``i / 10``.
    """
    buckets = [(Fraction(i, 10), i) for i in range(1, 11)]
    aggregate = nc.pointwise_sum(*(nc.token_bucket(*b) for b in buckets))
    assert nc.busy_period_bound(aggregate, RL_10_10) == Fraction(310, 9)
    assert nc.horizontal_deviation(aggregate, RL_10_10) == Fraction(31, 2)
    assert nc.vertical_deviation(aggregate, RL_10_10) == 110

    printed = {
        0: (Fraction(775, 23), Fraction(100, 23), Fraction(1796, 115), Fraction(127, 50)),
        6: (Fraction(775, 26), Fraction(350, 13), Fraction(2099, 130), Fraction(434, 25)),
    }
    for me, (delay, backlog, fifo_delay, fifo_backlog) in printed.items():
        others = [b for i, b in enumerate(buckets) if i != me]
        tandem = nc.Tandem(
            servers=[(10, 10)], foi=buckets[me], cross=[nc.CrossFlow(r, b, 0, 0) for r, b in others]
        )
        assert nc.tfa_delay(tandem) == Fraction(310, 9)
        assert nc.sfa_delay(tandem) == delay
        assert nc.pmoo_delay(tandem) == delay
        alpha = nc.token_bucket(*buckets[me])
        assert nc.vertical_deviation(alpha, nc.sfa_service_curve(tandem)) == backlog
        cross = nc.pointwise_sum(*(nc.token_bucket(*b) for b in others))
        theta = 10 + sum(b for _, b in others) / Fraction(10)
        fifo = nc.leftover_fifo(RL_10_10, cross, theta)
        assert nc.horizontal_deviation(alpha, fifo) == fifo_delay
        assert nc.vertical_deviation(alpha, fifo) == fifo_backlog


@pytest.mark.parametrize(
    ("name", "rate_latency", "servers", "delay", "backlog"),
    [
        ("TA_2S_1SC_2F_1AC_1P", (10, 10), 2, 50, 250),
        ("TA_3S_1SC_2F_1AC_1P", (20, 20), 3, Fraction(250, 3), Fraction(1300, 3)),
    ],
)
def test_discodnc_tandem_pmoo(
    name: str, rate_latency: tuple[int, int], servers: int, delay: Fraction, backlog: Fraction
) -> None:
    """DiscoDNC regression networks ``TA_2S_1SC_2F_1AC_1P`` (two ``beta_{10,10}`` servers) and
    ``TA_3S_1SC_2F_1AC_1P`` (three ``beta_{20,20}`` servers): two flows ``gamma_{5,25}`` that both
    cross the whole tandem; PMOO bounds under arbitrary multiplexing.

    Seen in: NetCal/DNC, ``TA_2S_1SC_2F_1AC_1P_Network.java`` / ``..._Results.java`` and
    ``TA_3S_1SC_2F_1AC_1P_Network.java`` / ``..._Results.java``.
    Printed: two servers, PMOO delay 50, backlog 250; three servers, PMOO delay
    ``create(250, 3)``, backlog ``create(1300, 3)``.
    PMOO's end-to-end left-over curve is ``beta_{R - r, sum T + (b + r sum T) / (R - r)}``.
    (The SFA and TFA numbers of these two files follow other conventions; see the module docstring.)
    """
    tandem = nc.Tandem(
        servers=[rate_latency] * servers, foi=(5, 25), cross=[nc.CrossFlow(5, 25, 0, servers - 1)]
    )
    assert nc.pmoo_delay(tandem) == delay, name
    assert nc.vertical_deviation(TB_5_25, nc.pmoo_service_curve(tandem)) == backlog, name


def test_ncbounds_doctests_token_bucket_rate_latency() -> None:
    """NCBounds (A. Bouillard, Nokia Bell Labs, 2019; BSD-3), doctests of
    ``NCBounds/ServiceCurve.py`` and ``NCBounds/ArrivalCurve.py``.

    Seen in: nokia/NCBounds, those two files. NCBounds writes ``ArrivalCurve(sigma, rho)`` for the
    token bucket ``sigma + rho t`` and ``ServiceCurve(rate, latency)``; edgescale's
    ``token_bucket(rate, burst)`` takes the rate first.
    Printed: for ``ArrivalCurve(2, 2)`` and ``ServiceCurve(5, 3)``: ``delay`` 3.4 (``T + sigma/R``),
    ``backlog`` 8.0, ``deconvolution`` ``8.00 + 2.00 t``, ``residual_blind``
    ``3.00 . (t - 5.67)+`` (latency (2 + 5 * 3) / 3 = 17/3, printed to two decimals);
    ``convolution(ServiceCurve(5, 3), ServiceCurve(2, 2))`` ``2.00 . (t - 5.00)+``;
    ``ac_add(ArrivalCurve(5, 3), ArrivalCurve(2, 2))`` ``7.00 + 5.00 t``; for ``ArrivalCurve(5, 3)``
    through ``ServiceCurve(2, 2)`` (rate 3 > 2) delay, backlog and deconvolution are ``inf``, which
    edgescale reports by raising ``UnstableSystemError``.
    The deconvolution is compared for t > 0 (edgescale's output arrival curve is 0 at t = 0, the
    usual convention for arrival curves; the raw deconvolution is 8 there).
    """
    alpha, beta = nc.token_bucket(2, 2), nc.rate_latency(5, 3)
    assert nc.horizontal_deviation(alpha, beta) == Fraction(17, 5)
    assert nc.vertical_deviation(alpha, beta) == 8
    assert nc.output_arrival_curve(alpha, beta) == nc.token_bucket(2, 8)
    raw = nc.deconvolve(alpha, beta)
    assert [raw(t) for t in (1, 10)] == [10, 28]
    residual = nc.leftover_blind(beta, alpha)
    assert residual == nc.rate_latency(3, Fraction(17, 3))
    assert round(float(Fraction(17, 3)), 2) == 5.67
    assert nc.convolve(nc.rate_latency(5, 3), nc.rate_latency(2, 2)) == nc.rate_latency(2, 5)
    assert nc.concatenate(nc.rate_latency(5, 3), nc.rate_latency(2, 2)) == nc.rate_latency(2, 5)
    assert nc.pointwise_sum(nc.token_bucket(3, 5), nc.token_bucket(2, 2)) == nc.token_bucket(5, 7)
    too_fast = nc.token_bucket(3, 5)
    for bound in (nc.horizontal_deviation, nc.vertical_deviation, nc.output_arrival_curve):
        with pytest.raises(UnstableSystemError):
            bound(too_fast, nc.rate_latency(2, 2))


# ============================================================================ queueing


def test_fabtime_mm1_two_priority_classes_non_preemptive() -> None:
    """FabTime Inc., "M/M/1 Queue with Two Priority Classes" (fabtime.com/MM1Priority.shtml, also
    fabtime.com/MM1Priority.php), citing Prabhu (1981), Table 4.4: one machine, non-preemptive
    head-of-the-line priority, FIFO within a class.

    Seen in: the page itself (pages index).
    Inputs: lambda_H = 1 lot/h, lambda_L = 9 lots/h, mu_H = mu_L = 12 lots/h (exponential).
    Printed: nu = 0.06944; time in system, high priority 0.0758 + 0.08333 = 0.15909 h = 9.545 min;
    low priority 0.4545 + 0.0833 = 0.5379 h = 32.27 min; weighted average cycle time 30 min.
    Cobham's formula is the page's ``nu / ((1 - rho_H)(1 - rho_H - rho_L)) + 1/mu``; the weighted
    average is the FCFS M/M/1 time 1 / (12 - 10) h (Kleinrock's conservation law).
    """
    m = queueing.mg1_priority_nonpreemptive([1.0, 9.0], [1 / 12, 1 / 12], scv_service=[1.0, 1.0])
    nu = sum(lam * 2 * (1 / 12) ** 2 / 2 for lam in (1.0, 9.0))
    assert_printed(nu, 0.06944, 5)
    assert_printed(m.mean_wait_s[0], 0.0758, 4)
    assert_printed(m.mean_wait_s[1], 0.4545, 4)
    assert_printed(m.mean_response_time_s[0], 0.15909, 5)
    assert_printed(m.mean_response_time_s[1], 0.5379, 4)
    assert_printed(m.mean_response_time_s[0] * 60, 9.545, 3)
    assert_printed(m.mean_response_time_s[1] * 60, 32.27, 2)
    weighted = (1.0 * m.mean_response_time_s[0] + 9.0 * m.mean_response_time_s[1]) / 10.0
    assert_printed(weighted * 60, 30, 9)


def test_car_wash_md1_mean_queue_length() -> None:
    """M/D/1 car wash: "Cars arrive at an automatic car wash system every 10 minutes on average.
    The cars inter-arrival times are exponentially distributed. Washing time for each is 6 minutes
    per car and is purely deterministic ... a single bay".

    Seen in: a homework-help answer page (qammunity.org/7928423, also code.policylink.org/comparte/
    24279479, pages index); the textbook the exercise comes from is not named there, so this is the
    weakest provenance in this file.
    Printed: lambda = 6 cars/h, mu = 10 cars/h, rho = 0.6, Lq = (1/2) * 0.36 / 0.4 = 0.45.
    """
    m = queueing.md1(6.0, 0.1)  # per hour; 6 minutes = 0.1 h
    assert_printed(m.utilization, 0.6, 1)
    assert_printed(m.mean_number_in_queue, 0.45, 2)
    m = queueing.mg1(6.0, 0.1, second_moment_service_s2=0.01)
    assert_printed(m.mean_number_in_queue, 0.45, 2)


@pytest.mark.parametrize(
    ("lam", "mu", "servers", "capacity", "printed"),
    [
        (40.0, 30.0, 3, 7, {"response": (0.036517, 6)}),
        (50.0, 10.0, 4, 6, {"block": (0.293543, 6)}),
        (3.0, 2.0, 2, 5, {"block": (0.085113, 6), "number": (2.00595, 5), "wait": (0.230857, 6)}),
    ],
)
def test_octave_qsmmmk_examples_from_the_web(
    lam: float, mu: float, servers: int, capacity: int, printed: dict[str, tuple[float, int]]
) -> None:
    """Three M/M/c/K examples in the GNU Octave ``queueing`` package.

    Seen in: mmarzolla/queueing, ``inst/qsmmmk.m``, three ``%!test`` blocks each introduced by
    "This test comes from an example I found on the web"; the web page itself is not named, so the
    primary source is unidentified.
    Printed: lambda 40, mu 30, m 3, K 7: p0 = 0.255037, R = 0.036517; lambda 50, mu 10, m 4, K 6:
    pK = 0.293543; lambda 3, mu 2, m 2, K 5: p0 = 0.179334, pK = 0.085113, Q = 2.00595 and
    R - 1/mu = 0.230857 ("waiting time in the queue").
    The listed digits are sometimes rounded (pK = 0.2935430 -> 0.293543) and sometimes truncated
    (pK = 0.0851138 -> 0.085113, R - 1/mu = 0.2308576 -> 0.230857), so each value is asserted to
    one unit in its last digit, which is also the repository's own tolerance (1e-6; 1e-5 for Q).
    ``mmck`` does not expose p0, so the p0 values are not checked.
    """
    m = queueing.mmck(lam, mu, servers, capacity)
    got = {
        "response": m.mean_response_time_s,
        "block": m.prob_block,
        "number": m.mean_number_in_system,
        "wait": m.mean_wait_s,
    }
    for key, (value, places) in printed.items():
        assert abs(got[key] - value) <= 10.0**-places, (key, got[key], value)


def test_winqsb_style_summary_mm2_7_on_slideshare() -> None:
    """An M/M/2/7 "System Performance Summary" (the report layout of the WinQSB queueing module)
    posted on SlideShare on 11-12-2013 ("pois", slideshare.net/slideshow/pois-28144510/28144510).

    Seen in: the page itself (pages index).
    Inputs: lambda = 50 /h, mu = 37 /h per server, 2 servers, at most 7 in the system.
    Printed: effective arrival (= service) rate 48.6876 /h; overall utilization 65.7940 %;
    L = 2.0711; Lq = 0.7552; W = 0.0425 h; Wq = 0.0155 h; P0 = 20.4133 %; "probability an
    arriving customer waits (Pw or Pb)" 52.0013 %; customers balked per hour 1.3124.
    ``mmck`` gives the waiting probability of an *accepted* customer; the report's Pw is the
    time-average probability that both servers are busy, blocked state included, which is
    ``prob_wait * (1 - pK) + pK`` (0.520013). P0 is not exposed by ``mmck`` and not checked.
    """
    m = queueing.mmck(50.0, 37.0, 2, 7)
    assert_printed(m.throughput_per_s, 48.6876, 4)
    assert_printed(m.utilization * 100, 65.7940, 4)
    assert_printed(m.mean_number_in_system, 2.0711, 4)
    assert_printed(m.mean_number_in_queue, 0.7552, 4)
    assert_printed(m.mean_response_time_s, 0.0425, 4)
    assert_printed(m.mean_wait_s, 0.0155, 4)
    assert_printed(50.0 * m.prob_block, 1.3124, 4)
    assert m.prob_wait is not None
    assert_printed((m.prob_wait * (1 - m.prob_block) + m.prob_block) * 100, 52.0013, 4)


def test_jensen_ormm_queueing_add_in_q_sample_mm3() -> None:
    """P. A. Jensen, *Operations Research Models and Methods* (ORMM, Univ. of Texas at Austin),
    Queueing Add-in, "User Functions" page: the ``Q_Sample`` station.

    Seen in: me.utexas.edu/~jensen/or_site/computation/unit/que_add/que_user.html and
    utw11041.utweb.utexas.edu/ORMM/computation/unit/que_add/functions.html (pages index).
    The page lists the parameters as (5, 3, 2, ***, ***) after naming the order "Lam, Mu, ss";
    its results (type M/M/3, mean number in service 2.5, mean service time 0.5, throughput 5)
    identify lambda = 5, mu = 2, 3 servers, which is what is used here.
    Printed: L = 6.011236, W = 1.2022472, Lq = 3.511236, Wq = 0.7022472, Eff = 0.8333333,
    PB = 0.7022472 (all servers busy), P0 = 0.0449438, PTq(0.5) = 0.4259344.
    ``PTq`` is described there as "the cumulative probability distribution of the waiting time in
    the queue", but its value is the tail P(Wq > 0.5) = PB e^{-(3*2 - 5) 0.5} = 0.4259344 (the
    CDF would be 0.5740656); it is checked as the tail, through ``mmc_wait_percentile``: the
    0.5740656-quantile must be 0.5 (to 2.5e-7, the effect of the 7th decimal of the probability).
    """
    m = queueing.mmc(5.0, 2.0, 3)
    assert_printed(m.mean_number_in_system, 6.011236, 6)
    assert_printed(m.mean_response_time_s, 1.2022472, 7)
    assert_printed(m.mean_number_in_queue, 3.511236, 6)
    assert_printed(m.mean_wait_s, 0.7022472, 7)
    assert_printed(m.utilization, 0.8333333, 7)
    assert m.prob_wait is not None
    assert_printed(m.prob_wait, 0.7022472, 7)
    assert abs(queueing.mmc_wait_percentile(5.0, 2.0, 3, 1 - 0.4259344) - 0.5) <= 2.5e-7


@pytest.mark.parametrize(("rho", "number"), [(0.7, 1.517), (0.8, 2.400), (0.9, 4.950)])
def test_christensen_usf_md1_pollaczek_khinchin(rho: float, number: float) -> None:
    """K. J. Christensen, University of South Florida, "Solution for assignment #3, Spring 1999"
    (csee.usf.edu/~christen/class3/as3_99_3sol.txt), extra credit: mean number in an M/D/1
    system by the Pollaczek-Khinchin formula, service time 1, utilization 70, 80 and 90 %.

    Seen in: the page itself (pages index).
    Printed: N = 1.517, 2.400, 4.950 packets in the system. (The page writes the formula as
    ``N = rho + lambda^2 E[S^2] / (2 (1 - rho))`` and then, with a typo, ``0.70 * (...)`` for
    ``0.70 + (...)``; the printed numbers are those of the sum.)
    """
    assert_printed(queueing.md1(rho, 1.0).mean_number_in_system, number, 3)
    assert_printed(queueing.mg1(rho, 1.0, scv_service=0.0).mean_number_in_system, number, 3)


HERZOG_AC_TABLE = [
    # CV[S], E[N_Q], E[N], E[W], E[V]
    (0.5, 2.000, 2.800, 200.0, 280.0),
    (0.6, 2.176, 2.976, 217.6, 297.6),
    (0.7, 2.384, 3.184, 238.4, 318.4),
    (0.8, 2.624, 3.424, 262.4, 342.4),
    (0.9, 2.896, 3.696, 289.6, 369.6),
    (1.0, 3.200, 4.000, 320.0, 400.0),
    (1.1, 3.536, 4.336, 353.6, 433.6),
    (1.2, 3.904, 4.704, 390.4, 470.4),
    (1.3, 4.304, 5.104, 430.4, 510.4),
    (1.4, 4.736, 5.536, 473.6, 553.6),
    (1.5, 5.200, 6.000, 520.0, 600.0),
]


@pytest.mark.parametrize(("cv_s", "enq", "en", "ew", "ev"), HERZOG_AC_TABLE)
def test_herzog_queuesim_allen_cunneen_table(
    cv_s: float, enq: float, en: float, ew: float, ev: float
) -> None:
    """A. Herzog (TU Clausthal), ``queuesim``, example notebook "Allen Cunneen approximation
    (GI/G/c model)": lambda = 1/100, mu = 1/80, c = 1, CV[I] = 1, CV[S] = 0.5, 0.6, ..., 1.5.

    Seen in: A-Herzog/QueueSim, ``example_analytic_ac_approx.ipynb``, the stored output of the
    ``ac_approx_table`` cell (the code that produced it is ``queuesim/analytic/ac_approx.py``,
    ``E[N_Q] = E[N_Q](Erlang C) (SCV[I] + SCV[S]) / 2``). This is the published output of an
    independent implementation, not a textbook example.
    Printed (E[N_Q], E[N], E[W], E[V]): from (2.000, 2.800, 200.0, 280.0) at CV[S] = 0.5 to
    (5.200, 6.000, 520.0, 600.0) at CV[S] = 1.5 (table above).
    With one server and Poisson arrivals (SCV[I] = 1) Allen-Cunneen, Kingman and the
    Pollaczek-Khinchine formula coincide, so the table checks all three.
    """
    lam, es, scv_s = 0.01, 80.0, cv_s**2
    for m in (
        queueing.ggc_allen_cunneen(lam, es, 1, scv_arrival=1.0, scv_service=scv_s),
        queueing.gg1_kingman(lam, es, scv_arrival=1.0, scv_service=scv_s),
        queueing.mg1(lam, es, scv_service=scv_s),
    ):
        assert_printed(m.utilization, 0.8, 1)
        assert_printed(m.mean_number_in_queue, enq, 3)
        assert_printed(m.mean_number_in_system, en, 3)
        assert_printed(m.mean_wait_s, ew, 1)
        assert_printed(m.mean_response_time_s, ev, 1)


# ============================================================================ reliability


@pytest.mark.parametrize(
    ("a", "nines", "printed", "unit_minutes", "places"),
    [
        (0.99, 2, 3.65, 24 * 60, 2),  # days per year
        (0.999, 3, 8.76, 60, 2),  # hours per year
        (0.9999, 4, 52.56, 1, 2),  # minutes per year
        (0.99999, 5, 5.26, 1, 2),  # minutes per year
    ],
)
def test_devx_nines_downtime_per_year(
    a: float, nines: int, printed: float, unit_minutes: float, places: int
) -> None:
    """DevX, "Calculating Availability" (devx.com/2017/06/28/, also reproduced at
    engineering-ed7.pages.dev/docs/architecture/calculating-availability): allowed downtime for
    two to five nines.

    Seen in: the pages themselves (pages index).
    Printed: 99 % -> 3.65 days/year; 99.9 % -> 8.76 hours/year; 99.99 % -> 52.56 minutes/year;
    99.999 % -> 5.26 minutes/year (a 365-day year, edgescale's default ``MINUTES_PER_YEAR``).
    """
    assert_printed(reliability.downtime_minutes_per_year(a) / unit_minutes, printed, places)
    assert reliability.nines(a) == pytest.approx(nines, abs=1e-9)


def test_tung_yen_melching_example_7_11_cold_standby_pumps() -> None:
    """Y.-K. Tung, B.-C. Yen, C. S. Melching, *Hydrosystems Engineering Reliability Assessment and
    Risk Analysis* (McGraw-Hill, 2006), Sec. 7.3 (standby redundant systems), Example 7.11: two
    identical pumps, one operating and one on standby, exponential failures with
    lambda = 0.0005 /h, perfect switching, the standby as good as new at t = 0.

    Seen in: boulderlibrary.net, "Standby redundant systems" page of the book's chapter 7 (pages
    index).
    Printed: p_s,sys(t = 1000) = [1 + (0.0005)(1000)] e^{-(0.0005)(1000)} = 0.9098. The text adds
    that the system MTTF is the sum of the units' MTTFs (2 / lambda = 4000 h, not printed as a
    number, so not asserted).
    """
    m = reliability.two_unit_ctmc(failure_rate_per_h=0.0005, repair_rate_per_h=0.0, standby="cold")
    assert_printed(m.reliability(1000.0), 0.9098, 4)


# fiabilipy (S. Chabot, A. Sadaoui, 2013; GPL): its documentation doctests and its unit tests, read in
# the repository crubier/Fiabilipy (documentation/source/tutorial/system.rst, fiabilipy/voter.py,
# fiabilipy/test_system.py) and, for the doctests, also on pythonhosted.org/fiabilipy. A fiabilipy
# ``Component(name, lambda_, mu)`` has constant failure rate lambda and repair rate mu; edgescale's
# ``Component`` takes mtbf_h = 1 / lambda and mttr_h = 1 / mu.


def exp_component(name: str, failure_rate: float, repair_rate: float = 0.0) -> reliability.Component:
    """An edgescale component with the given constant failure (and repair) rate."""
    return reliability.Component(
        name, mtbf_h=1 / failure_rate, mttr_h=1 / repair_rate if repair_rate else 0.0
    )


def test_fiabilipy_tutorial_component_series_and_complex_system() -> None:
    """fiabilipy tutorial "How to build a system" (doctests).

    Seen in: crubier/Fiabilipy, ``documentation/source/tutorial/system.rst``; pythonhosted.org/
    fiabilipy/tutorial/system.html.
    Printed: a component with lambda = 1e-4 /h: MTTF 10000.0, R(1000) = 0.904837418035960,
    R(100) = 0.990049833749168. Series of P0 (1e-6) and M0 (1e-3): MTTF ``1000000/1001`` =
    999.000999000999. "Complex" system of seven components with lambda = 1e-4, E -> {a, b, c, g},
    a, g -> S, b, c -> f, f -> {e, d}, d, e -> S, i.e. a || g || ((b || c) -- f -- (d || e)):
    MTTF ``331000/21``, R(t) = 13 e^{-t/2000} - 12 e^{-t/2500} - e^{-t/5000} - 6 e^{-3t/5000}
    + 2 e^{-t/10000} + 4 e^{-3t/10000} + e^{-7t/10000} (checked at t = 1000, 5000, 20000 h).
    """
    assert reliability.Component("C0", mtbf_h=1e4).mtbf_h == 10000.0
    assert abs(reliability.exponential_reliability(1e-4, 1000.0) - 0.904837418035960) <= 5e-16
    assert abs(reliability.exponential_reliability(1e-4, 100.0) - 0.990049833749168) <= 5e-16

    assert reliability.mttf_series([1e-6, 1e-3]) == pytest.approx(1e6 / 1001, rel=1e-12)
    series = reliability.Series(exp_component("P0", 1e-6), exp_component("M0", 1e-3))
    assert series.mttf_h() == pytest.approx(1e6 / 1001, rel=1e-12)
    assert abs(series.mttf_h() - 999.000999000999) <= 5e-13

    a, b, c, d, e, f, g = (exp_component(f"C{i}", 1e-4) for i in range(7))
    complex_system = reliability.Parallel(
        a, g, reliability.Series(reliability.Parallel(b, c), f, reliability.Parallel(e, d))
    )
    assert complex_system.mttf_h() == pytest.approx(331000 / 21, rel=1e-12)
    for t in (1000.0, 5000.0, 20000.0):
        printed = (
            13 * math.exp(-t / 2000)
            - 12 * math.exp(-t / 2500)
            - math.exp(-t / 5000)
            - 6 * math.exp(-3 * t / 5000)
            + 2 * math.exp(-t / 10000)
            + 4 * math.exp(-3 * t / 10000)
            + math.exp(-7 * t / 10000)
        )
        assert complex_system.reliability(t) == pytest.approx(printed, rel=1e-12, abs=1e-15)


def test_fiabilipy_voter_2_of_3_doctests() -> None:
    """fiabilipy ``Voter`` doctests: 2-out-of-3 voter of motors M with lambda = 1e-4 /h and
    mu = 3e-2 /h (the voter itself never fails).

    Seen in: crubier/Fiabilipy, ``fiabilipy/voter.py`` (docstrings); pythonhosted.org/fiabilipy/api/
    system/voter.html and .../component.html.
    Printed: ``voter.mttf`` 8333.33333333333; ``voter.reliability(1000)`` 0.974555817870510;
    ``voter.availability(1000)`` 0.999966961120940, where each motor has point availability
    ``0.00332225913621263 exp(-0.0301 t) + 0.996677740863787`` (``motor.availability(1000)``
    0.996677740863788). fiabilipy's motors are independent, each with its own repair, which is
    ``k_of_n_ctmc(..., repair="independent")`` started with all units up.
    """
    voter = reliability.KofN(2, *(exp_component(f"M{i}", 1e-4) for i in range(3)))
    assert abs(voter.mttf_h() - 8333.33333333333) <= 5e-11
    assert abs(reliability.mttf_k_of_n_identical(2, 3, 1e-4) - 8333.33333333333) <= 5e-11
    assert abs(voter.reliability(1000.0) - 0.974555817870510) <= 5e-15
    motor = reliability.k_of_n_ctmc(1, 1, failure_rate_per_h=1e-4, repair_rate_per_h=3e-2)
    assert abs(motor.point_availability(1000.0) - 0.996677740863788) <= 5e-15
    assert abs(motor.availability() - 0.996677740863787) <= 5e-15
    assert abs(reliability.availability(1e4, 1 / 3e-2) - 0.996677740863787) <= 5e-15
    ctmc = reliability.k_of_n_ctmc(
        3, 2, failure_rate_per_h=1e-4, repair_rate_per_h=3e-2, repair="independent"
    )
    assert abs(ctmc.point_availability(1000.0) - 0.999966961120940) <= 5e-15
    assert (
        abs(reliability.k_of_n_identical(2, 3, motor.point_availability(1000.0)) - 0.999966961120940) <= 5e-15
    )


def test_fiabilipy_system_availability_doctest_series_with_repair() -> None:
    """fiabilipy ``System.availability`` doctest: power P (lambda = 1e-6, mu = 2e-4) in series with
    motor M (lambda = 1e-4, mu = 3e-2).

    Seen in: pythonhosted.org/fiabilipy/api/system/system.html (docs index).
    Printed: A(t) = (200/201 + exp(-201 t/1000000)/201) (300/301 + exp(-301 t/10000)/301), whose
    t -> infinity limit (200/201)(300/301) is the steady-state availability of the series block.
    The point availability is checked at t = 1000 h as the product of each component's.
    """
    power, motor = exp_component("P", 1e-6, 2e-4), exp_component("M", 1e-4, 3e-2)
    assert reliability.Series(power, motor).availability() == pytest.approx(200 / 201 * 300 / 301, rel=1e-12)
    t = 1000.0
    printed = (200 / 201 + math.exp(-201 * t / 1e6) / 201) * (300 / 301 + math.exp(-301 * t / 1e4) / 301)
    point = [
        reliability.k_of_n_ctmc(1, 1, failure_rate_per_h=lam, repair_rate_per_h=mu).point_availability(t)
        for lam, mu in ((1e-6, 2e-4), (1e-4, 3e-2))
    ]
    assert reliability.series(point) == pytest.approx(printed, rel=1e-12)


def test_fiabilipy_unit_tests_mttf_values() -> None:
    """fiabilipy unit tests ``TestSystem.test_cache`` and ``test_mttfvalues``.

    Seen in: crubier/Fiabilipy, ``fiabilipy/test_system.py``.
    Printed (``test_cache``): (C0 || C1) -- C2 with lambda = 1e-3 for all: MTTF 2000/3; with C0's
    lambda changed to 0.05: 331750/663; C0 alone at 0.05: 20, at 2e-4: 5000; the system with C0 at
    2e-4: 29000/33.
    Printed (``test_mttfvalues``, symbolic in l_alim = la and l_motor = lm), checked at
    la = 1e-3, lm = 2.5e-3: simple alim -- motor 1/(la + lm); "series-parallel" (two alim -- motor
    chains in parallel) 3/(2(la + lm)); "parallel-series" (alim || alim) -- (motor || motor)
    1/(2la + 2lm) - 2/(2la + lm) - 2/(la + 2lm) + 4/(la + lm); "complex" (alim0 -> motor0,
    alim1 -> motor0 and motor1, alim2 -> motor1) 4/(la + lm) - 1/(2lm + la) + 1/(2lm + 3la)
    - 1/(2lm + 2la) - 2/(2la + lm); "voter" (2-of-3 alims, then motor || motor)
    6/(2la + lm) - 3/(2la + 2lm) - 6/(3la + lm) + 3/(3la + 2lm) + 2/(3la + lm) - 1/(3la + 2lm).
    The "complex" network is not series-parallel; it is given by its four success paths with shared
    component names.
    """
    c1, c2 = exp_component("C1", 1e-3), exp_component("C2", 1e-3)
    for lam0, printed in ((1e-3, 2000 / 3), (0.05, 331750 / 663), (2e-4, 29000 / 33)):
        block = reliability.Series(reliability.Parallel(exp_component("C0", lam0), c1), c2)
        assert block.mttf_h() == pytest.approx(printed, rel=1e-12)
    assert reliability.mttf_series([0.05]) == pytest.approx(20)
    assert reliability.mttf_series([2e-4]) == pytest.approx(5000)

    la, lm = 1e-3, 2.5e-3
    alim = [exp_component(f"Alim_{x}", la) for x in "ABC"]
    motor = [exp_component(f"Motor_{x}", lm) for x in "AB"]
    ser, par = reliability.Series, reliability.Parallel
    systems = {
        "simple": (ser(alim[0], motor[0]), 1 / (la + lm)),
        "series-parallel": (par(ser(alim[0], motor[0]), ser(alim[1], motor[1])), 3 / (2 * (la + lm))),
        "parallel-series": (
            ser(par(alim[0], alim[1]), par(motor[0], motor[1])),
            1 / (2 * la + 2 * lm) - 2 / (2 * la + lm) - 2 / (la + 2 * lm) + 4 / (la + lm),
        ),
        "complex": (
            par(
                ser(alim[0], motor[0]), ser(alim[1], motor[0]), ser(alim[1], motor[1]), ser(alim[2], motor[1])
            ),
            4 / (la + lm)
            - 1 / (2 * lm + la)
            + 1 / (2 * lm + 3 * la)
            - 1 / (2 * lm + 2 * la)
            - 2 / (2 * la + lm),
        ),
        "voter": (
            ser(reliability.KofN(2, *alim), par(motor[0], motor[1])),
            6 / (2 * la + lm)
            - 3 / (2 * la + 2 * lm)
            - 6 / (3 * la + lm)
            + 3 / (3 * la + 2 * lm)
            + 2 / (3 * la + lm)
            - 1 / (3 * la + 2 * lm),
        ),
    }
    for name, (block, printed) in systems.items():
        assert block.mttf_h() == pytest.approx(printed, rel=1e-9), name
