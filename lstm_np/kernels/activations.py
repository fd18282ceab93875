"""Scalar activations for the kernels, selected by the integer codes of ``lstm_np.activations``.

Numba's ``math.exp`` and ``math.tanh`` are calls into libm that LLVM cannot vectorise (numba
issue 10060), and the gates spend most of their time in them. So the kernels use
:func:`exp_vec`, written with arithmetic and integer shifts only, so that a loop over it
compiles to SIMD code. It is the textbook method: ``x = k ln2 + r`` with ``|r| <= ln2 / 2``
(``ln 2`` split in two parts so ``r`` is exact), ``exp(r)`` from its degree-13 Taylor polynomial,
and ``2**k`` built from two integer shifts. Within 1.1 ulp of ``exp`` on ``[-40, 40]``
(``tests/test_kernels.py`` measures it); arguments are clipped to that range, where the logistic
function is within 5e-18 of 0 or 1. Compiled code on float32 arrays gets a float32 twin (degree-7
polynomial, within 2 float32 ulp), since float32 arithmetic fills twice as many SIMD lanes.
"""
import math

import numpy as np

from .._jit import HAVE_NUMBA, njit

LINEAR, SIGMOID, TANH, RELU, HARD_SIGMOID = 0, 1, 2, 3, 4
LN2_HI, LN2_LO = 0.693145751953125, 1.42860682030941723212e-6     # LN2_HI has 16 trailing zero bits
# the same constants in float32, for the float32 twins (typed, so no float64 creeps in)
F32_M40, F32_40, F32_HALF, F32_1 = (np.float32(v) for v in (-40.0, 40.0, 0.5, 1.0))
F32_LOG2E = np.float32(1.4426950408889634)
F32_LN2_HI, F32_LN2_LO = np.float32(0.693359375), np.float32(-2.12194440e-4)   # HI: 9 bits
F32_C3, F32_C4, F32_C5, F32_C6, F32_C7 = (np.float32(1 / math.factorial(n)) for n in range(3, 8))
F32_TWO_M60 = np.float32(2.0 ** -60)


@njit(inline="always")
def _exp64(x):
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
def _exp32(x):
    """The same method in float32 arithmetic (twice the SIMD width): degree-7 Taylor, whose
    remainder ``(ln2/2)**8 / 8!`` is below a tenth of float32's unit roundoff."""
    x = min(max(x, F32_M40), F32_40)
    k = np.float32(math.floor(x * F32_LOG2E + F32_HALF))
    r = (x - k * F32_LN2_HI) - k * F32_LN2_LO
    p = F32_1 + r * (F32_1 + r * (F32_HALF + r * (F32_C3 + r * (F32_C4 + r * (
        F32_C5 + r * (F32_C6 + r * F32_C7))))))
    ki = np.int64(k)
    m = ki >> 1
    two_k = (np.float32(np.int64(1) << (m + 30)) * np.float32(np.int64(1) << (ki - m + 30))
             * F32_TWO_M60)
    return p * two_k


@njit(inline="always")
def _sigmoid64(x):
    return 1.0 / (1.0 + _exp64(-x))


@njit(inline="always")
def _tanh64(x):
    return 2.0 / (1.0 + _exp64(-2.0 * x)) - 1.0                     # tanh(x) = 2 σ(2x) - 1


@njit(inline="always")
def _sigmoid32(x):
    return F32_1 / (F32_1 + _exp32(-x))


@njit(inline="always")
def _tanh32(x):
    return np.float32(2.0) / (F32_1 + _exp32(np.float32(-2.0) * x)) - F32_1


def exp_vec(x):
    """``exp(x)`` for ``x`` clipped to ``[-40, 40]``, in the precision of ``x``."""
    return _exp64(x)


def sigmoid_vec(x):
    return _sigmoid64(x)


def tanh_vec(x):
    return _tanh64(x)


if HAVE_NUMBA:
    # Inside compiled code each of these picks its float32 or float64 version by the argument's
    # type (float32 arithmetic runs twice as many lanes); plain Python uses the float64 one.
    from numba import types
    from numba.extending import overload

    def _by_precision(python_function, f32, f64):
        @overload(python_function, inline="always")
        def _typed(x):
            chosen = f32 if x == types.float32 else f64

            def implementation(x):
                return chosen(x)
            return implementation

    _by_precision(exp_vec, _exp32, _exp64)
    _by_precision(sigmoid_vec, _sigmoid32, _sigmoid64)
    _by_precision(tanh_vec, _tanh32, _tanh64)


@njit(inline="always")
def activate(code, x):
    if code == SIGMOID:
        return sigmoid_vec(x)
    if code == TANH:
        return tanh_vec(x)
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
