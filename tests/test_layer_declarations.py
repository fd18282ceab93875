"""What the file formats and the peers' mappings know of a layer, its class declares (issue 17):
a registered user layer's declarations reach Keras's config.json, the .keras weight layout and
torch_module, and those modules have no branch of their own on a layer type."""
import ast
import pathlib

import numpy as np
import pytest

import lstm_np
from lstm_np import Dense, Sequential
from lstm_np.layers import CELLS, LAYERS, Layer, register

PACKAGE = pathlib.Path(lstm_np.__file__).parent


class Doubling(Layer):
    """``y = 2 x``: a user's layer declaring how Keras's files and torch hold it."""

    keras_options = ()
    keras_file_options = {"doubling_seed": None}

    def forward(self, x, training=False, rng=None):
        return 2 * x, None

    def backward(self, dy, cache):
        return 2 * dy, {}

    def torch_step(self, torch, input_shape):
        return None, lambda x: 2 * x

    @classmethod
    def keras_file_groups(cls, config, path, name, inner):
        return [(path, 0, name), (f"{path}/note", 0, name + "_note")]


@pytest.fixture
def model():
    """Dense then Doubling, with Doubling registered for one test."""
    register(Doubling)
    yield Sequential([Dense(3, input_shape=(4,), name="dense"), Doubling(name="twice")],
                     seed=0, dtype="float64")
    LAYERS.pop("Doubling", None)


def test_keras_config_writes_the_options_the_class_declares(model):
    from lstm_np.kerasfile import keras_config

    written = {layer["class_name"]: layer["config"]
               for layer in keras_config(model)["config"]["layers"]}
    assert written["Doubling"]["name"] == "twice"
    assert "doubling_seed" in written["Doubling"] and written["Doubling"]["doubling_seed"] is None
    assert "doubling_seed" not in written["Dense"]


def test_the_weight_layout_is_the_one_the_class_declares(model):
    from lstm_np.kerasfile import weight_groups

    groups = weight_groups(model.get_config()["layers"])
    assert groups == [("layers/dense", 2, "dense"), ("layers/doubling", 0, "twice"),
                      ("layers/doubling/note", 0, "twice_note")]


def test_torch_module_runs_the_step_the_class_declares(model, rng):
    torch = pytest.importorskip("torch")
    from lstm_np.interop import torch_module

    net = torch_module(model)
    x = rng.normal(size=(5, 4))
    with torch.no_grad():
        got = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, model.predict(x), rtol=1e-12, atol=1e-12)


class Unmapped(Layer):
    """``y = x``, declaring nothing for torch."""

    def forward(self, x, training=False, rng=None):
        return x, None


def test_a_layer_without_a_torch_step_is_refused_in_one_sentence():
    pytest.importorskip("torch")
    from lstm_np.interop import torch_module

    model = Sequential([Dense(3, input_shape=(4,)), Unmapped(name="odd")], seed=0)
    with pytest.raises(ValueError, match=r"^torch_module: Unmapped layer 'odd' has no PyTorch "
                                         r"module$"):
        torch_module(model)


@pytest.mark.parametrize("module", ["interop.py", "kerasfile.py", "modelfile.py"])
def test_the_mappings_have_no_branch_on_a_layer_type(module):
    """No ``isinstance``/``issubclass``/``is`` test against a layer or cell class and no
    comparison with a class name: what differs between layers is asked of the class."""
    names = set(LAYERS) | set(CELLS)
    tree = ast.parse((PACKAGE / module).read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("isinstance",
                                                                             "issubclass"):
            classes = node.args[1]
            items = classes.elts if isinstance(classes, ast.Tuple) else [classes]
            found += [ast.unparse(node) for item in items if getattr(item, "id", None) in names]
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            found += [ast.unparse(node) for item in operands
                      if getattr(item, "id", None) in names
                      or (isinstance(item, ast.Constant) and item.value in names)
                      or (isinstance(item, ast.Tuple) and any(
                          isinstance(e, ast.Constant) and e.value in names for e in item.elts))]
    assert found == []
