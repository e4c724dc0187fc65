"""Gamma speckle statistics used by the filters (no dependency on the rest of eoxr.sar)."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=256)
def sigma_range(looks: float, sigma: float) -> tuple[float, float, float]:
    """Lee et al. 2009 sigma range ``(eta1, eta2, var)`` of unit-mean gamma speckle of ``looks``.

    ``[eta1, eta2]`` holds probability ``sigma`` and the speckle restricted to it has mean 1
    (the unbiased range of the improved sigma filter); ``var`` is the variance of the speckle
    inside the range, used by the MMSE step. Solved from the gamma CDF, where
    ``E[v 1(a<v<b)] = F_{L+1}(b) - F_{L+1}(a)`` and
    ``E[v^2 1(a<v<b)] = (L+1)/L (F_{L+2}(b) - F_{L+2}(a))``.

    Parameters
    ----------
    looks : float
        Number of looks ``L`` of the speckle.
    sigma : float
        Probability mass of the range (0.5-0.99).

    Returns
    -------
    tuple of float
        ``(eta1, eta2, var)``.

    Examples
    --------
    >>> e1, e2, var = sigma_range(4.4, 0.9)
    >>> bool(e1 < 1 < e2 and 0 < var < 1 / 4.4)
    True
    """
    from scipy import optimize, special

    L = float(looks)

    def F(shape: float, v: float) -> float:
        return float(special.gammainc(shape, L * v))

    def upper(a: float) -> float:
        target = F(L, a) + sigma
        return optimize.brentq(lambda b: F(L, b) - target, a, 1e3)

    def bias(a: float) -> float:
        b = upper(a)
        return (F(L + 1, b) - F(L + 1, a)) - sigma

    a_max = optimize.brentq(lambda a: F(L, a) - (1.0 - sigma) + 1e-12, 0.0, 1e3)
    eta1 = optimize.brentq(bias, 0.0, a_max * (1 - 1e-9), xtol=1e-12)
    eta2 = upper(eta1)
    second = (L + 1) / L * (F(L + 2, eta2) - F(L + 2, eta1)) / sigma
    return eta1, eta2, second - 1.0
