"""The kernels' own exp, sigmoid and tanh against NumPy's: accuracy in ulps, limits, NaN."""
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


def exp(x):
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    _exp_all(x, out)
    return out


def act(code, x):
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    _activate_all(code, x, out)
    return out


def ulps(a, b):
    return np.abs(a - b) / np.spacing(np.abs(b))


def test_exp_within_two_ulp_on_its_range():
    x = np.concatenate([np.linspace(-40, 40, 400_001),
                        np.random.default_rng(0).uniform(-40, 40, 200_000),
                        [0.0, -0.0, 1e-300, -1e-300, np.log(2) / 2, -np.log(2) / 2]])
    assert ulps(exp(x), np.exp(x)).max() <= 2.0


@settings(max_examples=300, deadline=None)
@given(st.floats(-40.0, 40.0, allow_nan=False))
def test_exp_matches_numpy_anywhere_in_range(x):
    assert ulps(exp([x]), np.exp([x]))[0] <= 2.0


def test_exp_clips_outside_its_range_and_keeps_nan():
    out = exp([-1e6, -41.0, 41.0, 1e6, np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal(out[:6], exp([-40.0, -40.0, 40.0, 40.0, 40.0, -40.0]))
    assert ulps(out[:6], np.exp([-40.0, -40.0, 40.0, 40.0, 40.0, -40.0])).max() <= 2.0
    assert np.isnan(out[6])


def test_sigmoid_and_tanh_are_exact_to_float64_rounding():
    x = np.linspace(-60, 60, 240_001)
    sigmoid = 1.0 / (1.0 + np.exp(-x))
    np.testing.assert_allclose(act(SIGMOID, x), sigmoid, rtol=4e-16, atol=1e-17)
    np.testing.assert_allclose(act(TANH, x), np.tanh(x), rtol=0, atol=4e-16)
    # the saturated ends are exactly 0/1 and ±1 where float64 says so
    assert act(SIGMOID, [60.0])[0] == 1.0 and act(TANH, [-60.0])[0] == -1.0


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
    x = np.linspace(-40, 40, 400_001).astype(np.float32)
    out = np.empty_like(x)
    _exp_all(x, out)
    exact = np.exp(x.astype(np.float64))
    assert out.dtype == np.float32
    assert (np.abs(out - exact) / np.spacing(exact.astype(np.float32))).max() <= 2.0
    for code, f in [(SIGMOID, lambda v: 1 / (1 + np.exp(-v))), (TANH, np.tanh)]:
        _activate_all(code, x, out)
        assert np.abs(out - f(x.astype(np.float64))).max() <= 2.5e-7
