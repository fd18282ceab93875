"""The activations by name (lstm_np.activations) and by code (the compiled kernels) are the same
functions: one definition of the codes, and each code computes what its name says."""
import numpy as np
import pytest

from lstm_np import activations
from lstm_np.gradcheck import numerical_gradient, relative_error
from lstm_np.kernels import activations as kernel_activations

# avoids the kinks of relu (0) and hard_sigmoid (±3), where the derivative jumps
X = np.array([-7.5, -2.9, -1.0, -0.3, 0.2, 0.8, 2.5, 2.95, 6.0])


@pytest.mark.parametrize("name", activations.CODES)
def test_each_code_computes_the_function_of_its_name(name):
    code = activations.CODES[name]
    compiled = np.array([kernel_activations.activate(code, v) for v in X])
    np.testing.assert_allclose(compiled, activations.FUNCTIONS[name](X), rtol=1e-14, atol=1e-15)
    y = activations.FUNCTIONS[name](X)
    compiled_derivative = np.array([kernel_activations.derivative(code, v) for v in y])
    np.testing.assert_allclose(compiled_derivative, activations.derivative_from_output(name, y),
                               rtol=1e-14, atol=1e-15)


def test_the_codes_are_distinct_and_cover_every_name():
    assert sorted(activations.CODES) == sorted(activations.FUNCTIONS)
    assert sorted(activations.CODES) == sorted(activations.DERIVATIVES)
    assert len(set(activations.CODES.values())) == len(activations.CODES)


@pytest.mark.parametrize("name", activations.CODES)
def test_the_derivative_through_the_output_is_the_derivative(name):
    x = X.copy()
    f = activations.FUNCTIONS[name]
    numeric = np.array([numerical_gradient(lambda: float(f(x)[k]), x, indices=[k])[k]
                        for k in range(x.size)])
    assert relative_error(activations.derivative_from_output(name, f(x)), numeric) < 1e-8


@pytest.mark.parametrize("name", activations.CODES)
def test_float32_stays_float32(name):
    y = activations.FUNCTIONS[name](X.astype(np.float32))
    assert y.dtype == np.float32
    assert activations.derivative_from_output(name, y).dtype == np.float32


def test_unknown_names_are_refused():
    for bad in ("softmax", ["tanh"], 2):
        with pytest.raises(ValueError, match="unknown activation"):
            activations.get(bad)
    assert activations.get(None) == "linear"
