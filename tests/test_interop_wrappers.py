"""lstm_np.interop for Bidirectional, TimeDistributed, RepeatVector, Flatten and Activation:
PyTorch state dicts written by real PyTorch (tests/golden/torch_wrappers, made by
tests/golden/make_torch_wrappers.py) load and predict what torch predicted; round trips; and,
with Keras / PyTorch installed, live conversions both ways."""
import json
from pathlib import Path

import numpy as np
import pytest

from lstm_np import GRU, LSTM, Dense, Dropout, Sequential, SimpleRNN
from lstm_np.interop import from_torch, state_dict_numpy
from lstm_np.layers import (LAYERS, Activation, Bidirectional, Flatten, RepeatVector,
                            TimeDistributed)

GOLDEN = Path(__file__).parent / "golden" / "torch_wrappers"


def load(path):
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.npz")), ids=lambda p: p.stem)
def test_torch_state_dicts_load_and_predict_what_torch_predicted(path):
    g = load(path)
    layers = [LAYERS[s["class"]].from_config(s["config"]) for s in json.loads(str(g["layers"]))]
    model = Sequential(layers, dtype="float64", seed=0)
    model.build(g["x"].shape[1:])
    state = {key[3:]: value for key, value in g.items() if key.startswith("sd.")}
    from_torch(state, model)
    np.testing.assert_allclose(model.predict(g["x"]), g["y"], rtol=1e-12, atol=1e-12)
    assert state_dict_numpy(model).keys() == state.keys()


def every_layer(cls=LSTM, dtype="float64", merge_mode="concat"):
    return Sequential([Bidirectional(cls(3, return_sequences=True), merge_mode=merge_mode,
                                     input_shape=(5, 2)),
                       TimeDistributed(Dense(2, activation="tanh")), Flatten(),
                       Activation("relu"), Dense(3), RepeatVector(2),
                       Bidirectional(cls(2)), Dropout(0.1), Dense(1)], seed=7, dtype=dtype)


@pytest.mark.parametrize("cls", [LSTM, GRU, SimpleRNN])
def test_state_dict_round_trip(cls):
    model = every_layer(cls)
    state = state_dict_numpy(model)
    assert [k for k in state if k.startswith("bidirectional.")][4:] == [
        "bidirectional.weight_ih_l0_reverse", "bidirectional.weight_hh_l0_reverse",
        "bidirectional.bias_ih_l0_reverse", "bidirectional.bias_hh_l0_reverse"]
    assert state["time_distributed.weight"].shape == (2, 6)
    x = np.random.default_rng(0).normal(size=(3, 5, 2))
    other = every_layer(cls)
    other.set_weights([w * 0 for w in other.get_weights()])
    from_torch(state, other)
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_layers_without_a_torch_form_are_refused_in_one_sentence():
    model = Sequential([TimeDistributed(Flatten(), input_shape=(4, 2, 3)), Dense(1)])
    with pytest.raises(ValueError, match=r"TimeDistributed\(Flatten\)"):
        state_dict_numpy(model)
    for layer in (GRU(3, reset_after=False, input_shape=(4, 2)),
                  Bidirectional(GRU(3, reset_after=False), input_shape=(4, 2))):
        with pytest.raises(ValueError, match="reset_after=False, which PyTorch's nn.GRU does "
                                             "not compute"):
            state_dict_numpy(Sequential([layer], seed=0))


# ------------------------------------------------------------------------------ live: Keras
@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("cls", ["LSTM", "GRU", "SimpleRNN"])
def test_live_keras_both_ways(keras, cls, merge_mode):
    from lstm_np.interop import from_keras, to_keras

    model = every_layer(LAYERS[cls], merge_mode=merge_mode)
    x = np.random.default_rng(1).normal(size=(3, 5, 2))
    theirs = to_keras(model)
    y = keras.ops.convert_to_numpy(theirs(x, training=False))   # predict() would cast x
    np.testing.assert_allclose(y, model.predict(x), rtol=1e-12, atol=1e-12)
    back = from_keras(theirs)
    np.testing.assert_array_equal(back.predict(x), model.predict(x))
    assert [type(l).__name__ for l in back.layers] == [type(l).__name__ for l in model.layers]


def test_live_from_keras_backward_layer_and_reset_before(keras):
    from lstm_np.interop import from_keras

    L = keras.layers
    layers = [L.Bidirectional(L.LSTM(3, return_sequences=True),
                              backward_layer=L.LSTM(3, return_sequences=True, go_backwards=True,
                                                    activation="relu")),
              L.GRU(2, reset_after=False, return_sequences=True, go_backwards=True),
              L.GRU(2, reset_after=False)]
    theirs = keras.Sequential([keras.Input((5, 2))] + layers + [L.Dense(1)])
    rng = np.random.default_rng(2)
    theirs.set_weights([rng.normal(0, 0.5, w.shape) for w in theirs.get_weights()])
    x = rng.normal(size=(3, 5, 2)).astype("float32")
    np.testing.assert_allclose(from_keras(theirs).predict(x), theirs.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------ live: torch
@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("cls", [LSTM, GRU, SimpleRNN])
def test_live_torch_module_predicts_the_same(torch, cls):
    from lstm_np.interop import torch_module

    model = every_layer(cls)
    x = np.random.default_rng(3).normal(size=(3, 5, 2))
    net = torch_module(model)
    with torch.no_grad():
        y = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y, model.predict(x), rtol=1e-10, atol=1e-10)
    other = every_layer(cls)
    from_torch(net.state_dict(), other)
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_live_torch_refuses_what_it_cannot_compute(torch):
    from lstm_np.interop import torch_module

    with pytest.raises(ValueError, match="merge_mode='sum'; a torch bidirectional RNN "
                                         "concatenates"):
        torch_module(every_layer(merge_mode="sum"))
    model = Sequential([Bidirectional(LSTM(3), backward_layer=LSTM(3, activation="relu",
                                                                   go_backwards=True),
                                      input_shape=(4, 2))])
    with pytest.raises(ValueError, match="backward_layer unlike its forward layer"):
        torch_module(model)
    with pytest.raises(ValueError, match="go_backwards=True; torch's RNN modules"):
        torch_module(Sequential([LSTM(3, go_backwards=True, input_shape=(4, 2))]))
