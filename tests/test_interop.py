"""lstm_np.interop: models to and from Keras and PyTorch.

The first half needs neither peer: PyTorch-layout state dicts are written by hand from the golden
files (tests/golden, made by real Keras and PyTorch) and loaded with ``from_torch``. The second
half runs against the real Keras 3 and PyTorch when they are installed and is skipped otherwise.
"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from conftest import seed_model
from lstm_np import GRU, LSTM, Dense, Dropout, Sequential, SimpleRNN
from lstm_np.interop import from_keras, from_torch, state_dict_numpy, to_keras, to_torch

GOLDEN = Path(__file__).parent / "golden"
TOL = {"float64": dict(rtol=1e-9, atol=1e-9), "float32": dict(rtol=1e-5, atol=1e-5)}
RNN = {"lstm": LSTM, "gru": GRU, "simple_rnn": SimpleRNN}


def load(name):
    with np.load(GOLDEN / name, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def torch_order(a):
    """Keras's GRU blocks z, r, h along the last axis → PyTorch's r, z, n."""
    z, r, h = np.split(a, 3, axis=-1)
    return np.concatenate([r, z, h], axis=-1)


def torch_layout_by_hand(kind, kernel, recurrent_kernel=None, bias=None):
    """Keras-layout weights rewritten in PyTorch's layout, independently of lstm_np.interop
    (docs/keras_parity.md). The LSTM/RNN bias is split unevenly over torch's two biases, as a
    trained torch model's would be."""
    if kind == "dense":
        return {"weight": kernel.T, "bias": bias}
    if kind == "gru":
        return {"weight_ih_l0": torch_order(kernel).T,
                "weight_hh_l0": torch_order(recurrent_kernel).T,
                "bias_ih_l0": torch_order(bias[0]), "bias_hh_l0": torch_order(bias[1])}
    return {"weight_ih_l0": kernel.T, "weight_hh_l0": recurrent_kernel.T,
            "bias_ih_l0": 0.25 * bias + 0.5, "bias_hh_l0": 0.75 * bias - 0.5}


def randomize(model, seed=0, scale=0.3):
    """Asymmetric weights with non-zero biases."""
    rng = np.random.default_rng(seed)
    model.set_weights([w + rng.normal(scale=scale, size=w.shape) for w in model.get_weights()])
    return model


def stack(kind, dtype="float32", seed=0):
    """A small two-layer stack of ``kind`` (or a mix of all three), all sizes different."""
    if kind == "mixed":
        layers = [LSTM(3, return_sequences=True, input_shape=(4, 2)),
                  GRU(5, return_sequences=True), SimpleRNN(4, return_sequences=True),
                  Dense(2, use_bias=False)]              # output (N, T, 2): Dense on a sequence
    else:
        cls = RNN[kind]
        layers = [cls(5, return_sequences=True, input_shape=(4, 3)), Dropout(0.2),
                  cls(4, use_bias=kind != "simple_rnn"), Dropout(0.1), Dense(2, activation="tanh")]
    return randomize(Sequential(layers, seed=seed, dtype=dtype), seed=seed)


def x_for(model, n=3, seed=1):
    return np.random.default_rng(seed).random((n, *model.input_shape))


# --------------------------------------------------------------------------------------------
# Without the peers: state dicts as NumPy arrays
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN.glob("*_seq*_float*.npz")))
def test_from_torch_hand_written_recurrent_state_dict_matches_golden(name):
    g = load(name)
    kind, dtype = str(g["layer"]), str(g["dtype"])
    layer = RNN[kind](int(g["units"]), return_sequences=bool(g["return_sequences"]),
                      input_shape=g["x"].shape[1:], name="rnn")
    model = Sequential([layer], dtype=dtype)
    torch_weights = torch_layout_by_hand(kind, g["kernel"], g["recurrent_kernel"], g["bias"])
    assert from_torch({f"rnn.{k}": v for k, v in torch_weights.items()}, model) is model
    for ours, key in zip(model.get_weights(), ["kernel", "recurrent_kernel", "bias"]):
        np.testing.assert_allclose(ours, g[key], **TOL[dtype], err_msg=key)
    # the golden runs start from non-zero states, so call the model's layer with them
    states = [g["h0"], g["c0"]] if kind == "lstm" else [g["h0"]]
    y = model.layers[0].forward(g["x"], initial_state=states)[0]
    for peer in ["", "torch_"]:
        np.testing.assert_allclose(y, g[peer + "y"], **TOL[dtype], err_msg=peer + "y")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_from_torch_hand_written_linear_state_dict_matches_golden(dtype):
    g = load(f"dense_{dtype}.npz")
    model = Sequential([Dense(g["kernel"].shape[1], input_shape=g["x"].shape[1:])], dtype=dtype)
    torch_weights = torch_layout_by_hand("dense", g["kernel"], bias=g["bias"])
    from_torch({f"dense.{k}": v for k, v in torch_weights.items()}, model)
    for peer in ["", "torch_"]:
        np.testing.assert_allclose(model.predict(g["x"]), g[peer + "y"], **TOL[dtype])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_from_torch_hand_written_seed_model_predicts_golden(dtype):
    g = load("seed_model_float64.npz")
    w = [g[f"w_{k:02d}"] for k in range(8)]
    state = {}
    for name, (kernel, recurrent_kernel, bias) in [("lstm", w[0:3]), ("lstm_1", w[3:6])]:
        state.update({f"{name}.{k}": v for k, v in
                      torch_layout_by_hand("lstm", kernel, recurrent_kernel, bias).items()})
    dense = torch_layout_by_hand("dense", w[6], bias=w[7])
    state.update({f"dense.{k}": v for k, v in dense.items()})
    model = from_torch(state, seed_model(dtype=dtype))
    want = {"float64": ["y", "torch_y"], "float32": ["float32_y", "torch_float32_y"]}[dtype]
    for key in want:
        np.testing.assert_allclose(model.predict(g["x"]), g[key], **TOL[dtype], err_msg=key)


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn"])
def test_state_dict_numpy_is_torch_layout(kind):
    g = load(f"{kind}_seqTrue_float64.npz")
    model = Sequential([RNN[kind](int(g["units"]), return_sequences=True,
                                  input_shape=g["x"].shape[1:], name="rnn")], dtype="float64")
    model.set_weights([g["kernel"], g["recurrent_kernel"], g["bias"]])
    want = torch_layout_by_hand(kind, g["kernel"], g["recurrent_kernel"], g["bias"])
    if kind != "gru":           # all of Keras's bias goes into bias_ih
        want.update(bias_ih_l0=g["bias"], bias_hh_l0=np.zeros_like(g["bias"]))
    state = state_dict_numpy(model)
    assert list(state) == [f"rnn.{k}" for k in ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                                "bias_hh_l0"]]
    for key, value in want.items():
        np.testing.assert_array_equal(state[f"rnn.{key}"], value, err_msg=key)


def test_state_dict_numpy_key_scheme_and_shapes():
    model = stack("mixed")
    shapes = {k: v.shape for k, v in state_dict_numpy(model).items()}
    assert shapes == {
        "lstm.weight_ih_l0": (12, 2), "lstm.weight_hh_l0": (12, 3),
        "lstm.bias_ih_l0": (12,), "lstm.bias_hh_l0": (12,),
        "gru.weight_ih_l0": (15, 3), "gru.weight_hh_l0": (15, 5),
        "gru.bias_ih_l0": (15,), "gru.bias_hh_l0": (15,),
        "simple_rnn.weight_ih_l0": (4, 5), "simple_rnn.weight_hh_l0": (4, 4),
        "simple_rnn.bias_ih_l0": (4,), "simple_rnn.bias_hh_l0": (4,),
        "dense.weight": (2, 4)}
    assert all(v.dtype == np.float32 for v in state_dict_numpy(model).values())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn", "mixed"])
def test_from_torch_of_state_dict_numpy_reproduces_the_model(kind, dtype):
    model = stack(kind, dtype)
    other = Sequential.from_config(model.get_config(), seed=99)
    x = x_for(model)
    assert not np.allclose(other.predict(x), model.predict(x))
    from_torch(state_dict_numpy(model), other)
    for ours, theirs in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_from_torch_missing_key_is_a_clear_error():
    model = stack("lstm")
    state = state_dict_numpy(model)
    del state["lstm_1.bias_hh_l0"]
    with pytest.raises(ValueError, match=r"missing 'lstm_1\.bias_hh_l0'"):
        from_torch(state, Sequential.from_config(model.get_config()))


def test_from_torch_wrong_shape_is_a_clear_error_and_loads_nothing():
    model = stack("gru")
    target = Sequential.from_config(model.get_config(), seed=5)
    before = target.get_weights()
    state = state_dict_numpy(model)
    state["gru_1.weight_hh_l0"] = state["gru_1.weight_hh_l0"].T        # (4, 12) for (12, 4)
    with pytest.raises(ValueError, match=r"'gru_1\.weight_hh_l0' has shape \(4, 12\); the "
                                         r"model needs \(12, 4\)"):
        from_torch(state, target)
    for now, then in zip(target.get_weights(), before):
        np.testing.assert_array_equal(now, then)


def test_from_torch_unexpected_key_is_an_error_unless_not_strict():
    model = stack("simple_rnn")
    state = state_dict_numpy(model)
    state["head.weight"] = np.zeros((1, 2))
    with pytest.raises(ValueError, match=r"does not use: 'head\.weight'"):
        from_torch(state, Sequential.from_config(model.get_config()))
    other = from_torch(state, Sequential.from_config(model.get_config()), strict=False)
    np.testing.assert_array_equal(other.predict(x_for(model)), model.predict(x_for(model)))


def test_unbuilt_model_is_a_clear_error():
    with pytest.raises(ValueError, match="not built"):
        state_dict_numpy(Sequential([LSTM(3), Dense(1)]))


@pytest.mark.skipif(importlib.util.find_spec("keras") is not None, reason="keras is installed")
def test_keras_functions_say_how_to_install_keras():
    with pytest.raises(ImportError, match=r"to_keras needs keras: pip install"):
        to_keras(stack("lstm"))
    with pytest.raises(ImportError, match=r"from_keras needs keras: pip install"):
        from_keras(object())


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="torch is installed")
def test_torch_functions_say_how_to_install_torch():
    from lstm_np.interop import torch_module
    with pytest.raises(ImportError, match=r"to_torch needs torch: pip install"):
        to_torch(stack("lstm"))
    with pytest.raises(ImportError, match=r"torch_module needs torch: pip install"):
        torch_module(stack("lstm"))


# --------------------------------------------------------------------------------------------
# With the real Keras 3
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def keras_seed_stack(keras, kind="lstm", dtype="float32", seed=0):
    """The seed architecture with ``kind`` layers, Keras's initial weights nudged so that every
    bias is non-zero."""
    L = keras.layers
    rnn = {"lstm": L.LSTM, "gru": L.GRU, "simple_rnn": L.SimpleRNN}[kind]
    model = keras.Sequential([keras.Input((60, 1), dtype=dtype),
                              rnn(50, return_sequences=True, dtype=dtype),
                              L.Dropout(0.2, dtype=dtype), rnn(100, dtype=dtype),
                              L.Dropout(0.2, dtype=dtype), L.Dense(1, dtype=dtype)])
    rng = np.random.default_rng(seed)
    model.set_weights([w + rng.normal(scale=0.05, size=w.shape).astype(w.dtype)
                       for w in model.get_weights()])
    return model


def keras_predict(keras, model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def seed_x(dtype, n=4):
    return np.random.default_rng(7).random((n, 60, 1)).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn"])
def test_from_keras_predicts_what_keras_predicts(keras, kind, dtype):
    k = keras_seed_stack(keras, kind, dtype)
    model = from_keras(k)
    assert model.dtype == np.dtype(dtype)
    assert model.input_shape == (60, 1)
    assert [l.name for l in model.layers] == [l.name for l in k.layers]
    assert model.count_params() == k.count_params()
    if kind == "lstm":
        assert model.count_params() == 70_901
    for ours, theirs in zip(model.get_weights(), k.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    x = seed_x(dtype)
    np.testing.assert_allclose(model.predict(x), keras_predict(keras, k, x), **TOL[dtype])


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn"])
def test_to_keras_round_trips(keras, kind):
    k = keras_seed_stack(keras, kind)
    k2 = to_keras(from_keras(k))
    assert [type(l) for l in k2.layers] == [type(l) for l in k.layers]
    for theirs, back in zip(k.layers, k2.layers):
        config, config2 = theirs.get_config(), back.get_config()
        for key in ["name", "units", "rate", "activation", "recurrent_activation", "use_bias",
                    "return_sequences", "unit_forget_bias", "reset_after"]:
            assert config.get(key) == config2.get(key), (theirs.name, key)
    for w, w2 in zip(k.get_weights(), k2.get_weights()):
        np.testing.assert_array_equal(w, w2)
    x = seed_x("float32")
    np.testing.assert_allclose(keras_predict(keras, k2, x), keras_predict(keras, k, x),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn", "mixed"])
def test_to_keras_of_an_lstm_np_model_predicts_the_same_in_float64(keras, kind):
    model = stack(kind, "float64")
    k = to_keras(model)
    x = x_for(model)
    np.testing.assert_allclose(keras_predict(keras, k, x), model.predict(x), **TOL["float64"])


def test_from_keras_refuses_what_it_cannot_represent(keras):
    L = keras.layers
    cases = [(L.Conv1D(2, 3), r"layer 'conv1d\w*' of type Conv1D"),
             (L.SimpleRNN(3, activation="softplus"), "activation='softplus'")]
    for layer, message in cases:
        with pytest.raises(ValueError, match=message):
            from_keras(keras.Sequential([keras.Input((5, 2)), layer]))
    with pytest.raises(ValueError, match="not fixed; pass input_shape"):
        from_keras(keras.Sequential([keras.Input((None, 2)), L.LSTM(3)]))
    model = from_keras(keras.Sequential([keras.Input((None, 2)), L.LSTM(3)]), input_shape=(5, 2))
    assert model.input_shape == (5, 2)


def test_from_keras_carries_dropout_and_recurrent_dropout_both_ways(keras):
    k = keras.Sequential([keras.Input((6, 2)), keras.layers.LSTM(3, dropout=0.3,
                                                                 recurrent_dropout=0.2)])
    model = from_keras(k)
    assert (model.layers[0].dropout, model.layers[0].recurrent_dropout) == (0.3, 0.2)
    x = np.random.default_rng(0).random((2, 6, 2)).astype("float32")
    np.testing.assert_allclose(model.predict(x), keras_predict(keras, k, x), **TOL["float32"])
    back = to_keras(model).layers[0]
    assert (back.dropout, back.recurrent_dropout) == (0.3, 0.2)


# --------------------------------------------------------------------------------------------
# With the real PyTorch
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def torch_predict(torch, net, x):
    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn", "mixed", "seed"])
def test_torch_module_predicts_what_the_model_predicts(torch, kind, dtype):
    from lstm_np.interop import torch_module
    model = randomize(seed_model(dtype=dtype), scale=0.05) if kind == "seed" else stack(kind, dtype)
    net = torch_module(model)
    assert not net.training
    state = net.state_dict()
    assert list(state) == list(to_torch(model))
    for key, value in to_torch(model).items():
        assert torch.equal(state[key], value), key
    x = x_for(model).astype(dtype)
    np.testing.assert_allclose(torch_predict(torch, net, x), model.predict(x), **TOL[dtype])


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn", "mixed"])
def test_from_torch_of_torch_module_state_dict_reproduces_the_model(torch, kind):
    from lstm_np.interop import torch_module
    model = stack(kind, "float64")
    other = from_torch(torch_module(model).state_dict(), Sequential.from_config(
        model.get_config(), seed=3))
    for ours, theirs in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    x = x_for(model)
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn", "mixed"])
def test_from_torch_of_a_torch_trained_module_predicts_what_torch_predicts(torch, kind):
    """Torch weights the way torch leaves them: both biases non-zero, GRU blocks in r, z, n."""
    from lstm_np.interop import torch_module
    model = stack(kind, "float64")
    net = torch_module(model)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=generator, dtype=p.dtype))
    other = from_torch(net.state_dict(), Sequential.from_config(model.get_config()))
    x = x_for(model)
    np.testing.assert_allclose(other.predict(x), torch_predict(torch, net, x), **TOL["float64"])


def test_torch_module_refuses_math_torch_cannot_express(torch):
    from lstm_np.interop import torch_module
    model = Sequential([SimpleRNN(3, activation="sigmoid", input_shape=(4, 2))])
    with pytest.raises(ValueError, match="nn.RNN supports tanh and relu"):
        torch_module(model)
    model = Sequential([GRU(3, recurrent_activation="hard_sigmoid", input_shape=(4, 2))])
    with pytest.raises(ValueError, match="nn.GRU computes only tanh / sigmoid"):
        torch_module(model)


# --------------------------------------------------------------------------------------------
# The mappings are the classes' own
# --------------------------------------------------------------------------------------------
def test_the_torch_mapping_is_asked_of_each_layer_class():
    """interop walks the model and asks the layers: the GRU declares its gate order and its
    two bias rows, a layer that declares nothing is refused in one sentence, and a user's
    layer that declares its torch form converts both ways."""
    from lstm_np.layers import LAYERS, Layer, register

    gru = GRU(3, input_shape=(4, 2))
    assert gru.torch_gates == ("r", "z", "h") and gru.torch_module == "GRU"
    model = randomize(Sequential([gru], seed=0, dtype="float64"))
    state = state_dict_numpy(model)
    bias = model.layers[0].params["bias"]
    np.testing.assert_array_equal(state["gru.bias_hh_l0"], torch_order(bias[1]))

    class Gain(Layer):
        """``y = x * gain`` with torch's name ``weight`` for the gain."""
        torch_module = "Gain"

        def build(self, input_shape, rng, dtype):
            self.params = {"gain": rng.random(input_shape[-1]).astype(dtype)}
            self.built = True

        def forward(self, x, training=False, rng=None):
            return x * self.params["gain"], None

        def torch_weights(self):
            return {"weight": self.params["gain"]}

        def weights_from_torch(self, arrays):
            return [arrays["weight"]]

    class Opaque(Gain):
        torch_weights = Layer.torch_weights

    register(Gain), register(Opaque)
    try:
        model = Sequential([LSTM(3, input_shape=(4, 2), return_sequences=True),
                            Gain(name="gain")], seed=0)
        state = state_dict_numpy(model)
        assert list(state)[-1] == "gain.weight"
        other = Sequential([LSTM(3, input_shape=(4, 2), return_sequences=True),
                            Gain(name="gain")], seed=1)
        from_torch(state, other)
        for w, w2 in zip(model.get_weights(), other.get_weights()):
            np.testing.assert_array_equal(w, w2)
        opaque = Sequential([Opaque(input_shape=(4, 2), name="opaque")], seed=0)
        with pytest.raises(ValueError, match="^state_dict_numpy: Opaque layer 'opaque' has "
                                             "weights but no PyTorch form$"):
            state_dict_numpy(opaque)
    finally:
        LAYERS.pop("Gain", None), LAYERS.pop("Opaque", None)
