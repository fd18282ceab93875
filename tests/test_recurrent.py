"""What LSTM, GRU and SimpleRNN share (lstm_np/layers/recurrent.py): the readable cell run over
time (implementation="numpy") computes what the compiled kernels compute, in a layer and in a
model; the config round-trips and old files still load; and every call checks its shapes
against the built weights before a kernel can read outside an array."""
import json

import numpy as np
import pytest

import lstm_np
from lstm_np import GRU, LSTM, Dense, Dropout, Sequential, SimpleRNN
from lstm_np.gradcheck import relative_error

N, T, D, H = 3, 4, 2, 5     # small and all different, so a transposed axis cannot hide
LAYERS = {"lstm": LSTM, "gru": GRU, "simple_rnn": SimpleRNN}
# (activation, recurrent_activation): SimpleRNN takes only the first
ACTIVATIONS = [("tanh", "sigmoid"), ("relu", "hard_sigmoid"), ("linear", "tanh"),
               ("sigmoid", "relu"), ("hard_sigmoid", "linear")]


def make_layer(kind, rng=None, dtype="float64", activation="tanh",
               recurrent_activation="sigmoid", **options):
    """A built layer; with ``rng``, asymmetric random weights and non-zero biases."""
    cls = LAYERS[kind]
    if cls is not SimpleRNN:
        options["recurrent_activation"] = recurrent_activation
    layer = cls(H, activation=activation, **options)
    layer.build((T, D), np.random.default_rng(0), dtype)
    if rng is not None:
        for w in layer.params.values():
            w[...] = rng.normal(scale=0.5, size=w.shape)
    return layer


def twins(kind, rng, **options):
    """The same layer (same weights) with each implementation."""
    compiled = make_layer(kind, rng, **options)
    readable = make_layer(kind, **options, implementation="numpy")
    for key in compiled.params:
        readable.params[key][...] = compiled.params[key]
    return compiled, readable


def random_states(rng, layer, n=N):
    return [rng.normal(size=(n, H)) for _ in layer.state_names]


# --- the two implementations ----------------------------------------------------------------
@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("with_states", [True, False], ids=["states", "no-states"])
@pytest.mark.parametrize("activation,recurrent_activation", ACTIVATIONS)
def test_numpy_implementation_agrees_with_the_compiled_one(rng, kind, return_sequences,
                                                           with_states, activation,
                                                           recurrent_activation):
    """Outputs to 1e-12, gradients to 1e-10 relative (float64). ``with_states``: non-zero
    initial states in, ``return_state`` out, and gradients for both."""
    compiled, readable = twins(kind, rng, return_sequences=return_sequences,
                               return_state=with_states, activation=activation,
                               recurrent_activation=recurrent_activation)
    x = rng.normal(size=(N, T, D))
    h0 = random_states(rng, compiled) if with_states else None
    out_c, cache_c = compiled.forward(x, initial_state=h0)
    out_n, cache_n = readable.forward(x, initial_state=h0)
    outputs_c, outputs_n = (out if with_states else [out] for out in (out_c, out_n))
    assert len(outputs_c) == len(outputs_n) == (1 + len(compiled.state_names)) ** with_states
    for a, b in zip(outputs_n, outputs_c):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    record_c, record_n = cache_c.batch_major(), cache_n.batch_major()
    assert set(record_n) == set(record_c)
    for key in record_c:
        np.testing.assert_allclose(record_n[key], record_c[key], rtol=1e-12, atol=1e-12)

    dy = [rng.normal(size=y.shape) for y in outputs_c]
    d_c, grads_c = compiled.backward(dy if with_states else dy[0], cache_c)
    d_n, grads_n = readable.backward(dy if with_states else dy[0], cache_n)
    dinputs_c, dinputs_n = (d if with_states else [d] for d in (d_c, d_n))
    assert len(dinputs_n) == len(dinputs_c) == len(outputs_c)    # dx, dh0 (, dc0)
    for a, b in zip(dinputs_n, dinputs_c):
        assert relative_error(a, b) < 1e-10
    assert list(grads_n) == list(grads_c) == list(compiled.params)
    for key in grads_c:
        assert relative_error(grads_n[key], grads_c[key]) < 1e-10, key


@pytest.mark.parametrize("kind", LAYERS)
def test_numpy_implementation_in_float32_and_without_bias(rng, kind):
    compiled, readable = twins(kind, rng, return_sequences=True, use_bias=False)
    x = rng.normal(size=(N, T, D))
    for layer in (compiled, readable):
        layer.cast(np.float32)
    (y_c, cache_c), (y_n, cache_n) = (layer.forward(x) for layer in (compiled, readable))
    assert y_n.dtype == np.float32
    np.testing.assert_allclose(y_n, y_c, rtol=1e-5, atol=1e-6)
    dy = rng.normal(size=y_c.shape).astype(np.float32)
    (dx_c, grads_c), (dx_n, grads_n) = (layer.backward(dy, cache)
                                        for layer, cache in ((compiled, cache_c),
                                                             (readable, cache_n)))
    assert dx_n.dtype == np.float32 and list(grads_n) == ["kernel", "recurrent_kernel"]
    np.testing.assert_allclose(dx_n, dx_c, rtol=1e-4, atol=1e-5)
    for key in grads_c:
        assert grads_n[key].dtype == np.float32
        np.testing.assert_allclose(grads_n[key], grads_c[key], rtol=1e-4, atol=1e-5)


def test_numpy_implementation_runs_the_readable_cell(rng, monkeypatch):
    """A breakpoint in the readable cell stops a running model: the model's forward and
    backward call it once per timestep."""
    import lstm_np.layers.lstm as lstm_module

    calls = []
    for name in ("lstm_cell_forward", "lstm_cell_backward"):
        original = getattr(lstm_module, name)

        def spy(*args, _original=original, _name=name):
            calls.append(_name)
            return _original(*args)
        monkeypatch.setattr(lstm_module, name, spy)
    model = Sequential([LSTM(H, input_shape=(T, D), implementation="numpy"), Dense(1)],
                       dtype="float64")
    model.compute_gradients(rng.normal(size=(N, T, D)), rng.normal(size=(N, 1)))
    assert calls == ["lstm_cell_forward"] * T + ["lstm_cell_backward"] * T


def stack(implementation):
    return Sequential([LSTM(H, return_sequences=True, input_shape=(T, D),
                            implementation=implementation), Dropout(0.2),
                       GRU(4, return_sequences=True, implementation=implementation),
                       SimpleRNN(3, activation="relu", implementation=implementation), Dense(1)],
                      seed=7, dtype="float64")


def test_a_numpy_model_trains_like_the_compiled_one_and_saves(rng, tmp_path):
    x, y = rng.normal(size=(20, T, D)), rng.normal(size=(20, 1))
    losses = {}
    for implementation in ("compiled", "numpy"):
        model = stack(implementation).compile(optimizer="adam", loss="mse")
        losses[implementation] = model.fit(x, y, epochs=3, batch_size=8,
                                           verbose=0).history["loss"]
        weights = model.get_weights()
    np.testing.assert_allclose(losses["numpy"], losses["compiled"], rtol=1e-10)
    model.save(tmp_path / "m.npz")
    config = json.loads(str(np.load(tmp_path / "m.npz")["config"]))
    assert [layer["config"].get("implementation") for layer in config["layers"]] == \
        ["numpy", None, "numpy", "numpy", None]
    loaded = lstm_np.load_model(tmp_path / "m.npz")
    assert [getattr(layer, "implementation", None) for layer in loaded.layers] == \
        ["numpy", None, "numpy", "numpy", None]
    for ours, saved in zip(loaded.get_weights(), weights):
        np.testing.assert_array_equal(ours, saved)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


# --- config -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("implementation", ["compiled", "numpy"])
def test_config_round_trips(kind, implementation):
    layer = make_layer(kind, activation="relu", recurrent_activation="hard_sigmoid",
                       use_bias=False, return_sequences=True, return_state=True,
                       implementation=implementation, name="r", input_shape=(T, D))
    config = layer.get_config()
    assert ("implementation" in config) == (implementation == "numpy")
    again = type(layer).from_config(json.loads(json.dumps(config)))
    assert again.get_config() == config
    assert again.implementation == implementation


OLD_CONFIG = {   # written by lstm_np before implementation= existed
    "format": "lstm_np.Sequential", "version": 1, "dtype": "float64", "input_shape": [4, 3],
    "layers": [
        {"class": "LSTM", "config": {
            "name": "lstm", "input_shape": [4, 3], "units": 5, "activation": "relu",
            "recurrent_activation": "sigmoid", "use_bias": True, "return_sequences": True,
            "return_state": False, "unit_forget_bias": True,
            "kernel_initializer": "glorot_uniform", "recurrent_initializer": "orthogonal"}},
        {"class": "Dropout", "config": {"name": "dropout", "rate": 0.2}},
        {"class": "GRU", "config": {
            "name": "gru", "units": 4, "activation": "tanh",
            "recurrent_activation": "hard_sigmoid", "use_bias": True, "return_sequences": True,
            "return_state": False, "reset_after": True, "kernel_initializer": "glorot_uniform",
            "recurrent_initializer": "orthogonal"}},
        {"class": "SimpleRNN", "config": {
            "name": "simple_rnn", "units": 3, "activation": "sigmoid", "use_bias": False,
            "return_sequences": False, "return_state": False,
            "kernel_initializer": "glorot_uniform", "recurrent_initializer": "orthogonal"}},
        {"class": "Dense", "config": {"name": "dense", "units": 1, "activation": "linear",
                                      "use_bias": True}}]}
OLD_SHAPES = [(3, 20), (5, 20), (20,), (5, 12), (4, 12), (2, 12), (4, 3), (3, 3), (3, 1), (1,)]


def test_a_file_written_before_the_base_class_loads_unchanged(rng, tmp_path):
    weights = [rng.normal(scale=0.5, size=shape) for shape in OLD_SHAPES]
    path = tmp_path / "old.npz"
    np.savez(path, config=np.array(json.dumps(OLD_CONFIG)),
             **{f"weight_{k:03d}": w for k, w in enumerate(weights)})
    model = lstm_np.load_model(path)
    assert model.get_config() == OLD_CONFIG          # the same keys come back out
    assert [getattr(layer, "implementation", None) for layer in model.layers] == \
        ["compiled", None, "compiled", "compiled", None]
    readable = Sequential.from_config({**OLD_CONFIG, "layers": [
        {**spec, "config": {**spec["config"], "implementation": "numpy"}}
        if spec["class"] in ("LSTM", "GRU", "SimpleRNN") else spec
        for spec in OLD_CONFIG["layers"]]})
    readable.set_weights(weights)
    x = rng.normal(size=(6, 4, 3))
    np.testing.assert_allclose(model.predict(x), readable.predict(x), rtol=1e-12, atol=1e-12)


def test_invalid_implementation():
    with pytest.raises(ValueError, match="implementation must be 'compiled' or 'numpy'"):
        LSTM(3, implementation="cuda")


# --- shapes checked at the layer boundary -------------------------------------------------------
IMPLEMENTATIONS = ["compiled", "numpy"]


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_input_of_the_wrong_shape_is_refused(kind, implementation):
    """Built for D = 2 features: 1 or 3 features, a 2-D input, or no timestep is one clear
    error naming both shapes, never a read outside the kernel's arrays."""
    layer = make_layer(kind, implementation=implementation)
    for shape in [(N, T, 1), (N, T, 3), (N, T * D), (N, 0, D)]:
        with pytest.raises(ValueError, match=r"\(batch, timesteps, 2\)|timestep") as error:
            layer.forward(np.ones(shape))
        assert str(shape) in str(error.value)
    with pytest.raises(ValueError, match="real numbers"):
        layer.forward(np.ones((N, T, D), dtype=complex))


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_an_empty_batch_gives_empty_outputs_and_zero_gradients(kind, implementation):
    layer = make_layer(kind, implementation=implementation, return_sequences=True)
    y, cache = layer.forward(np.ones((0, T, D)))
    dx, grads = layer.backward(np.ones(y.shape), cache)
    assert y.shape == (0, T, H) and dx.shape == (0, T, D)
    for key, w in layer.params.items():
        np.testing.assert_array_equal(grads[key], np.zeros_like(w))


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_initial_states_of_the_wrong_number_or_shape_are_refused(rng, kind, implementation):
    layer = make_layer(kind, implementation=implementation)
    x, states = np.ones((N, T, D)), random_states(rng, layer)
    names = ", ".join(f"{name}0" for name in layer.state_names)
    with pytest.raises(ValueError, match=rf"takes initial_state=\[{names}\]; got 3 arrays"):
        layer.forward(x, initial_state=states + [states[0]] * (3 - len(states)))
    for bad in [(N + 1, H), (N, H - 1), (N, H, 1)]:
        wrong = [np.ones(bad)] + states[1:]
        with pytest.raises(ValueError, match=rf"initial state h0 has shape \({bad[0]}, "):
            layer.forward(x, initial_state=wrong)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("return_sequences", [True, False])
def test_dy_of_the_wrong_shape_is_refused(rng, kind, implementation, return_sequences):
    layer = make_layer(kind, implementation=implementation, return_sequences=return_sequences)
    y, cache = layer.forward(rng.normal(size=(N, T, D)))
    for bad in [(N + 1,) + y.shape[1:], y.shape[:-1] + (H + 1,), (N, T + 1, H)]:
        with pytest.raises(ValueError, match=rf"dy has shape \({bad[0]}, .*expects "
                                             rf"\({y.shape[0]}, "):
            layer.backward(np.ones(bad), cache)
    dx, _ = layer.backward(None, cache)          # None: no gradient at the output
    np.testing.assert_array_equal(dx, 0)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_return_state_gradients_of_the_wrong_form_are_refused(rng, kind, implementation):
    layer = make_layer(kind, implementation=implementation, return_state=True)
    (y, *states), cache = layer.forward(rng.normal(size=(N, T, D)))
    with pytest.raises(ValueError, match=r"backward takes the list \[dy, dh_T"):
        layer.backward(y, cache)
    with pytest.raises(ValueError, match=r"backward takes the list \[dy, dh_T"):
        layer.backward([y], cache)
    with pytest.raises(ValueError, match=r"dh_T has shape \(3, 6\)"):
        layer.backward([y, np.ones((N, H + 1))] + states[1:], cache)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_a_cache_that_does_not_fit_the_weights_is_refused(rng, kind, implementation):
    layer = make_layer(kind, implementation=implementation)
    y, cache = layer.forward(rng.normal(size=(N, T, D)))
    with pytest.raises(ValueError, match="keep_cache=True"):
        layer.backward(y, layer.forward(rng.normal(size=(N, T, D)), keep_cache=False)[1])
    wider = LAYERS[kind](H + 1, implementation=implementation)
    wider.build((T, D), np.random.default_rng(0), "float64")
    with pytest.raises(ValueError, match="2 input features and 5 units; .* has 2 and 6"):
        wider.backward(np.ones((N, H + 1)), cache)


@pytest.mark.parametrize("kind", LAYERS)
def test_weights_that_do_not_fit_the_layer_are_refused(kind):
    with pytest.raises(ValueError, match="is not built"):
        LAYERS[kind](H).forward(np.ones((N, T, D)))
    layer = make_layer(kind)
    G = layer.gates
    layer.params["recurrent_kernel"] = np.zeros((H - 1, G * (H - 1)))
    with pytest.raises(ValueError, match=rf"needs recurrent_kernel of shape \({H}, {G * H}\)"):
        layer.forward(np.ones((N, T, D)))
    layer = make_layer(kind)
    layer.params["kernel"] = layer.params["kernel"].astype(np.float32)
    with pytest.raises(ValueError, match="one dtype for all weights"):
        layer.forward(np.ones((N, T, D)))


def test_a_crafted_model_file_cannot_make_the_kernels_read_out_of_bounds(rng, tmp_path):
    """Issue 13, item 6: the first layer's config says 3 input features (kernel (3, 20)) while
    the model says 1. Loading may refuse it; if it loads, predicting is one clear error."""
    config = {"format": "lstm_np.Sequential", "version": 1, "dtype": "float64",
              "input_shape": [6, 1], "layers": [
                  {"class": "LSTM", "config": {"name": "lstm", "units": 5, "input_shape": [6, 3]}},
                  {"class": "Dense", "config": {"name": "dense", "units": 1}}]}
    shapes = [(3, 20), (5, 20), (20,), (5, 1), (1,)]
    path = tmp_path / "crafted.npz"
    np.savez(path, config=np.array(json.dumps(config)),
             **{f"weight_{k:03d}": rng.normal(size=s) for k, s in enumerate(shapes)})
    try:
        model = lstm_np.load_model(path)
    except lstm_np.ModelFileError:
        return
    with pytest.raises(ValueError, match=r"\(batch, timesteps, 3\); got x of shape \(3, 6, 1\)"):
        model.predict(np.ones((3, 6, 1)))
