"""The kernels' own exp, sigmoid and tanh against NumPy's: accuracy in ulps (relative, down to
the tiniest inputs), overflow and underflow where NumPy has them, NaN."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_np._jit import njit
from lstm_np.kernels.activations import SIGMOID, TANH, activate, derivative, exp_vec


@njit
def _exp_all(x, out):
    for k in range(x.shape[0]):
        out[k] = exp_vec(x[k])


@njit
def _activate_all(code, x, out):
    for k in range(x.shape[0]):
        out[k] = activate(code, x[k])


def exp(x, dtype=np.float64):
    x = np.asarray(x, dtype=dtype)
    out = np.empty_like(x)
    _exp_all(x, out)
    return out


def act(code, x, dtype=np.float64):
    x = np.asarray(x, dtype=dtype)
    out = np.empty_like(x)
    _activate_all(code, x, out)
    return out


def ulps(a, b):
    """|a - b| in units of the last place of ``b`` (in ``a``'s precision); subnormals count in
    the spacing of the smallest normal number, as their precision is absolute."""
    b = b.astype(a.dtype)
    tiny = np.finfo(a.dtype).tiny
    spacing = np.spacing(np.maximum(np.abs(b), tiny))
    with np.errstate(invalid="ignore"):
        return np.where(a == b, 0.0, np.abs(a.astype(np.float64) - b) / spacing)


def tiny_and_wide(dtype, seed=0):
    """Inputs from 1e-300 (float32: 1e-38) up to the overflow range, both signs, dense near 0."""
    rng = np.random.default_rng(seed)
    lowest = -300 if dtype == np.float64 else -37
    magnitudes = 10.0 ** rng.uniform(lowest, 2.9, 200_000)
    return np.concatenate([magnitudes, -magnitudes, np.linspace(-30, 30, 100_001),
                           [0.0, -0.0, np.log(2) / 2, -np.log(2) / 2]]).astype(dtype)


def test_exp_within_two_ulp_wherever_it_is_finite_and_not_zero():
    x = np.concatenate([np.linspace(-745, 709.7, 400_001),
                        np.random.default_rng(0).uniform(-40, 40, 200_000),
                        [0.0, -0.0, 1e-300, -1e-300, np.log(2) / 2, -np.log(2) / 2]])
    assert ulps(exp(x), np.exp(x)).max() <= 2.0


@settings(max_examples=300, deadline=None)
@given(st.floats(-800.0, 800.0, allow_nan=False))
def test_exp_matches_numpy_anywhere(x):
    assert ulps(exp([x]), np.exp([x]))[0] <= 2.0


def test_exp_overflows_and_underflows_where_numpy_does_and_keeps_nan():
    """No clipping: 0 and the subnormals below -708, inf above 709.78, NaN stays NaN."""
    with np.errstate(over="ignore", under="ignore"):
        for dtype, x in [(np.float64, [-1e6, -746.0, -745.0, -740.0, -708.5, 709.7, 709.8, 1e6,
                                       np.inf, -np.inf]),
                         (np.float32, [-1e6, -104.0, -103.0, -100.0, -87.5, 88.7, 88.8, 1e6,
                                       np.inf, -np.inf])]:
            expected = np.exp(np.asarray(x, dtype))
            out = exp(x, dtype)
            assert ulps(out, expected).max() <= 2.0, (dtype, out, expected)
            assert out[0] == 0 and out[-3] == np.inf and out[-1] == 0
    assert np.isnan(exp([np.nan])[0]) and np.isnan(exp([np.nan], np.float32)[0])


@pytest.mark.parametrize("dtype, worst", [(np.float64, 3.0), (np.float32, 3.0)])
def test_tanh_within_a_few_ulp_relative_down_to_the_tiniest_inputs(dtype, worst):
    """tanh keeps its relative accuracy near 0: 2σ(2x) - 1 turned float32's tanh(1e-8) into 0."""
    x = tiny_and_wide(dtype)
    exact = np.tanh(x.astype(np.float64))
    assert ulps(act(TANH, x, dtype), exact).max() <= worst
    tiny = np.array([1e-8, -1e-8, 1e-20, 3e-30], dtype)
    np.testing.assert_array_equal(act(TANH, tiny, dtype), tiny)       # tanh x = x to the last bit


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_within_a_few_ulp_relative_into_deep_saturation(dtype):
    """σ(-x) keeps going down with x (σ(-500) = 7e-218, as PyTorch gives), no floor at 4e-18."""
    x = tiny_and_wide(dtype, seed=1)
    x = x[np.abs(x) < (700 if dtype == np.float64 else 87)]
    with np.errstate(over="ignore"):
        exact = 1.0 / (1.0 + np.exp(-x.astype(np.float64)))
    assert ulps(act(SIGMOID, x, dtype), exact).max() <= 3.0
    deep = act(SIGMOID, [-500.0, -50.0])
    assert ulps(deep, 1.0 / (1.0 + np.exp([500.0, 50.0]))).max() <= 2.0
    assert act(SIGMOID, [-800.0, 800.0]).tolist() == [0.0, 1.0]


def test_sigmoid_and_tanh_saturate_exactly_where_float64_does():
    assert act(SIGMOID, [60.0])[0] == 1.0 and act(TANH, [-60.0])[0] == -1.0
    assert act(TANH, [np.inf, -np.inf]).tolist() == [1.0, -1.0]
    assert act(TANH, [20.0, 1e300], np.float32).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("code", [SIGMOID, TANH])
def test_activations_propagate_nan(code):
    assert np.isnan(act(code, [np.nan])[0])


def test_derivative_through_the_output():
    x = np.linspace(-9, 9, 37)
    s, t = act(SIGMOID, x), act(TANH, x)
    exact_s = np.exp(-x) / (1.0 + np.exp(-x)) ** 2
    exact_t = 1.0 / np.cosh(x) ** 2
    np.testing.assert_allclose([derivative(SIGMOID, y) for y in s], exact_s, rtol=1e-12)
    np.testing.assert_allclose([derivative(TANH, y) for y in t], exact_t, rtol=0, atol=1e-15)


def test_float32_twins_stay_within_float32_rounding():
    """Compiled code on float32 arrays runs float32 versions: exp within 2 float32 ulp,
    sigmoid and tanh within 2.5e-7 of the exact values (float32's spacing at 1 is 1.2e-7)."""
    x = np.linspace(-80, 80, 400_001).astype(np.float32)
    out = np.empty_like(x)
    _exp_all(x, out)
    exact = np.exp(x.astype(np.float64))
    assert out.dtype == np.float32
    assert (np.abs(out - exact) / np.spacing(exact.astype(np.float32))).max() <= 2.0
    for code, f in [(SIGMOID, lambda v: 1 / (1 + np.exp(-v))), (TANH, np.tanh)]:
        _activate_all(code, x, out)
        assert np.abs(out - f(x.astype(np.float64))).max() <= 2.5e-7


@pytest.mark.parametrize("dtype, start", [(np.float64, -750.0), (np.float32, -106.0)])
def test_sigmoid_underflows_gradually_like_the_numpy_path(dtype, start):
    """Below -709.78 (float32: -88.72) exp(-x) overflows; σ(x) is then the subnormal exp(x),
    which the NumPy path gives and the kernel must give too, not 0 (issue 19, item 17)."""
    from lstm_np.activations import sigmoid

    x = np.linspace(start, start + 70.0, 700_001).astype(dtype)
    with np.errstate(under="ignore", over="ignore"):
        expected = sigmoid(x)
    out = act(SIGMOID, x, dtype)
    assert ulps(out, expected).max() <= 3.0
    tiny = np.finfo(dtype).tiny
    assert ((out > 0) & (out < tiny)).sum() > 100_000           # the subnormal range is really hit
    assert act(SIGMOID, [-np.inf], dtype)[0] == 0.0


def test_float32_tanh_within_three_ulp_on_every_float32_of_its_worst_binade():
    """The documented bound of the float32 twin: 3 ulp (attained near |x| = 8.5e-4)."""
    lo, hi = (np.float32(2.0**e).view(np.int32) for e in (-11, -10))
    x = np.arange(lo, hi, dtype=np.int32).view(np.float32)
    x = np.concatenate([x, -x])
    assert ulps(act(TANH, x, np.float32), np.tanh(x.astype(np.float64))).max() <= 3.0
