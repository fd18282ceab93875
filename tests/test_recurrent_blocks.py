"""What the fast paths of LSTM, GRU and SimpleRNN share: the batch cut into blocks (compiled
kernels), the input gradient the first layer skips, and prediction without a cache (both
implementations) all change no number."""
import numpy as np
import pytest

from lstm_np import GRU, LSTM, SimpleRNN
from lstm_np.layers import recurrent

T, D, H = 4, 3, 5
LAYERS = {"lstm": (LSTM, 2), "gru": (GRU, 1), "simple_rnn": (SimpleRNN, 1)}   # class, states


def make_layer(rng, kind, **kwargs):
    cls, _ = LAYERS[kind]
    layer = cls(H, **kwargs)
    layer.build((T, D), rng, "float64")
    for w in layer.params.values():
        w[...] = rng.normal(scale=0.5, size=w.shape)        # non-zero biases too
    return layer


def states(rng, kind, n):
    return [rng.normal(size=(n, H)) for _ in range(LAYERS[kind][1])]


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("return_sequences", [True, False])
def test_cutting_the_batch_into_blocks_changes_nothing(rng, monkeypatch, kind, return_sequences):
    """The kernels run the batch as P blocks side by side, the last one zero-padded: any P
    gives the same outputs, states and gradients as one block (N = 7 makes P = 2, 3 pad)."""
    layer = make_layer(rng, kind, return_sequences=return_sequences, return_state=True)
    x, h0 = rng.normal(size=(7, T, D)), states(rng, kind, 7)
    dy = [rng.normal(size=(7, *layer.compute_output_shape((T, D)))), *states(rng, kind, 7)]
    results = []
    for P in (1, 2, 3, 7):
        monkeypatch.setattr(recurrent, "blocks_for", lambda n, P=P: P)
        ys, cache = layer.forward(x, initial_state=h0)
        assert cache.steps.x.shape[0] == P
        dxs, grads = layer.backward(dy, cache)
        results.append((ys, dxs, grads, cache.batch_major()))
    ys1, dxs1, grads1, record1 = results[0]
    for ys, dxs, grads, record in results[1:]:
        for a, b in zip(ys + dxs, ys1 + dxs1):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        for key in grads1:
            np.testing.assert_allclose(grads[key], grads1[key], rtol=1e-12, atol=1e-14)
        for key in record1:      # BLAS may sum in another order for another block width
            np.testing.assert_allclose(record[key], record1[key], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("implementation", ["compiled", "numpy"])
def test_backward_can_skip_the_input_gradient(rng, kind, implementation):
    layer = make_layer(rng, kind, return_sequences=True, implementation=implementation)
    x = rng.normal(size=(2, T, D))
    y, cache = layer.forward(x)
    dy = rng.normal(size=y.shape)
    dx_none, grads_skip = layer.backward(dy, cache, need_dx=False)
    dx, grads = layer.backward(dy, cache)
    assert dx_none is None and dx.shape == x.shape
    for key in grads:
        np.testing.assert_array_equal(grads_skip[key], grads[key])


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("steps", [4, 5])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("implementation", ["compiled", "numpy"])
def test_prediction_without_cache_gives_the_same_outputs(rng, kind, steps, return_sequences,
                                                         implementation):
    """forward(keep_cache=False), which keeps no per-step state, returns what the training
    forward returns, final states included (an odd and an even number of steps)."""
    layer = LAYERS[kind][0](H, return_sequences=return_sequences, return_state=True,
                            implementation=implementation)
    layer.build((steps, D), rng, "float64")
    x, h0 = rng.normal(size=(6, steps, D)), states(rng, kind, 6)
    kept, cache = layer.forward(x, initial_state=h0)
    lean, no_cache = layer.forward(x, initial_state=h0, keep_cache=False)
    assert no_cache is None and cache is not None
    for a, b in zip(lean, kept):
        np.testing.assert_array_equal(a, b)
