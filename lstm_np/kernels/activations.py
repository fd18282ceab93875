"""Scalar activations for the kernels, selected by the integer codes of ``lstm_np.activations``."""
import math

from .._jit import njit

LINEAR, SIGMOID, TANH, RELU, HARD_SIGMOID = 0, 1, 2, 3, 4


@njit(inline="always")
def activate(code, x):
    if code == SIGMOID:
        # the exact logistic function, split so exp never overflows
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)
    if code == TANH:
        return math.tanh(x)
    if code == RELU:
        return x if x > 0 else 0.0 * x
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
