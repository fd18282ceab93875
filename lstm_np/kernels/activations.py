"""Scalar activations for the kernels, selected by the integer codes of ``lstm_np.activations``.

Numba's ``math.exp`` and ``math.tanh`` are calls into libm that LLVM cannot vectorise (numba
issue 10060), and the gates spend most of their time in them. So the kernels use
:func:`exp_vec`, written with arithmetic and integer shifts only, so that a loop over it
compiles to SIMD code. It is the textbook method: ``x = k ln2 + r`` with ``|r| <= ln2 / 2``
(``ln 2`` split in two parts so ``r`` is exact), ``exp(r)`` from its degree-13 Taylor polynomial,
and ``2**k`` built from two integer shifts. Within 1.1 ulp of ``exp`` on ``[-40, 40]``
(``tests/test_kernels.py`` measures it); arguments are clipped to that range, where the logistic
function is within 5e-18 of 0 or 1.
"""
import math

import numpy as np

from .._jit import njit

LINEAR, SIGMOID, TANH, RELU, HARD_SIGMOID = 0, 1, 2, 3, 4
LN2_HI, LN2_LO = 0.693145751953125, 1.42860682030941723212e-6     # LN2_HI has 16 trailing zero bits


@njit(inline="always")
def exp_vec(x):
    x = min(max(x, -40.0), 40.0)
    k = math.floor(x * 1.4426950408889634 + 0.5)                     # round(x / ln 2)
    r = (x - k * LN2_HI) - k * LN2_LO                               # |r| <= ln2 / 2
    p = 1.0 + r * (1.0 + r * (0.5 + r * (1.6666666666666666e-01 + r * (
        4.1666666666666664e-02 + r * (8.3333333333333332e-03 + r * (
            1.3888888888888889e-03 + r * (1.9841269841269841e-04 + r * (
                2.4801587301587302e-05 + r * (2.7557319223985893e-06 + r * (
                    2.7557319223985888e-07 + r * (2.5052108385441720e-08 + r * (
                        2.0876756987868100e-09 + r * 1.6059043836821613e-10))))))))))))
    # 2**k = 2**m * 2**(k - m) * 2**-60, each factor an exact integer power of two
    ki = np.int64(k)
    m = ki >> 1
    two_k = (np.float64(np.int64(1) << (m + 30)) * np.float64(np.int64(1) << (ki - m + 30))
             * 8.673617379884035e-19)
    return p * two_k


@njit(inline="always")
def activate(code, x):
    if code == SIGMOID:
        return 1.0 / (1.0 + exp_vec(-x))
    if code == TANH:
        return 2.0 / (1.0 + exp_vec(-2.0 * x)) - 1.0             # tanh(x) = 2 σ(2x) - 1
    if code == RELU:
        return max(x, 0.0)
    if code == HARD_SIGMOID:
        return min(max(x / 6.0 + 0.5, 0.0), 1.0)
    return x


@njit(inline="always")
def derivative(code, y):
    """``act'(x)`` written through the stored output ``y = act(x)``."""
    if code == SIGMOID:
        return y * (1.0 - y)
    if code == TANH:
        return 1.0 - y * y
    if code == RELU:
        return 1.0 if y > 0 else 0.0
    if code == HARD_SIGMOID:
        return 1.0 / 6.0 if 0.0 < y < 1.0 else 0.0
    return 1.0
