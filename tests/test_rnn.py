"""Keras's cell protocol (lstm_np/layers/rnn.py, cells.py) and the recurrent options of issue 18
(dropout, recurrent_dropout, stateful, go_backwards, GRU reset_after=False, unroll):
RNN(cell) equals the layer; every option is gradient-checked with fixed masks and states."""
import json

import numpy as np
import pytest

import lstm_np
from lstm_np import GRU, LSTM, Dense, Sequential, SimpleRNN
from lstm_np.gradcheck import numerical_gradient, relative_error
from lstm_np.layers import RNN, GRUCell, LSTMCell, SimpleRNNCell
from lstm_np.layers.rnn import dropout_mask

N, T, D, H = 2, 4, 3, 5
LAYERS = {"lstm": (LSTM, LSTMCell), "gru": (GRU, GRUCell), "simple_rnn": (SimpleRNN, SimpleRNNCell)}


def randomize(layer, rng):
    for w in layer.params.values():
        w[...] = rng.normal(scale=0.5, size=w.shape)
    return layer


def built(layer, rng, dtype="float64"):
    layer.build((T, D), np.random.default_rng(0), dtype)
    return randomize(layer, rng)


def same_weights(target, source):
    for key in source.params:
        target.params[key][...] = source.params[key]
    return target


def with_and_without(kind, rng, implementation="compiled", **options):
    """A layer with ``options`` and its plain twin (the same weights), both with sequences."""
    layer_cls = LAYERS[kind][0]
    layer = built(layer_cls(H, return_sequences=True, implementation=implementation, **options),
                  rng)
    plain = built(layer_cls(H, return_sequences=True, implementation=implementation), rng)
    return layer, same_weights(plain, layer)


def states_for(layer, rng, n=N):
    return [rng.normal(size=(n, s)) for s in layer.state_sizes]


def as_list(out):
    return list(out) if isinstance(out, list) else [out]


# --- RNN(cell) is the layer ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("implementation", ["compiled", "numpy"])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_rnn_of_the_cell_equals_the_layer(rng, kind, implementation, return_sequences):
    """RNN(LSTMCell(H)) and LSTM(H) with the same weights: outputs, final states, dx, the
    initial-state gradients and the weight gradients to 1e-12 (float64)."""
    layer_cls, cell_cls = LAYERS[kind]
    layer = built(layer_cls(H, return_sequences=return_sequences, return_state=True,
                            implementation=implementation), rng)
    rnn = built(RNN(cell_cls(H), return_sequences=return_sequences, return_state=True), rng)
    assert list(rnn.params) == list(layer.params)
    same_weights(rnn, layer)
    x, s0 = rng.normal(size=(N, T, D)), states_for(layer, rng)
    out_l, cache_l = layer.forward(x, initial_state=s0)
    out_r, cache_r = rnn.forward(x, initial_state=s0)
    for a, b in zip(out_r, out_l):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    dy = [rng.normal(size=y.shape) for y in out_l]
    (d_l, grads_l), (d_r, grads_r) = layer.backward(dy, cache_l), rnn.backward(dy, cache_r)
    for a, b in zip(d_r, d_l):                      # dx, dh0 (, dc0)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for key in grads_l:
        np.testing.assert_allclose(grads_r[key], grads_l[key], rtol=1e-12, atol=1e-12)


def loss_and_grads(layer, x, s0, weights_of_loss, **options):
    """A random weighted loss L = Σ w * outputs; its analytic gradients and a function for the
    numerical ones."""
    def loss():
        out, _ = layer.forward(x, initial_state=s0, **options)
        return sum(float(np.sum(w * o)) for w, o in zip(weights_of_loss, as_list(out)))
    out, cache = layer.forward(x, initial_state=s0, **options)
    dy = weights_of_loss if isinstance(out, list) else weights_of_loss[0]
    (dx, *ds0), grads = layer.backward(dy, cache)
    return loss, dx, ds0, grads


def assert_gradients_exact(layer, x, s0, rng, tolerance=1e-7, **options):
    out, _ = layer.forward(x, initial_state=s0, **options)
    weights_of_loss = [rng.normal(size=o.shape) for o in as_list(out)]
    loss, dx, ds0, grads = loss_and_grads(layer, x, s0, weights_of_loss, **options)
    checks = [("x", x, dx)] + [(f"state {k}", s, d) for k, (s, d) in enumerate(zip(s0, ds0))]
    checks += [(key, layer.params[key], grads[key]) for key in layer.params]
    for what, array, analytic in checks:
        error = relative_error(analytic, numerical_gradient(loss, array))
        assert error < tolerance, (what, error)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("implementation", ["compiled", "numpy"])
def test_dropout_and_recurrent_dropout_gradients_with_fixed_masks(rng, kind, implementation):
    """Exact BPTT through the masks: x, the initial states and every weight by finite
    differences, with masks held fixed (one per sequence, zeros in both)."""
    layer_cls, _ = LAYERS[kind]
    layer = built(layer_cls(H, return_sequences=True, return_state=True, dropout=0.3,
                            recurrent_dropout=0.4, implementation=implementation), rng)
    x, s0 = rng.normal(size=(N, T, D)), states_for(layer, rng)
    masks = dict(dropout_mask=dropout_mask(rng, (N, D), 0.3, np.float64),
                 recurrent_dropout_mask=dropout_mask(rng, (N, H), 0.4, np.float64))
    masks["dropout_mask"][0, 0], masks["recurrent_dropout_mask"][1, 2] = 0.0, 0.0
    assert_gradients_exact(layer, x, s0, rng, **masks)
    only_input = {"dropout_mask": masks["dropout_mask"]}      # the compiled path's own mask
    assert_gradients_exact(layer, x, s0, rng, **only_input)


@pytest.mark.parametrize("kind", LAYERS)
def test_the_input_mask_around_the_kernels_equals_the_cell_path(rng, kind):
    layer_cls, _ = LAYERS[kind]
    twins = [built(layer_cls(H, return_sequences=True, dropout=0.5, implementation=impl), rng)
             for impl in ("compiled", "numpy")]
    same_weights(twins[1], twins[0])
    x = rng.normal(size=(N, T, D))
    ys = [layer.forward(x, training=True, rng=np.random.default_rng(3))[0] for layer in twins]
    np.testing.assert_allclose(ys[0], ys[1], rtol=1e-12, atol=1e-12)
    mask = dropout_mask(np.random.default_rng(3), (N, D), 0.5, np.float64)
    np.testing.assert_allclose(twins[1].forward(x, dropout_mask=mask)[0], ys[1], rtol=1e-12)


@pytest.mark.parametrize("kind", LAYERS)
def test_training_draws_one_mask_per_sequence_and_inference_none(rng, kind):
    """In training, the same masks at every step (the input mask first, then the recurrent
    one); predicting applies none."""
    layer, plain = with_and_without(kind, rng, dropout=0.5, recurrent_dropout=0.5)
    x = rng.normal(size=(N, T, D))
    y_train, _ = layer.forward(x, training=True, rng=np.random.default_rng(5))
    draw = np.random.default_rng(5)
    masks = dict(dropout_mask=dropout_mask(draw, (N, D), 0.5, np.float64),
                 recurrent_dropout_mask=dropout_mask(draw, (N, H), 0.5, np.float64))
    np.testing.assert_allclose(layer.forward(x, **masks)[0], y_train, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(layer.forward(x)[0], plain.forward(x)[0])
    assert not np.allclose(y_train, plain.forward(x)[0])


def test_gru_masks_h_only_where_it_enters_the_products(rng):
    """Keras's GRUCell: h_t = z * h_{t-1} + (1 - z) * h̃ uses h_{t-1} without its mask, so a
    zero mask is not the same as a zero state."""
    layer = built(GRU(H, implementation="numpy"), rng)
    x, h0 = rng.normal(size=(N, 1, D)), rng.normal(size=(N, H))
    masked, _ = layer.forward(x, initial_state=[h0], recurrent_dropout_mask=np.zeros((N, H)))
    kernel, _, bias = layer.params.values()
    z = 1 / (1 + np.exp(-(x[:, 0] @ kernel[:, :H] + bias[0, :H] + bias[1, :H])))
    hh = np.tanh(x[:, 0] @ kernel[:, 2 * H:] + bias[0, 2 * H:] + (1 / (1 + np.exp(
        -(x[:, 0] @ kernel[:, H:2 * H] + bias[0, H:2 * H] + bias[1, H:2 * H])))) * bias[1, 2 * H:])
    np.testing.assert_allclose(masked[0], (z * h0 + (1 - z) * hh)[0], rtol=1e-12)


# --- go_backwards -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("implementation", ["compiled", "numpy"])
def test_go_backwards_reads_the_reversed_sequence(rng, kind, implementation):
    """As Keras: the outputs come in the order they were computed (last input step first)."""
    backwards, forwards = with_and_without(kind, rng, implementation, go_backwards=True)
    x = rng.normal(size=(N, T, D))
    np.testing.assert_allclose(backwards.forward(x)[0], forwards.forward(x[:, ::-1])[0],
                               rtol=1e-12)
    assert_gradients_exact(backwards, x, states_for(backwards, rng), rng)


def test_go_backwards_like_keras():
    """Keras 3.15: SimpleRNN(1, go_backwards=True, return_sequences=True), kernel 1, recurrent
    kernel 0, linear, on x = [0, 1, 2] gives [2, 1, 0]."""
    layer = SimpleRNN(1, go_backwards=True, return_sequences=True, activation="linear")
    layer.build((3, 1), np.random.default_rng(0), "float64")
    layer.params["kernel"][...], layer.params["recurrent_kernel"][...] = 1.0, 0.0
    np.testing.assert_array_equal(layer(np.arange(3.0).reshape(1, 3, 1)).ravel(), [2, 1, 0])


# --- stateful ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("implementation", ["compiled", "numpy"])
def test_stateful_carries_the_states_across_batches(rng, kind, implementation):
    stateful, whole = with_and_without(kind, rng, implementation, stateful=True)
    x = rng.normal(size=(N, 2 * T, D))
    halves = [stateful.forward(x[:, :T])[0], stateful.forward(x[:, T:])[0]]
    np.testing.assert_allclose(np.concatenate(halves, axis=1), whole.forward(x)[0],
                               rtol=1e-12, atol=1e-12)
    stateful.reset_states()
    assert all(not s.any() for s in stateful.states)
    np.testing.assert_allclose(stateful.forward(x[:, T:])[0], whole.forward(x[:, T:])[0],
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match=r"is stateful and carries the states of 2 sequences, "
                                         r"so every batch must hold 2; got 3") as error:
        stateful.forward(rng.normal(size=(3, T, D)))
    assert "\n" not in str(error.value)


def test_a_stateful_model_predicts_batch_after_batch(rng):
    model = Sequential([LSTM(H, stateful=True, input_shape=(T, D)), Dense(1)], seed=0,
                       dtype="float64")
    x = rng.normal(size=(N, T, D))
    first, second = model.predict(x), model.predict(x)
    assert not np.allclose(first, second)          # the second batch starts where the first ended
    model.layers[0].reset_states()
    np.testing.assert_array_equal(model.predict(x), first)


# --- GRU reset_after=False ----------------------------------------------------------------------
@pytest.mark.parametrize("implementation", ["compiled", "numpy"])
def test_gru_reset_before_gradients(rng, implementation):
    layer = built(GRU(H, reset_after=False, return_sequences=True, return_state=True,
                      implementation=implementation), rng)
    assert layer.params["bias"].shape == (3 * H,) and layer.count_params() == 3 * H * (D + H + 1)
    assert_gradients_exact(layer, rng.normal(size=(N, T, D)), [rng.normal(size=(N, H))], rng)


def test_gru_reset_before_math(rng):
    """h̃ = tanh(x W_h + b_h + (r * h_{t-1}) U_h): the reset gate before the product."""
    layer = built(GRU(H, reset_after=False), rng)
    x, h0 = rng.normal(size=(N, 1, D)), rng.normal(size=(N, H))
    W, U, b = layer.params.values()

    def sigmoid(a):
        return 1 / (1 + np.exp(-a))
    z = sigmoid(x[:, 0] @ W[:, :H] + b[:H] + h0 @ U[:, :H])
    r = sigmoid(x[:, 0] @ W[:, H:2 * H] + b[H:2 * H] + h0 @ U[:, H:2 * H])
    hh = np.tanh(x[:, 0] @ W[:, 2 * H:] + b[2 * H:] + (r * h0) @ U[:, 2 * H:])
    np.testing.assert_allclose(layer.forward(x, initial_state=h0)[0], z * h0 + (1 - z) * hh,
                               rtol=1e-12)


# --- config, files, Keras names ---------------------------------------------------------------
OPTIONS = dict(dropout=0.25, recurrent_dropout=0.125, go_backwards=True, stateful=True,
               unroll=True)


@pytest.mark.parametrize("kind", LAYERS)
def test_options_round_trip_through_config_and_file(rng, kind, tmp_path):
    layer_cls, _ = LAYERS[kind]
    extra = {"reset_after": False} if kind == "gru" else {}
    layer = layer_cls(H, input_shape=(T, D), **OPTIONS, **extra)
    config = layer.get_config()
    for key, value in {**OPTIONS, **extra}.items():
        assert config[key] == value
    assert layer_cls.from_config(json.loads(json.dumps(config))).get_config() == config
    assert "dropout" not in layer_cls(H).get_config()       # defaults stay out: old files unchanged
    model = Sequential([layer, Dense(1)], seed=0, dtype="float64")
    randomize(model.layers[0], rng)
    model.save(tmp_path / "m.npz")
    loaded = lstm_np.load_model(tmp_path / "m.npz")
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    x = rng.normal(size=(N, T, D))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_a_model_with_dropout_trains_and_its_loss_falls(rng):
    x = rng.normal(size=(32, T, D))
    y = x.sum(axis=(1, 2))[:, None] / 4
    model = Sequential([LSTM(8, dropout=0.1, recurrent_dropout=0.1, input_shape=(T, D)),
                        Dense(1)], seed=0).compile(optimizer=lstm_np.Adam(0.01), loss="mse")
    history = model.fit(x, y, epochs=30, batch_size=8, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0]


def test_rnn_of_a_cell_in_a_sequential(rng):
    model = Sequential([RNN(GRUCell(H, reset_after=False), input_shape=(T, D)), Dense(1)],
                       seed=0, dtype="float64").compile(loss="mse")
    errors = lstm_np.gradcheck(model, rng.normal(size=(N, T, D)), rng.normal(size=(N, 1)))
    assert max(errors.values()) < 1e-7
    assert model.layers[0].name == "rnn"
    config = model.layers[0].get_config()
    assert config["cell"]["class"] == "GRUCell"
    again = RNN.from_config(json.loads(json.dumps(config)))
    assert again.get_config() == config


def test_bad_options_are_one_sentence():
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.5"):
        LSTM(3, dropout=1.5)
    with pytest.raises(ValueError, match=r"recurrent_dropout must be in \[0, 1\)"):
        GRU(3, recurrent_dropout=-0.1)
    with pytest.raises(TypeError, match="RNN needs a cell with state_size"):
        RNN(Dense(3))


# --- against Keras 3 (tests/golden/make_recurrent_options.py) --------------------------------
GOLDEN = np.load(__import__("pathlib").Path(__file__).parent / "golden"
                 / "recurrent_options_float64.npz", allow_pickle=False)
CASES = sorted({key.split("/")[0] for key in GOLDEN.files if "/" in key} - {"lstm_stateful"})
KERAS_OPTIONS = {"reset_before": dict(reset_after=False), "go_backwards": dict(go_backwards=True),
                 "dropout": dict(dropout=0.3, recurrent_dropout=0.4)}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("implementation", ["compiled", "numpy"])
def test_recurrent_options_match_keras(case, implementation):
    g = {key.split("/", 1)[1]: GOLDEN[key] for key in GOLDEN.files if key.startswith(case + "/")}
    kind = next(k for k in LAYERS if case.startswith(k))
    options = {}
    for part, extra in KERAS_OPTIONS.items():
        if part in case:
            options.update(extra)
    layer = LAYERS[kind][0](H, return_sequences=True, return_state=True,
                            implementation=implementation, **options)
    layer.build((T, D), np.random.default_rng(0), "float64")
    for key in layer.params:
        layer.params[key][...] = g[key]
    states = [g[f"s{k}"] for k in range(len(layer.state_sizes))]
    masks = {key: g[key] for key in ("dropout_mask", "recurrent_dropout_mask") if key in g}
    (y, h_T, *_), cache = layer.forward(g["x"], initial_state=states, **masks)
    np.testing.assert_allclose(y, g["y"], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(h_T, g["h_T"], rtol=1e-10, atol=1e-10)
    dy = [g["dy"], g["dh"]] + [None] * (len(states) - 1)
    (dx, *ds), grads = layer.backward(dy, cache)
    for ours, key in [(dx, "dx")] + [(d, f"ds{k}") for k, d in enumerate(ds)] + \
            [(grads[key], "d" + key) for key in layer.params]:
        np.testing.assert_allclose(ours, g[key], rtol=1e-9, atol=1e-10, err_msg=key)


def test_stateful_matches_keras():
    g = {key.split("/", 1)[1]: GOLDEN[key] for key in GOLDEN.files
         if key.startswith("lstm_stateful/")}
    layer = LSTM(H, stateful=True, return_sequences=True)
    layer.build((T, D), np.random.default_rng(0), "float64")
    for key in layer.params:
        layer.params[key][...] = g[key]
    np.testing.assert_allclose(layer(g["x1"]), g["y1"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer(g["x2"]), g["y2"], rtol=1e-10, atol=1e-12)
    layer.reset_states()
    np.testing.assert_allclose(layer(g["x2"]), g["y2_after_reset"], rtol=1e-10, atol=1e-12)


# --- gradcheck (issue 17 item 5) --------------------------------------------------------------
class ForgetfulLSTMCell(LSTMCell):
    """A deliberately wrong backward: dc_prev without the forget gate (dc_prev = dc)."""

    def backward(self, d_output, d_states, cache):
        dx_t, (dh_prev, dc_prev), grads = super().backward(d_output, d_states, cache)
        return dx_t, [dh_prev, dc_prev / cache.f], grads


def test_gradcheck_catches_a_wrong_backward_through_the_states(rng):
    """The weights' gradients of a one-step sequence are right; only the initial state's
    gradient is wrong, and gradcheck names it."""
    model = Sequential([RNN(ForgetfulLSTMCell(H), input_shape=(1, D)), Dense(1)], seed=0,
                       dtype="float64")
    x, y = rng.normal(size=(N, 1, D)), rng.normal(size=(N, 1))
    with pytest.raises(lstm_np.GradcheckError, match=r"failed: rnn/c0\[\d, \d\] has"):
        lstm_np.gradcheck(model, x, y)
    errors = lstm_np.gradcheck(model, x, y, raise_exception=False)
    assert max(errors[key] for key in model.params) < 1e-7 and errors["rnn/c0"] > 0.1


def test_gradcheck_checks_dx_of_the_first_layer(rng, monkeypatch):
    model = Sequential([SimpleRNN(H, input_shape=(T, D)), Dense(1)], seed=0, dtype="float64")
    x, y = rng.normal(size=(N, T, D)), rng.normal(size=(N, 1))
    assert lstm_np.gradcheck(model, x, y)["x"] < 1e-7
    original = SimpleRNN.backward

    def wrong_dx(self, dy, cache, need_dx=True):
        (dx, *ds), grads = original(self, dy, cache, need_dx)
        return [2 * dx, *ds], grads
    monkeypatch.setattr(SimpleRNN, "backward", wrong_dx)
    with pytest.raises(lstm_np.GradcheckError, match=r"failed: x\[\d, \d, \d\]"):
        lstm_np.gradcheck(model, x, y)


@pytest.mark.parametrize("kind", LAYERS)
def test_gradcheck_runs_the_float32_kernels(rng, kind):
    """The float32 path's gradients against the exact ones: within 1e-3 relative (measured up
    to about 1e-4 on small stacks)."""
    model = Sequential([LAYERS[kind][0](H, input_shape=(T, D)), Dense(2)], seed=0)
    errors = lstm_np.gradcheck(model, rng.normal(size=(N, T, D)), rng.normal(size=(N, 2)),
                               dtype="float32")
    assert 1e-9 < max(errors.values()) < 1e-3      # not float64 by mistake, and close
    with pytest.raises(ValueError, match="dtype must be 'float64' or 'float32'"):
        lstm_np.gradcheck(model, np.ones((N, T, D)), np.ones((N, 2)), dtype="float16")


def test_gradcheck_can_sample_entries(rng):
    model = Sequential([LSTM(H, input_shape=(T, D)), Dense(1)], seed=0, dtype="float64")
    errors = lstm_np.gradcheck(model, rng.normal(size=(N, T, D)), rng.normal(size=(N, 1)),
                               max_entries=3, check_inputs=False)
    assert list(errors) == list(model.params) and max(errors.values()) < 1e-7
