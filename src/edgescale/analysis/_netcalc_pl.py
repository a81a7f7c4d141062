"""Exact piecewise-linear kernels behind :mod:`edgescale.analysis.netcalc` (private).

A raw function is a :class:`PL`: the value ``zero`` at ``t = 0`` and, on each open interval
``(xs[i], xs[i+1])`` (the last one unbounded), the affine map ``ys[i] + ss[i] * (t - xs[i])``.
So ``ys[i]`` is the right limit at ``xs[i]``; the value *at* a breakpoint ``xs[i] > 0`` is the
left limit (functions are left-continuous, as cumulative functions are in network calculus).
Nothing here assumes monotonicity: :class:`~edgescale.analysis.netcalc.Curve` checks that.

Every kernel works for ``Fraction`` (exact) and ``float`` numbers alike; it only adds,
subtracts, multiplies, divides and compares.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Generic, TypeVar

N = TypeVar("N", Fraction, float)

#: An affine piece ``(x0, x1, y0, slope)`` valid on the open interval ``(x0, x1)``
#: (``x1 is None`` means unbounded); ``y0`` is its right limit at ``x0``.
Piece = tuple[N, N | None, N, N]
#: A segment start ``(x, y, slope)`` of the output of :func:`envelope`.
Seg = tuple[N, N, N]


@dataclass(frozen=True, slots=True)
class PL(Generic[N]):
    """A raw left-continuous piecewise-linear function on ``t >= 0``."""

    zero: N
    xs: tuple[N, ...]
    ys: tuple[N, ...]
    ss: tuple[N, ...]


def make(zero: N, segs: Sequence[Seg[N]]) -> PL[N]:
    """Build a canonical PL from segment starts (the first at ``x = 0``)."""
    xs, ys, ss = canonical(segs)
    return PL(zero, xs, ys, ss)


def canonical(segs: Sequence[Seg[N]]) -> tuple[tuple[N, ...], tuple[N, ...], tuple[N, ...]]:
    """Drop breakpoints where neither the slope changes nor the function jumps."""
    kept: list[Seg[N]] = [segs[0]]
    for x, y, s in segs[1:]:
        px, py, ps = kept[-1]
        if s == ps and y == py + ps * (x - px):
            continue
        kept.append((x, y, s))
    return tuple(k[0] for k in kept), tuple(k[1] for k in kept), tuple(k[2] for k in kept)


def value(f: PL[N], t: N) -> N:
    """``f(t)`` for ``t >= 0``: the left limit at a breakpoint."""
    if t <= 0:
        return f.zero
    i = bisect_left(f.xs, t) - 1
    return f.ys[i] + f.ss[i] * (t - f.xs[i])


def right_limit(f: PL[N], t: N) -> N:
    """``f(t+)`` for ``t >= 0``."""
    i = bisect_right(f.xs, t) - 1
    return f.ys[i] + f.ss[i] * (t - f.xs[i])


def slope_after(f: PL[N], t: N) -> N:
    """Slope of ``f`` just right of ``t``."""
    return f.ss[bisect_right(f.xs, t) - 1]


def left_limit(f: PL[N], i: int) -> N:
    """Left limit of ``f`` at its breakpoint ``xs[i]`` (``i >= 1``)."""
    return f.ys[i - 1] + f.ss[i - 1] * (f.xs[i] - f.xs[i - 1])


def point_values(f: PL[N]) -> list[tuple[N, N]]:
    """``(x, f(x))`` at ``0`` and at every breakpoint."""
    return [(f.xs[0], f.zero)] + [(f.xs[i], left_limit(f, i)) for i in range(1, len(f.xs))]


def jump_free(f: PL[N]) -> bool:
    """True when ``f`` is continuous on ``(0, inf)``."""
    return all(f.ys[i] == left_limit(f, i) for i in range(1, len(f.xs)))


def pieces(f: PL[N], shift: N, offset: N) -> list[Piece[N]]:
    """Pieces of ``t -> offset + f(t - shift)`` on ``t > shift``."""
    n = len(f.xs)
    return [
        (f.xs[i] + shift, f.xs[i + 1] + shift if i + 1 < n else None, f.ys[i] + offset, f.ss[i])
        for i in range(n)
    ]


def advanced_pieces(f: PL[N], u: N, offset: N) -> list[Piece[N]]:
    """Pieces of ``t -> offset + f(t + u)`` on ``t > 0``."""
    out: list[Piece[N]] = []
    zero = u - u
    for i, x in enumerate(f.xs):
        hi = f.xs[i + 1] - u if i + 1 < len(f.xs) else None
        if hi is not None and hi <= 0:
            continue
        lo = max(x - u, zero)
        out.append((lo, hi, f.ys[i] + f.ss[i] * (lo + u - x) + offset, f.ss[i]))
    return out


def reflected_pieces(g: PL[N], top_x: N, top_y: N) -> list[Piece[N]]:
    """Pieces of ``t -> top_y - g(top_x - t)`` on ``0 < t < top_x``."""
    out: list[Piece[N]] = []
    zero = top_x - top_x
    for j, x in enumerate(g.xs):
        if x >= top_x:
            break
        lo = max(top_x - g.xs[j + 1], zero) if j + 1 < len(g.xs) else zero
        y = top_y - (g.ys[j] + g.ss[j] * (top_x - lo - x))
        out.append((lo, top_x - x, y, g.ss[j]))
    return out


def envelope(parts: Sequence[Piece[N]], *, upper: bool) -> tuple[tuple[N, ...], ...]:
    """Lower (or upper) envelope on ``t > 0`` of pieces that together cover ``(0, inf)``."""
    sign = -1 if upper else 1
    signed = [(x0, x1, sign * y0, sign * s) for x0, x1, y0, s in parts]
    zero = signed[0][2] - signed[0][2]
    cuts = sorted({p[0] for p in signed} | {p[1] for p in signed if p[1] is not None} | {zero})
    segs: list[Seg[N]] = []
    for k, a in enumerate(cuts):
        b = cuts[k + 1] if k + 1 < len(cuts) else None
        lines = [(y0 + s * (a - x0), s) for x0, x1, y0, s in signed if x0 <= a and _covers(x1, b)]
        if not lines:
            raise ValueError(f"netcalc kernel: pieces leave ({a}, {b}) uncovered")
        segs.extend(_lower_lines(lines, a, b))
    return canonical([(x, sign * y, sign * s) for x, y, s in segs])


def _covers(x1: N | None, b: N | None) -> bool:
    """True when a piece ending at ``x1`` reaches the interval end ``b``."""
    return x1 is None or (b is not None and x1 >= b)


def _lower_lines(lines: list[tuple[N, N]], a: N, b: N | None) -> list[Seg[N]]:
    """Lower envelope on ``(a, b)`` of lines given as (value at ``a``, slope)."""
    cur = min(lines)
    x = a
    out: list[Seg[N]] = [(a, cur[0], cur[1])]
    while True:
        best: tuple[N, N, N] | None = None
        for v, s in lines:
            if s < cur[1]:
                xc = a + (v - cur[0]) / (cur[1] - s)
                if xc > x and (b is None or xc < b) and (best is None or (xc, s) < best[::2]):
                    best = (xc, v, s)
        if best is None:
            return out
        x, cur = best[0], (best[1], best[2])
        out.append((x, cur[0] + cur[1] * (x - a), cur[1]))


def add(f: PL[N], g: PL[N]) -> PL[N]:
    """Pointwise ``f + g``."""
    cuts = sorted(set(f.xs) | set(g.xs))
    segs = [(a, right_limit(f, a) + right_limit(g, a), slope_after(f, a) + slope_after(g, a)) for a in cuts]
    return make(f.zero + g.zero, segs)


def neg(f: PL[N]) -> PL[N]:
    """Pointwise ``-f``."""
    return PL(-f.zero, f.xs, tuple(-y for y in f.ys), tuple(-s for s in f.ss))


def lower(f: PL[N], g: PL[N]) -> PL[N]:
    """Pointwise minimum."""
    zero = f.zero - f.zero
    xs, ys, ss = envelope(pieces(f, zero, zero) + pieces(g, zero, zero), upper=False)
    return PL(min(f.zero, g.zero), xs, ys, ss)


def upper(f: PL[N], g: PL[N]) -> PL[N]:
    """Pointwise maximum."""
    zero = f.zero - f.zero
    xs, ys, ss = envelope(pieces(f, zero, zero) + pieces(g, zero, zero), upper=True)
    return PL(max(f.zero, g.zero), xs, ys, ss)


def clip(f: PL[N]) -> PL[N]:
    """Pointwise ``[f]^+ = max(f, 0)``."""
    zero = f.zero - f.zero
    return upper(f, PL(zero, (zero,), (zero,), (zero,)))


def conv(f: PL[N], g: PL[N]) -> PL[N]:
    """Min-plus convolution ``inf_{0<=s<=t} f(t-s) + g(s)`` (general, segment-wise)."""
    parts: list[Piece[N]] = []
    for u, gu in point_values(g):
        parts += pieces(f, u, gu)
    for x, fx in point_values(f):
        parts += pieces(g, x, fx)
    xs, ys, ss = envelope(parts, upper=False)
    return PL(f.zero + g.zero, xs, ys, ss)


def convex_conv(f: PL[N], g: PL[N]) -> PL[N]:
    """Convolution of convex ``f, g`` with ``f(0) = g(0) = 0``: sort segments by slope."""
    final = min(f.ss[-1], g.ss[-1])
    finite = sorted(
        (h.ss[i], h.xs[i + 1] - h.xs[i]) for h in (f, g) for i in range(len(h.xs) - 1) if h.ss[i] < final
    )
    x = y = f.zero
    segs: list[Seg[N]] = []
    for s, length in finite:
        segs.append((x, y, s))
        x, y = x + length, y + s * length
    segs.append((x, y, final))
    return make(f.zero, segs)


def deconv(f: PL[N], g: PL[N]) -> PL[N] | None:
    """Min-plus deconvolution ``sup_{u>=0} f(t+u) - g(u)``; None when infinite."""
    at_zero = vdev(f, g)
    if at_zero is None:
        return None
    parts: list[Piece[N]] = []
    for u, gu in point_values(g):
        parts += advanced_pieces(f, u, -gu)
    for i in range(1, len(f.xs)):
        parts += reflected_pieces(g, f.xs[i], f.ys[i])
    xs, ys, ss = envelope(parts, upper=True)
    return PL(at_zero, xs, ys, ss)


def vdev(f: PL[N], g: PL[N]) -> N | None:
    """``sup_{t>=0} f(t) - g(t)``; None when infinite."""
    if f.ss[-1] > g.ss[-1]:
        return None
    best = f.zero - g.zero
    for a in sorted(set(f.xs) | set(g.xs)):
        best = max(best, right_limit(f, a) - right_limit(g, a))
        if a > 0:
            best = max(best, value(f, a) - value(g, a))
    return best


def inverse(g: PL[N], y: N) -> N | None:
    """Lower pseudo-inverse ``inf{s >= 0: g(s) >= y}``; None when ``g`` never reaches ``y``."""
    zero = y - y
    if y <= g.zero:
        return zero
    n = len(g.xs)
    for j, x in enumerate(g.xs):
        if y <= g.ys[j]:
            return x
        if j + 1 == n or y <= left_limit(g, j + 1):
            return x + (y - g.ys[j]) / g.ss[j] if g.ss[j] > 0 else None
    return None  # pragma: no cover - the loop always returns


def _levels(g: PL[N]) -> set[N]:
    """Every level at which the pseudo-inverse of ``g`` changes form."""
    out = {g.zero}
    out.update(g.ys)
    out.update(left_limit(g, i) for i in range(1, len(g.xs)))
    return out


def _crossing_times(f: PL[N], levels: Iterable[N]) -> set[N]:
    """Times at which ``f`` passes one of ``levels`` inside a rising segment."""
    out: set[N] = set()
    levels = sorted(levels)
    for i, x in enumerate(f.xs):
        s = f.ss[i]
        if s <= 0:
            continue
        hi = left_limit(f, i + 1) if i + 1 < len(f.xs) else None
        out.update(x + (y - f.ys[i]) / s for y in levels if f.ys[i] < y and (hi is None or y < hi))
    return out


def hdev(f: PL[N], g: PL[N]) -> N | None:
    """``sup_t inf{d >= 0: f(t) <= g(t + d)}``; None when infinite."""
    if f.ss[-1] > g.ss[-1]:
        return None

    def lag(t: N) -> N | None:
        s = inverse(g, value(f, t))
        return None if s is None else s - t

    best = lag(f.zero - f.zero)
    cuts = sorted(set(f.xs) | _crossing_times(f, _levels(g)))
    for k, a in enumerate(cuts):
        b = cuts[k + 1] if k + 1 < len(cuts) else None
        p, q = (a + (b - a) / 3, a + 2 * (b - a) / 3) if b is not None else (a + 1, a + 2)
        dp, dq = lag(p), lag(q)
        if best is None or dp is None or dq is None:
            return None
        # The lag is affine on (a, b): extrapolate to both one-sided limits.
        best = max(best, dp + dp - dq) if b is None else max(best, dp + dp - dq, dq + dq - dp)
    assert best is not None
    return max(best, best - best)


def first_crossing(f: PL[N], g: PL[N]) -> N | None:
    """``inf{t > 0: f(t) <= g(t)}``; None when ``f > g`` for ever."""
    d = add(f, neg(g))
    n = len(d.xs)
    for i, a in enumerate(d.xs):
        if i > 0 and left_limit(d, i) <= 0:
            return a
        y, s = d.ys[i], d.ss[i]
        if y < 0 or (y == 0 and s <= 0):
            return a
        if s < 0:
            c = a + y / -s
            if i + 1 == n or c < d.xs[i + 1]:
                return c
    return None


def advance(f: PL[N], d: N) -> PL[N]:
    """``t -> f(t + d)`` for ``t >= 0``."""
    zero = d - d
    segs = [(x0, y0, s) for x0, _, y0, s in advanced_pieces(f, d, zero)]
    return make(value(f, d), segs)


def delayed_difference(beta: PL[N], alpha: PL[N], theta: N) -> PL[N]:
    """``t -> (beta(t) - alpha(t - theta)) * 1{t > theta}``."""
    zero = theta - theta
    cuts = sorted({theta} | {x for x in beta.xs if x > theta} | {theta + x for x in alpha.xs})
    segs = [(zero, zero, zero)] if theta > 0 else []
    for a in cuts:
        y = right_limit(beta, a) - right_limit(alpha, a - theta)
        segs.append((a, y, slope_after(beta, a) - slope_after(alpha, a - theta)))
    return make(zero, segs)
