"""The sympy symbols shared by the derivations, created once with their assumptions.

Assumptions matter: ``positive=True`` lets sympy take square roots and pick the positive root of a
quadratic without case splits, and the same assumptions are printed in the LaTeX document and turned
into input checks of the compiled numeric functions (:mod:`derivations.codegen`).  A derivation that
needs a different assumption for the same letter (say a variance that may be zero) defines its own
local symbol; sympy treats it as a different symbol, which is the point.

Conventions (the project theory notes, ``conventions.md``): forward process ``x_t = alpha x_0 + sigma xi``,
VE-equivalent noise variance ``tau = sigma^2/alpha^2``; ``gamma = D/N`` is the aspect ratio of a sample
covariance; spike strengths ``ell`` are in units of the noise variance.
"""
from __future__ import annotations

import sympy as sp

# forward process
alpha = sp.Symbol("alpha", positive=True)        # signal scale alpha_t
sigma = sp.Symbol("sigma", positive=True)        # noise standard deviation sigma_t
tau = sp.Symbol("tau", positive=True)            # VE-equivalent noise variance sigma^2/alpha^2

# data and spectra
lam = sp.Symbol("lambda", positive=True)         # an eigenvalue of the data covariance
mu0 = sp.Symbol("m", real=True)                  # data mean along an eigendirection
x = sp.Symbol("x", real=True)                    # a noisy point (coordinate) or a spectral variable
x0 = sp.Symbol("x_0", real=True)                 # clean data coordinate
z = sp.Symbol("z")                               # complex spectral parameter
g = sp.Symbol("g")                               # Stieltjes transform value g(z)

# random matrices
gamma = sp.Symbol("gamma", positive=True)        # aspect ratio D/N
scale = sp.Symbol("s", positive=True)            # entry variance (scale) of a sample covariance
ell = sp.Symbol("ell", positive=True)            # spike strength (SNR) in units of the noise variance
theta = sp.Symbol("theta", positive=True)        # population spike eigenvalue 1 + ell
eig = sp.Symbol("mu", positive=True)             # a sample eigenvalue (outlier)

# gaps
a_edge = sp.Symbol("a", positive=True)           # upper edge of the lower bulk
b_edge = sp.Symbol("b", positive=True)           # lower edge of the upper bulk
delta = sp.Symbol("Delta", positive=True)        # resolution threshold of a gap
