"""Scalar activations for the kernels, selected by the integer codes of ``lstm_np.activations``.

Numba's ``math.exp`` and ``math.tanh`` are calls into libm that LLVM cannot vectorise (numba
issue 10060), and the gates spend most of their time in them. So the kernels use
:func:`exp_vec` and :func:`tanh_vec`, written with arithmetic, integer shifts and a bit cast
only, so that a loop over them compiles to SIMD code.

**exp** is the textbook method: ``x = k ln2 + r`` with ``|r| <= ln2 / 2`` (``ln 2`` split in two
parts so ``r`` is exact), ``exp(r)`` from its degree-13 Taylor polynomial, and ``2**k`` as two
factors ``2**(k//2)`` and ``2**(k - k//2)`` built from their exponent bits — two, so that
``exp`` underflows gradually to the subnormals and to 0, and overflows to ``inf``, exactly where
NumPy's does. Within 2 ulp of ``np.exp`` everywhere (``tests/test_kernels.py`` measures it). The
argument is only clamped to ``[-746, 710]``, beyond which the result is 0 or ``inf`` anyway:
a saturated gate's ``σ(-x)`` is ``1e-221`` as in PyTorch, not a clipped ``4e-18``.

**tanh** is ``em / (em + 2)`` with ``em = exp(2x) - 1`` formed without cancellation: from the
same reduction, ``em = (2**k - 1) + 2**k (exp(r) - 1)``, with ``exp(r) - 1`` the Taylor
polynomial without its constant term. It keeps its relative accuracy near 0 (``tanh(1e-8)``
is ``1e-8`` to the last bit, where ``2 σ(2x) - 1`` gave 0 in float32); within 3 ulp of
``np.tanh`` everywhere.

**sigmoid** is ``1 / (1 + exp(-x))``, and below ``x = -709.78``, where ``exp(-x)`` overflows,
the same division scaled by ``2**-600`` so that it gives the subnormal ``σ(x) ≈ exp(x)`` down to
``-745`` and then 0, like NumPy's ``e / (1 + e)`` (within 3 ulp of it, subnormals counted in
the spacing of the smallest normal number).

Compiled code on float32 arrays gets float32 twins (degree-7 polynomials), since float32
arithmetic fills twice as many SIMD lanes. Measured on every third float32 in ``[-104, 104]``
against the correctly rounded float32 results: exp within 1 ulp (where it is normal), sigmoid
within 2 ulp (its subnormals below ``-87.3`` included), tanh within 3 ulp (the worst near
``|x| = 1e-3``).
"""
import math

import numpy as np

from .._jit import HAVE_NUMBA, njit

LINEAR, SIGMOID, TANH, RELU, HARD_SIGMOID = 0, 1, 2, 3, 4
LN2_HI, LN2_LO = 0.693145751953125, 1.42860682030941723212e-6     # LN2_HI has 16 trailing zero bits
EXP_MIN, EXP_MAX = -746.0, 710.0                 # exp is 0 below, inf above, in float64
TANH_MAX = 20.0                                  # tanh(20) rounds to 1 in float64
# the same constants in float32, for the float32 twins (typed, so no float64 creeps in)
F32_EXP_MIN, F32_EXP_MAX, F32_TANH_MAX = np.float32(-104.0), np.float32(89.0), np.float32(9.0)
F32_HALF, F32_1, F32_2 = np.float32(0.5), np.float32(1.0), np.float32(2.0)
F32_LOG2E = np.float32(1.4426950408889634)
F32_LN2_HI, F32_LN2_LO = np.float32(0.693359375), np.float32(-2.12194440e-4)   # HI: 9 bits
F32_C3, F32_C4, F32_C5, F32_C6, F32_C7 = (np.float32(1 / math.factorial(n)) for n in range(3, 8))


# --- 2**k from its exponent bits --------------------------------------------------------------
def float64_from_bits(bits):
    """The float64 whose IEEE bits are the int64 ``bits``."""
    return np.int64(bits).view(np.float64)


def float32_from_bits(bits):
    """The float32 whose IEEE bits are the int32 ``bits``."""
    return np.int32(bits).view(np.float32)


if HAVE_NUMBA:
    # compiled, each is a single bit cast (which LLVM vectorises); plain Python uses the above
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic, overload

    def _bitcast(int_type, float_type, llvm_type):
        @intrinsic
        def cast(typingctx, bits):
            def codegen(context, builder, signature, args):
                return builder.bitcast(args[0], llvm_type)
            return float_type(int_type), codegen
        return cast

    _cast64 = _bitcast(types.int64, types.float64, ir.DoubleType())
    _cast32 = _bitcast(types.int32, types.float32, ir.FloatType())

    @overload(float64_from_bits, inline="always")
    def _float64_from_bits(bits):
        return lambda bits: _cast64(np.int64(bits))

    @overload(float32_from_bits, inline="always")
    def _float32_from_bits(bits):
        return lambda bits: _cast32(np.int32(bits))


@njit(inline="always")
def _reduce64(x):
    """``x = k ln2 + r``, ``|r| <= ln2 / 2``; returns ``k`` (an integer-valued float) and
    ``exp(r) - 1`` (the degree-13 Taylor polynomial without its constant term)."""
    k = math.floor(x * 1.4426950408889634 + 0.5)                     # round(x / ln 2)
    r = (x - k * LN2_HI) - k * LN2_LO                               # exact
    q = r * (1.0 + r * (0.5 + r * (1.6666666666666666e-01 + r * (
        4.1666666666666664e-02 + r * (8.3333333333333332e-03 + r * (
            1.3888888888888889e-03 + r * (1.9841269841269841e-04 + r * (
                2.4801587301587302e-05 + r * (2.7557319223985893e-06 + r * (
                    2.7557319223985888e-07 + r * (2.5052108385441720e-08 + r * (
                        2.0876756987868100e-09 + r * 1.6059043836821613e-10))))))))))))
    return k, q


@njit(inline="always")
def _exp64(x):
    k, q = _reduce64(min(max(x, EXP_MIN), EXP_MAX))
    ki = np.int64(k)                                 # NaN gives any k: q is NaN anyway
    k1 = ki >> 1
    # exp(x) = exp(r) 2**k1 2**(k - k1): each factor a normal float, the product rounds once
    return ((1.0 + q) * float64_from_bits((k1 + 1023) << 52)
            * float64_from_bits((ki - k1 + 1023) << 52))


@njit(inline="always")
def _tanh64(x):
    k, q = _reduce64(2.0 * min(max(x, -TANH_MAX), TANH_MAX))       # exp(2x) = 2**k (1 + q)
    two_k = float64_from_bits((np.int64(k) + 1023) << 52)
    em = (two_k - 1.0) + two_k * q                                  # exp(2x) - 1, no cancellation
    return em / (em + 2.0)                                          # tanh x = (e^2x - 1)/(e^2x + 1)


@njit(inline="always")
def _reduce32(x):
    """:func:`_reduce64` in float32 arithmetic (twice the SIMD width): degree-7 Taylor, whose
    remainder ``(ln2/2)**8 / 8!`` is below a tenth of float32's unit roundoff."""
    k = np.float32(math.floor(x * F32_LOG2E + F32_HALF))
    r = (x - k * F32_LN2_HI) - k * F32_LN2_LO
    q = r * (F32_1 + r * (F32_HALF + r * (F32_C3 + r * (F32_C4 + r * (
        F32_C5 + r * (F32_C6 + r * F32_C7))))))
    return k, q


@njit(inline="always")
def _exp32(x):
    k, q = _reduce32(min(max(x, F32_EXP_MIN), F32_EXP_MAX))
    ki = np.int64(k)
    k1 = ki >> 1
    return ((F32_1 + q) * float32_from_bits((k1 + 127) << 23)
            * float32_from_bits((ki - k1 + 127) << 23))


@njit(inline="always")
def _tanh32(x):
    k, q = _reduce32(F32_2 * min(max(x, -F32_TANH_MAX), F32_TANH_MAX))
    two_k = float32_from_bits((np.int64(k) + 127) << 23)
    em = (two_k - F32_1) + two_k * q
    return em / (em + F32_2)


@njit(inline="always")
def _sigmoid64(x):
    """``1 / (1 + e)``, ``e = exp(-x)`` as :func:`_exp64` forms it, bit for bit. Where ``e``
    would overflow (``x < -709.78``) σ(x) is the subnormal ``exp(x)``: then ``k > 1000`` and
    numerator and ``e`` are both scaled by ``2**-600`` (``n / (n + e')`` with ``n + e' = e'``),
    so the one division rounds gradually to the subnormals and to 0, as NumPy's ``e / (1 + e)``
    does. Otherwise the shift is 0 and this is exactly ``1 / (1 + exp(-x))``."""
    k, q = _reduce64(min(max(-x, EXP_MIN), -EXP_MIN))
    ki = np.int64(k)
    k1 = ki >> 1
    shift = np.int64(600) * np.int64(ki > 1000)       # a select, not a branch: inlines cleanly
    n = float64_from_bits((1023 - shift) << 52)                         # 2**-shift
    e = ((1.0 + q) * float64_from_bits((k1 - shift + 1023) << 52)
         * float64_from_bits((ki - k1 + 1023) << 52))
    return n / (n + e)


@njit(inline="always")
def _sigmoid32(x):
    """:func:`_sigmoid64` in float32 (``e`` overflows for ``x < -88.72``: shift by ``2**-60``
    where ``k > 120``)."""
    k, q = _reduce32(min(max(-x, F32_EXP_MIN), -F32_EXP_MIN))
    ki = np.int64(k)
    k1 = ki >> 1
    shift = np.int64(60) * np.int64(ki > 120)
    n = float32_from_bits((127 - shift) << 23)
    e = ((F32_1 + q) * float32_from_bits((k1 - shift + 127) << 23)
         * float32_from_bits((ki - k1 + 127) << 23))
    return n / (n + e)


def exp_vec(x):
    """``exp(x)`` in the precision of ``x``."""
    return _exp64(x)


def sigmoid_vec(x):
    return _sigmoid64(x)


def tanh_vec(x):
    return _tanh64(x)


if HAVE_NUMBA:
    # Inside compiled code each of these picks its float32 or float64 version by the argument's
    # type (float32 arithmetic runs twice as many lanes); plain Python uses the float64 one.
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
    return activate_piecewise(code, x)


@njit(inline="always")
def activate_piecewise(code, x):
    """relu, hard_sigmoid or linear: what is left once a loop has taken sigmoid and tanh apart
    (leaving their polynomials out of the generic loop halves its compilation time)."""
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
