"""One source of truth (issue 17 item 2): a cell written in one place and registered with
lstm_np.layers.register saves, loads, is gradient-checked, and is a --models kind like a
built-in; the model files, the forecasting commands and the memory estimate ask the classes."""
import numpy as np
import pytest

import lstm_np
from lstm_np import LSTM, Dense, Sequential
from lstm_np.layers import CELLS, KINDS, LAYERS, RNN, Cell, Layer, register


class MinimalGatedUnit(Cell):
    """Zhou et al. (2016): f = σ(x W_f + h U_f + b_f); h̃ = tanh(x W_h + (f * h) U_h + b_h);
    h_t = (1 - f) * h + f * h̃."""
    gates = 2

    def __init__(self, units, name=None):
        super().__init__(name=name)
        self.units = self.state_size = self.output_size = units

    def build(self, input_shape):
        D, H = input_shape[-1], self.units
        for gate in ("f", "h"):
            self.add_weight(f"W_{gate}", (D, H), "glorot_uniform")
            self.add_weight(f"U_{gate}", (H, H), "orthogonal")
            self.add_weight(f"b_{gate}", (H,), "zeros")

    def forward(self, x, states, training=False):
        p = self.params
        h = states[0]
        f = 1 / (1 + np.exp(-(x @ p["W_f"] + h @ p["U_f"] + p["b_f"])))
        hh = np.tanh(x @ p["W_h"] + (f * h) @ p["U_h"] + p["b_h"])
        h_new = (1 - f) * h + f * hh
        return h_new, [h_new], (x, h, f, hh)

    def backward(self, d_output, d_states, cache):
        p = self.params
        x, h, f, hh = cache
        dh_new = d_output + d_states[0]
        da_h = dh_new * f * (1 - hh ** 2)
        d_fh = da_h @ p["U_h"].T
        da_f = (dh_new * (hh - h) + d_fh * h) * f * (1 - f)
        dh = dh_new * (1 - f) + d_fh * f + da_f @ p["U_f"].T
        grads = {"W_f": x.T @ da_f, "U_f": h.T @ da_f, "b_f": da_f.sum(0),
                 "W_h": x.T @ da_h, "U_h": (f * h).T @ da_h, "b_h": da_h.sum(0)}
        return da_f @ p["W_f"].T + da_h @ p["W_h"].T, [dh], grads


@pytest.fixture
def mgu():
    """The cell registered as the kind "mgu" for one test, then forgotten again."""
    register(MinimalGatedUnit, kind="mgu")
    yield MinimalGatedUnit
    CELLS.pop("MinimalGatedUnit", None)
    KINDS.pop("mgu", None)


def test_the_built_in_classes_are_registered():
    assert {"LSTM", "GRU", "SimpleRNN", "Dense", "Dropout", "RNN"} <= set(LAYERS)
    assert {"LSTMCell", "GRUCell", "SimpleRNNCell"} <= set(CELLS)
    assert [KINDS[k].__name__ for k in ("lstm", "gru", "rnn")] == ["LSTM", "GRU", "SimpleRNN"]


def test_a_registered_cell_saves_loads_and_gradchecks(mgu, rng, tmp_path):
    model = Sequential([RNN(mgu(4), input_shape=(5, 3), return_sequences=True), RNN(mgu(3)),
                        Dense(1)], seed=0, dtype="float64").compile(loss="mse")
    x, y = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 1))
    errors = lstm_np.gradcheck(model, x, y)
    assert max(errors.values()) < 1e-7 and len(errors) == 6 + 6 + 2 + 3     # + x, h0 of each
    model.save(tmp_path / "mgu.npz")
    loaded = lstm_np.load_model(tmp_path / "mgu.npz")
    assert type(loaded.layers[0].cell) is mgu
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_an_unregistered_cell_is_refused_in_one_sentence(rng, tmp_path):
    model = Sequential([RNN(MinimalGatedUnit(4), input_shape=(5, 3)), Dense(1)], seed=0)
    with pytest.raises(lstm_np.ModelFileError, match="unknown cell class 'MinimalGatedUnit'; "
                                                      "register it"):
        model.save(tmp_path / "m.npz")


def test_registering_a_second_class_of_the_same_name_is_refused(mgu):
    other = type("MinimalGatedUnit", (MinimalGatedUnit,), {})
    with pytest.raises(ValueError, match="another class named 'MinimalGatedUnit'"):
        register(other)
    with pytest.raises(ValueError, match="the model kind 'lstm' is taken by LSTM"):
        register(type("Peephole", (MinimalGatedUnit,), {}), kind="lstm")
    CELLS.pop("Peephole", None)


def test_a_registered_kind_is_a_models_value(mgu):
    from lstm_np.forecast import memory, options, pipeline
    assert options.model_list("lstm,mgu") == ("lstm", "mgu")
    assert options.NAMES["mgu"] == "MinimalGatedUnit" and options.NAMES["rnn"] == "SimpleRNN"
    model = pipeline.build_model("mgu", (6, 4), 0.1, window=5, seed=0, dtype="float64")
    assert [type(layer).__name__ for layer in model.layers] == \
        ["RNN", "Dropout", "RNN", "Dropout", "Dense"]
    assert model.layers[0].return_sequences and not model.layers[2].return_sequences
    # the memory estimate reads the cell's gates: 2 blocks, between SimpleRNN's 1 and GRU's 3
    sizes = [memory.estimate_bytes(k, (50,), 60, 2000, 32, "float32") for k in ("rnn", "mgu", "gru")]
    assert sizes[0] < sizes[1] < sizes[2]


def test_without_registration_the_kind_is_unknown():
    import argparse

    from lstm_np.forecast import options
    with pytest.raises(argparse.ArgumentTypeError, match="expected distinct names from lstm,gru,"
                                                         "rnn,mlp"):
        options.model_list("mgu")


class Scale(Layer):
    """``y = x * gain``, one gain per feature: a user's layer that declares nothing for the
    model file (no ``config_checks``, no ``weight_shapes_for``)."""

    def __init__(self, start=1.0, input_shape=None, name=None):
        super().__init__(input_shape=input_shape, name=name)
        if not 0 < start < 10:
            raise ValueError(f"start must be in (0, 10), got {start!r}")
        self.start = start

    def build(self, input_shape, rng, dtype):
        self.params = {"gain": np.full(input_shape[-1], self.start, dtype)}
        self.built = True

    def forward(self, x, training=False, rng=None):
        return x * self.params["gain"], x

    def backward(self, dy, cache):
        return dy * self.params["gain"], {"gain": (dy * cache).reshape(-1, dy.shape[-1]).sum(0)}

    def get_config(self):
        return {**super().get_config(), "start": self.start}


def test_a_registered_layer_that_declares_nothing_saves_and_loads(rng, tmp_path):
    """The Layer base gives the model file its defaults: the constructor's arguments are the
    schema (each judged by the constructor), the weights' shapes come from building it."""
    from lstm_np.modelfile import _Refused, check_config

    register(Scale)
    try:
        assert set(Scale.config_schema()) == {"start", "input_shape", "name"}
        model = Sequential([LSTM(4, input_shape=(5, 3), return_sequences=True), Scale(0.5),
                            LSTM(3), Dense(1)], seed=0, dtype="float64").compile(loss="mse")
        x, y = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 1))
        assert max(lstm_np.gradcheck(model, x, y).values()) < 1e-7
        model.save(tmp_path / "scale.npz")
        loaded = lstm_np.load_model(tmp_path / "scale.npz")
        assert type(loaded.layers[1]) is Scale and loaded.layers[1].start == 0.5
        np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
        config = model.get_config()
        assert check_config(config)[1][3] == (4,)           # the gain, found by building it
        config["layers"][1]["config"]["start"] = 20.0
        with pytest.raises(_Refused, match=r"layer 2 \(Scale\) has an invalid configuration "
                                           r".*start must be in \(0, 10\), got 20.0"):
            check_config(config)
        config["layers"][1]["config"]["gain"] = 1.0
        with pytest.raises(_Refused, match="layer 2 \\(Scale\\) has the unknown argument 'gain'"):
            check_config(config)
    finally:
        LAYERS.pop("Scale", None)


def test_the_models_default_is_every_registered_kind(mgu):
    """--models defaults to the registry's kinds as they are when the options are made (a
    cell registered in a notebook included), and --help says so without listing them."""
    from lstm_np.forecast import options
    for cls in (options.BacktestOptions, options.CompareOptions):
        parser = options.build_parser(cls, "prog", "", "")
        assert cls().models == options.parse(cls, parser, []).models == options.MODELS
        assert options.MODELS == ("lstm", "gru", "rnn", "mgu", "mlp")
        assert "all (the default)" in " ".join(parser.format_help().split())
        assert options.parse(cls, parser, ["--models", "mgu,lstm"]).models == ("mgu", "lstm")
        assert options.parse(cls, parser, ["--models", "all"]).models == options.MODELS
