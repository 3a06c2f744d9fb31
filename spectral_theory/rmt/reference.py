"""mpmath reference for the companion equation (slow, simple, trusted because simple; for tests).

The companion equation ``z = 1/g + sum_k a_k v_k / (1 - v_k g)`` is cleared of denominators into a
polynomial of degree K+1 in g,

    z g P(g) - P(g) - g sum_k a_k v_k P_k(g) = 0,   P = prod_k (1 - v_k g),  P_k = P / (1 - v_k g),

whose roots mpmath finds to ``dps`` digits. The Stieltjes transform is the unique root with
``Im g < 0`` for ``Im z > 0`` (Silverstein & Bai 1995); on the real axis we take z = x + i 10^-(dps-10),
a perturbation far below the 1e-10 accuracy being checked. Edges: the real roots of the degree-2K
polynomial ``prod_k (s - v_k)^2 - sum_k a_k v_k^2 prod_{j != k} (s - v_j)^2`` (H(s) = 1), mapped by
``z(s) = s + sum_k a_k v_k s / (s - v_k)``. No numba, no numpy in the arithmetic.
"""
from __future__ import annotations

import mpmath as mp


def _polymul(p, q):
    out = [mp.mpf(0)] * (len(p) + len(q) - 1)
    for i, x in enumerate(p):
        for j, y in enumerate(q):
            out[i + j] += x * y
    return out


def _polyadd(p, q):
    n = max(len(p), len(q))
    p = p + [mp.mpf(0)] * (n - len(p))
    q = q + [mp.mpf(0)] * (n - len(q))
    return [x + y for x, y in zip(p, q)]


def _prod(factors):
    out = [mp.mpf(1)]
    for f in factors:
        out = _polymul(out, f)
    return out


def companion_stieltjes(z, a, v, dps: int = 50):
    """Companion g(z) at ``dps`` digits (coefficients in increasing powers internally)."""
    with mp.workdps(dps + 10):
        a = [mp.mpf(x) for x in a]
        v = [mp.mpf(x) for x in v]
        z = mp.mpc(z)
        if z.imag == 0:
            z = mp.mpc(z.real, mp.mpf(10) ** (-(dps - 10)))
        lin = [[mp.mpf(1), -vk] for vk in v]                       # 1 - v_k g
        big_p = _prod(lin)
        poly = _polyadd(_polymul([mp.mpf(0), z], big_p), [-c for c in big_p])
        for k in range(len(v)):
            pk = _prod(lin[:k] + lin[k + 1:])
            poly = _polyadd(poly, [-c for c in _polymul([mp.mpf(0), a[k] * v[k]], pk)])
        roots = mp.polyroots(list(reversed(poly)), maxsteps=500, extraprec=4 * dps)
        lower = [r for r in roots if mp.im(r) < 0]
        if len(lower) != 1:
            raise ArithmeticError(f"expected one root with Im g < 0, found {len(lower)}: {roots}")
        return mp.mpc(lower[0])


def law_stieltjes(z, a, v, c=1, dps: int = 50):
    """g of mu = (mu_c - (1 - c) delta_0)/c (c = 1: the companion law itself)."""
    with mp.workdps(dps + 10):
        gc = companion_stieltjes(z, a, v, dps)
        c = mp.mpf(c)
        return (gc - (1 - c) / mp.mpc(z)) / c


def edges(a, v, dps: int = 50):
    """Sorted support edges at ``dps`` digits."""
    with mp.workdps(dps + 10):
        a = [mp.mpf(x) for x in a]
        v = [mp.mpf(x) for x in v]
        sq = [_polymul([-vk, mp.mpf(1)], [-vk, mp.mpf(1)]) for vk in v]   # (s - v_k)^2
        poly = _prod(sq)
        for k in range(len(v)):
            poly = _polyadd(poly, [-a[k] * v[k] ** 2 * c for c in _prod(sq[:k] + sq[k + 1:])])
        roots = mp.polyroots(list(reversed(poly)), maxsteps=500, extraprec=4 * dps)
        real = sorted(mp.re(r) for r in roots if abs(mp.im(r)) < mp.mpf(10) ** (-dps // 2))
        return [s + sum(ak * vk * s / (s - vk) for ak, vk in zip(a, v)) for s in real]


__all__ = ["companion_stieltjes", "law_stieltjes", "edges"]
