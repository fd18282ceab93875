"""Adding a cell touches one file plus its test (issue 17): the cell below is written as one
module and imported, and registering it there (``@register(kind="indrnn")``) is all it takes to
gradient-check it, save and load it through the model file, see it refused by the PyTorch
mapping in one sentence (it declares no torch form), size it in the memory estimate, build it
in the forecasting pipeline and backtest it with ``--models indrnn``."""
import importlib
import json
import sys

import numpy as np
import pytest

import lstm_np
from conftest import write_price_csv
from lstm_np import Dense, Sequential
from lstm_np.layers import CELLS, KINDS, RNN

CELL_MODULE = '''\
"""Independently recurrent cell (IndRNN; Li et al., 2018): each unit sees only its own past,

    h_t = tanh(x_t @ kernel + recurrent_weight * h_{t-1} + bias)

kernel (D, H), recurrent_weight (H,), bias (H,); the state and the output are h."""
import numpy as np

from lstm_np.layers import Cell, register


@register(kind="indrnn")
class IndRNNCell(Cell):
    def __init__(self, units, name=None):
        super().__init__(name=name)
        self.units = self.state_size = self.output_size = units

    def build(self, input_shape):
        self.add_weight("kernel", (input_shape[-1], self.units), "glorot_uniform")
        self.add_weight("recurrent_weight", (self.units,), lambda shape, rng: rng.uniform(0, 1, shape))
        self.add_weight("bias", (self.units,), "zeros")

    def forward(self, x_t, states, training=False):
        h_prev, w = states[0], self.params
        h = np.tanh(x_t @ w["kernel"] + w["recurrent_weight"] * h_prev + w["bias"])
        return h, [h], (x_t, h_prev, h)

    def backward(self, d_output, d_states, cache):
        x_t, h_prev, h = cache
        w = self.params
        da = (d_output + d_states[0]) * (1 - h * h)             # through tanh
        grads = {"kernel": x_t.T @ da, "recurrent_weight": (da * h_prev).sum(axis=0),
                 "bias": da.sum(axis=0)}
        return da @ w["kernel"].T, [da * w["recurrent_weight"]], grads
'''


@pytest.fixture
def cell(tmp_path, monkeypatch):
    """The cell class, from the one module file written for it; forgotten again afterwards."""
    (tmp_path / "indrnn_cell.py").write_text(CELL_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("indrnn_cell")
    yield module.IndRNNCell
    CELLS.pop("IndRNNCell", None)
    KINDS.pop("indrnn", None)
    sys.modules.pop("indrnn_cell", None)


def stack(cell, dtype="float64"):
    return Sequential([RNN(cell(4), input_shape=(5, 3), return_sequences=True), RNN(cell(3)),
                       Dense(1)], seed=0, dtype=dtype).compile(loss="mse")


def test_registering_in_its_module_is_the_whole_declaration(cell):
    assert CELLS["IndRNNCell"] is cell and KINDS["indrnn"] is cell
    from lstm_np.forecast import options
    assert options.model_list("indrnn,lstm") == ("indrnn", "lstm")
    assert "indrnn" in options.MODELS and options.NAMES["indrnn"] == "IndRNNCell"


def test_it_gradchecks_saves_and_loads_bit_for_bit(cell, rng, tmp_path):
    from lstm_np.modelfile import check_config

    model = stack(cell)
    x, y = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 1))
    errors = lstm_np.gradcheck(model, x, y)
    assert max(errors.values()) < 1e-7
    # the model file's shapes come from the cell's build, run without allocating
    assert check_config(model.get_config())[1] == [w.shape for w in model.get_weights()] == [
        (3, 4), (4,), (4,), (4, 3), (3,), (3,), (3, 1), (1,)]
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "indrnn.npz")
    loaded = lstm_np.load_model(tmp_path / "indrnn.npz")
    assert type(loaded.layers[1].cell) is cell and loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_the_torch_mapping_refuses_it_in_one_sentence(cell):
    from lstm_np.interop import state_dict_numpy

    with pytest.raises(ValueError, match=r"^state_dict_numpy: RNN layer 'rnn' has weights but "
                                         r"no PyTorch form$"):
        state_dict_numpy(stack(cell))


def test_the_forecasting_pipeline_builds_sizes_and_backtests_it(cell, tmp_path, capsys):
    from lstm_np.forecast import memory, pipeline
    from lstm_np.forecast.backtest import main

    model = pipeline.build_model("indrnn", (6, 4), 0.1, window=5, seed=0, dtype="float32")
    assert [type(layer).__name__ for layer in model.layers] == \
        ["RNN", "Dropout", "RNN", "Dropout", "Dense"]
    assert memory.estimate_bytes("indrnn", (50,), 60, 2000, 32, "float32") > 0
    csv = write_price_csv(tmp_path / "btc.csv", 120)
    out = tmp_path / "bt"
    code = main(["--csv", str(csv), "--models", "indrnn,mlp", "--folds", "2", "--test-days", "5",
                 "--window", "5", "--units", "4", "--epochs", "1", "--batch-size", "16",
                 "--quiet", "--out", str(out)])
    capsys.readouterr()
    assert code == 0
    report = json.loads((out / "backtest.json").read_text())
    assert set(report["models"]) == {"indrnn", "mlp"}
    assert report["models"]["indrnn"]["name"] == "IndRNNCell"
    assert np.isfinite(report["models"]["indrnn"]["mae"])
