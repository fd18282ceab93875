"""Bidirectional, TimeDistributed, RepeatVector, Flatten and Activation: gradient checks in
float64, shapes and configs, and Keras 3's outputs and gradients (tests/golden/keras_layers,
made by tests/golden/make_keras_layers.py)."""
import json
from pathlib import Path

import numpy as np
import pytest

from lstm_np import GRU, Adam, LSTM, Dense, Dropout, Sequential, SimpleRNN, gradcheck, load_model
from lstm_np.layers import (LAYERS, Activation, Bidirectional, Flatten, RepeatVector,
                            TimeDistributed)

GOLDEN = Path(__file__).parent / "golden" / "keras_layers"
TOL = {"float64": dict(rtol=1e-9, atol=1e-9), "float32": dict(rtol=2e-5, atol=2e-5)}


def perturbed(model, seed=3):
    """Non-zero biases everywhere: initial values would hide bias mistakes."""
    rng = np.random.default_rng(seed)
    model.set_weights([w + rng.normal(0, 0.3, w.shape) for w in model.get_weights()])
    return model


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("cls", [LSTM, GRU, SimpleRNN])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_bidirectional_gradients(cls, merge_mode, return_sequences):
    rng = np.random.default_rng(0)
    model = perturbed(Sequential([Bidirectional(cls(5, return_sequences=return_sequences),
                                                merge_mode=merge_mode, input_shape=(4, 3)),
                                  Flatten(), Dense(2)], seed=1, dtype="float64"))
    errors = gradcheck(model, rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 2)))
    assert max(errors.values()) < 1e-6, errors


def test_reshaping_and_time_distributed_gradients():
    rng = np.random.default_rng(1)
    model = perturbed(Sequential([GRU(5, input_shape=(4, 3)), RepeatVector(3),
                                  SimpleRNN(4, return_sequences=True),
                                  TimeDistributed(Dense(2, activation="tanh")),
                                  Activation("sigmoid"), Flatten(), Dense(1)], seed=2))
    errors = gradcheck(model, rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 1)))
    assert max(errors.values()) < 1e-6, errors
    assert list(errors)[6:8] == ["time_distributed/kernel", "time_distributed/bias"]


def test_bidirectional_is_the_two_directions_by_hand():
    """The backward copy reads the sequence reversed; its sequence output is reversed back."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 5, 2))
    layer = Bidirectional(LSTM(4, return_sequences=True), merge_mode=None)
    layer.build((5, 2), rng, "float64")
    y_f, y_b = layer(x)
    alone = LSTM(4, return_sequences=True)
    alone.build((5, 2), rng, "float64")
    alone.params.update(layer.backward_layer.params)
    np.testing.assert_array_equal(y_b, alone(x[:, ::-1])[:, ::-1])
    np.testing.assert_array_equal(y_f, layer.forward_layer(x))
    # merge_mode=None: backward takes the pair of gradients
    dy = [rng.normal(size=y_f.shape), rng.normal(size=y_b.shape)]
    dx, grads = layer.backward(dy, layer.forward(x)[1])
    concat = Bidirectional(LSTM(4, return_sequences=True))
    concat.build((5, 2), rng, "float64")
    for key, value in layer.params.items():
        concat.params[key][...] = value
    dx2, grads2 = concat.backward(np.concatenate(dy, -1), concat.forward(x)[1])
    np.testing.assert_allclose(dx, dx2, rtol=1e-12)
    assert list(grads) == list(grads2) == list(layer.params)
    assert list(layer.params) == ["forward/kernel", "forward/recurrent_kernel", "forward/bias",
                                  "backward/kernel", "backward/recurrent_kernel",
                                  "backward/bias"]


def test_shapes_and_errors():
    assert RepeatVector(3)(np.ones((2, 4))).shape == (2, 3, 4)
    assert Flatten()(np.ones((2, 3, 4))).shape == (2, 12)
    np.testing.assert_array_equal(Activation("relu")(np.array([[-1.0, 2.0]])), [[0.0, 2.0]])
    with pytest.raises(ValueError, match="positive integer"):
        RepeatVector(0)
    with pytest.raises(ValueError, match="unknown activation"):
        Activation("swishy")
    with pytest.raises(ValueError, match="merge_mode must be"):
        Bidirectional(LSTM(3), merge_mode="max")
    with pytest.raises(ValueError, match="wraps an LSTM, GRU or SimpleRNN"):
        Bidirectional(Dense(3))
    with pytest.raises(ValueError, match="return_state"):
        Bidirectional(LSTM(3, return_state=True))
    with pytest.raises(ValueError, match="same class"):
        Bidirectional(LSTM(3), backward_layer=GRU(3))
    with pytest.raises(ValueError, match="two outputs"):
        Sequential([Bidirectional(LSTM(3), merge_mode=None, input_shape=(4, 2))])
    with pytest.raises(ValueError, match=r"\(batch, features\)"):
        Sequential([LSTM(3, return_sequences=True, input_shape=(4, 2)), RepeatVector(2)])
    with pytest.raises(ValueError, match="timesteps"):
        Sequential([TimeDistributed(Dense(2), input_shape=(4,))])


def encoder_decoder(dtype="float32"):
    return Sequential([Bidirectional(LSTM(4), merge_mode="sum", input_shape=(6, 2)),
                       RepeatVector(3), GRU(5, return_sequences=True), Dropout(0.1),
                       TimeDistributed(Dense(2)), Activation("tanh"), Flatten(), Dense(3)],
                      seed=4, dtype=dtype)


def test_fit_predict_save_load(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(16, 6, 2))
    y = np.stack([x[:, -1, 0], x[:, 0, 1], x[:, 2:4, 0].sum(1)], axis=1)    # learnable
    model = encoder_decoder().compile(Adam(0.01), "mse")
    before = model.evaluate(x, y)
    model.fit(x, y, epochs=10, batch_size=8, verbose=0)
    assert model.evaluate(x, y) < 0.8 * before
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.get_config() == model.get_config()
    assert [type(l).__name__ for l in loaded.layers] == [
        "Bidirectional", "RepeatVector", "GRU", "Dropout", "TimeDistributed", "Activation",
        "Flatten", "Dense"]


@pytest.mark.parametrize("change, message", [
    (lambda c: c["layers"][0]["config"].update(merge_mode="max"), "invalid merge_mode"),
    (lambda c: c["layers"][0]["config"].update(layer={"class": "Dense",
                                                      "config": {"units": 2}}),
     "two recurrent layers"),
    (lambda c: c["layers"][0]["config"]["layer"]["config"].update(units=-1), "invalid units"),
    (lambda c: c["layers"][1]["config"].update(n=0), "invalid n"),
    (lambda c: c["layers"][4]["config"].update(layer={"class": "Nope", "config": {}}),
     "unknown layer class 'Nope'"),
    (lambda c: c["layers"][5]["config"].update(activation="swish2"), "invalid activation"),
])
def test_model_file_refuses_bad_wrapper_configs(tmp_path, change, message):
    from lstm_np.modelfile import _Refused, check_config

    config = json.loads(json.dumps(encoder_decoder().get_config()))
    check_config(config)
    change(config)
    with pytest.raises(_Refused, match=message):
        check_config(config)


def golden_files():
    return sorted(p.name for p in GOLDEN.glob("*.npz"))


def build_golden(g):
    dtype = str(g["dtype"])
    model = Sequential([LAYERS[s["class"]].from_config(s["config"])
                        for s in json.loads(str(g["spec"]))], dtype=dtype, seed=0)
    model.build(g["x"].shape[1:])
    model.set_weights([g[f"w_{k:02d}"] for k in range(len(model.get_weights()))])
    return model


@pytest.mark.parametrize("name", golden_files())
def test_matches_keras(name):
    with np.load(GOLDEN / name, allow_pickle=False) as data:
        g = {key: data[key] for key in data.files}
    model = build_golden(g)
    y, caches = model.forward(g["x"])
    np.testing.assert_allclose(y, g["y"], **TOL[str(g["dtype"])])
    grads = model.backward(g["dy"], caches)
    for k, grad in enumerate(grads.values()):
        np.testing.assert_allclose(grad, g[f"dw_{k:02d}"], **TOL[str(g["dtype"])])
    assert len(grads) == len([key for key in g if key.startswith("dw_")])
    # dx: the first layer's input gradient, from a full backward pass
    dy = g["dy"]
    for layer, cache in zip(reversed(model.layers), reversed(caches)):
        dy = layer.backward(dy, cache)[0]
    np.testing.assert_allclose(dy, g["dx"], **TOL[str(g["dtype"])])


def test_golden_files_cover_every_new_layer():
    specs = " ".join(str(np.load(GOLDEN / name)["spec"]) for name in golden_files())
    for cls in ("Bidirectional", "TimeDistributed", "RepeatVector", "Flatten", "Activation"):
        assert f'"{cls}"' in specs
    for mode in ("concat", "sum", "mul", "ave"):
        assert mode == "concat" or f'"{mode}"' in specs


def test_stateful_bidirectional_carries_and_resets_both_directions():
    rng = np.random.default_rng(6)
    layer = Bidirectional(LSTM(3, stateful=True, return_sequences=True))
    layer.build((4, 2), rng, "float64")
    x = rng.normal(size=(2, 4, 2))
    first, second = layer(x), layer(x)
    assert not np.allclose(first[..., :3], second[..., :3])
    assert not np.allclose(first[..., 3:], second[..., 3:])
    layer.reset_states()
    np.testing.assert_array_equal(layer(x), first)
