"""Keras 3's own files (``.keras``, ``.weights.h5``): files written by real Keras load here and
give Keras's recorded predictions (tests/golden/keras_files, made by
tests/golden/make_keras_files.py); files written here have Keras's exact HDF5 layout and load
back; every broken or foreign file is refused with one sentence. The live tests (Keras
installed) load our files in Keras and Keras's in lstm_np."""
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lstm_np import GRU, LSTM, Dense, Dropout, ModelFileError, Sequential, SimpleRNN, load_model
from lstm_np.layers import (Activation, Bidirectional, Flatten, RepeatVector,
                            TimeDistributed)

FILES = Path(__file__).parent / "golden" / "keras_files"
CASES = sorted(p.stem for p in FILES.glob("*.npz"))


def recorded(name):
    with np.load(FILES / f"{name}.npz", allow_pickle=False) as data:
        return data["x"], data["y"], str(data["dtype"])


def tolerance(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)


def encoder_decoder(dtype="float32"):
    return Sequential([Bidirectional(LSTM(4), input_shape=(6, 2)), RepeatVector(3),
                       Bidirectional(GRU(3, return_sequences=True), merge_mode="sum"),
                       TimeDistributed(Dense(2)), Flatten(), Activation("tanh"), Dense(1)],
                      seed=1, dtype=dtype)


@pytest.mark.parametrize("name", CASES)
def test_keras_files_give_keras_predictions(name):
    x, y, dtype = recorded(name)
    model = load_model(FILES / f"{name}.keras")
    assert model.dtype == dtype and model.optimizer is None
    np.testing.assert_allclose(model.predict(x), y, **tolerance(dtype))
    # the weights-only file, into the same architecture, and the weights of the .keras file
    for source in (f"{name}.weights.h5", f"{name}.keras"):
        fresh = Sequential.from_config(model.get_config(), seed=5)
        fresh.load_weights(FILES / source)
        np.testing.assert_array_equal(fresh.predict(x), model.predict(x))


def h5_layout(data):
    """Every group and dataset of an HDF5 file: path -> shape (None for a group) and the
    ``name`` attribute of each ``vars`` group; the optimizer's state left out."""
    import h5py

    layout = {}
    with h5py.File(io.BytesIO(data) if isinstance(data, bytes) else data, "r") as f:
        def visit(path, item):
            if not path.startswith("optimizer"):
                layout[path] = getattr(item, "shape", None)
        f.visititems(visit)
    return layout


def test_written_files_have_keras_layout(tmp_path):
    model = encoder_decoder()
    x, y, _ = recorded("bidirectional_encoder_decoder")
    model.save(tmp_path / "ours.keras")
    model.save_weights(tmp_path / "ours.weights.h5")
    with zipfile.ZipFile(tmp_path / "ours.keras") as ours, \
            zipfile.ZipFile(FILES / "bidirectional_encoder_decoder.keras") as keras_file:
        assert sorted(ours.namelist()) == sorted(keras_file.namelist())
        assert h5_layout(ours.read("model.weights.h5")) == \
            h5_layout(keras_file.read("model.weights.h5"))
        config = json.loads(ours.read("config.json"))
        theirs = json.loads(keras_file.read("config.json"))
    assert h5_layout(tmp_path / "ours.weights.h5") == \
        h5_layout(FILES / "bidirectional_encoder_decoder.weights.h5")
    assert [l["class_name"] for l in config["config"]["layers"]] == \
        [l["class_name"] for l in theirs["config"]["layers"]]
    # and back: the same model, exactly
    loaded = load_model(tmp_path / "ours.keras")
    assert loaded.get_config()["layers"][0]["class"] == "Bidirectional"
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    other = encoder_decoder()
    other.set_weights([w * 0 for w in other.get_weights()])
    other.load_weights(tmp_path / "ours.weights.h5")
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_round_trip_float64_and_every_layer(tmp_path):
    model = Sequential([SimpleRNN(3, return_sequences=True, input_shape=(5, 2)), Dropout(0.3),
                        LSTM(4, use_bias=False, return_sequences=True), GRU(2), Dense(1)],
                       seed=3, dtype="float64")
    x = np.random.default_rng(0).normal(size=(3, 5, 2))
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert [type(l).__name__ for l in loaded.layers] == ["SimpleRNN", "Dropout", "LSTM", "GRU",
                                                         "Dense"]
    assert loaded.layers[1].rate == 0.3 and loaded.layers[2].use_bias is False


def options_model():
    return Sequential([GRU(3, reset_after=False, go_backwards=True, return_sequences=True,
                           dropout=0.2, recurrent_dropout=0.1, input_shape=(5, 2)),
                       Bidirectional(LSTM(2, unroll=True), merge_mode="ave"), Dense(1)], seed=0)


def test_round_trip_recurrent_options(tmp_path):
    model = options_model()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        layers = json.loads(archive.read("config.json"))["config"]["layers"]
    assert layers[1]["config"]["reset_after"] is False
    assert layers[2]["config"]["backward_layer"]["config"]["go_backwards"] is True
    loaded = load_model(tmp_path / "m.keras")
    ours = model.get_config()
    ours["layers"][0]["config"].pop("input_shape")      # the model's, in the InputLayer
    assert loaded.get_config() == ours
    x = np.random.default_rng(0).normal(size=(3, 5, 2))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_writers_never_replace_a_file_unasked(tmp_path):
    model = encoder_decoder()
    for path, write in ((tmp_path / "m.keras", model.save),
                        (tmp_path / "m.weights.h5", model.save_weights)):
        path.write_bytes(b"keep me")
        with pytest.raises(Exception, match="already exists; pass overwrite=True"):
            write(path)
        assert path.read_bytes() == b"keep me"
        write(path, overwrite=True)
        assert path.read_bytes() != b"keep me"
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        model.save_weights(tmp_path / "m.h5")


def rezipped(tmp_path, drop=(), replace=None):
    """A copy of a real Keras file without some entries, or with one replaced."""
    source = zipfile.ZipFile(FILES / "simple_rnn_dense.keras")
    path = tmp_path / "edited.keras"
    with zipfile.ZipFile(path, "w") as out:
        for name in source.namelist():
            if name not in drop:
                data = (replace or {}).get(name, source.read(name))
                out.writestr(name, data)
    return path


def edited_h5(change):
    """The weights of a real Keras file, changed by ``change(h5py.File)``."""
    import h5py

    buffer = io.BytesIO(zipfile.ZipFile(FILES / "simple_rnn_dense.keras")
                        .read("model.weights.h5"))
    with h5py.File(buffer, "a") as f:
        change(f)
    return buffer.getvalue()


def nan_weight(f):
    f["layers/dense/vars/0"][0, 0] = np.nan


def wrong_shape(f):
    del f["layers/dense/vars/0"]
    f["layers/dense/vars"].create_dataset("0", data=np.zeros((4, 2), "float32"))


def extra_layer(f):
    f.create_group("layers/lstm/cell/vars")


def integer_weight(f):
    del f["layers/dense/vars/0"]
    f["layers/dense/vars"].create_dataset("0", data=np.zeros((3, 2), "int32"))


@pytest.mark.parametrize("make, message", [
    (lambda p: FILES / "conv1d.keras", "is a Keras Conv1D layer, which lstm_np does not have "
     r"\(it reads (\w+, )*LSTM, GRU, (\w+, )*SimpleRNN"),
    (lambda p: FILES / "functional.keras", "functional keras.Model"),
    (lambda p: rezipped(p, drop=("model.weights.h5",)), "no model.weights.h5 entry"),
    (lambda p: rezipped(p, drop=("config.json",)), "no config.json entry"),
    (lambda p: rezipped(p, replace={"config.json": "{not json"}), "not valid JSON"),
    (lambda p: rezipped(p, replace={"model.weights.h5": b"garbage"}), "not a readable HDF5"),
    (lambda p: rezipped(p, replace={"model.weights.h5": edited_h5(nan_weight)}),
     "NaN or infinite"),
    (lambda p: rezipped(p, replace={"model.weights.h5": edited_h5(wrong_shape)}),
     r"has shape \(4, 2\); the layer needs \(3, 2\)"),
    (lambda p: rezipped(p, replace={"model.weights.h5": edited_h5(extra_layer)}),
     "hold the layers"),
    (lambda p: rezipped(p, replace={"model.weights.h5": edited_h5(integer_weight)}),
     "not real floats"),
    (lambda p: p / "missing.keras", "does not exist"),
    (lambda p: p, "is a folder"),
])
def test_bad_keras_files_are_refused_in_one_sentence(tmp_path, make, message):
    with pytest.raises(ModelFileError, match=message) as caught:
        load_model(make(tmp_path))
    text = str(caught.value)
    assert "\n" not in text and "Traceback" not in text


def test_truncated_and_non_zip_files(tmp_path):
    data = (FILES / "simple_rnn_dense.keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.keras").write_text("hello")
    for name in ("cut.keras", "text.keras"):
        with pytest.raises(ModelFileError, match="not a zip archive|damaged"):
            load_model(tmp_path / name)


def test_load_weights_refuses_another_architecture(tmp_path):
    model = Sequential([LSTM(3, input_shape=(5, 3)), Dense(2)], seed=0)
    before = model.get_weights()
    with pytest.raises(ModelFileError, match="hold the layers"):
        model.load_weights(FILES / "simple_rnn_dense.weights.h5")
    model = Sequential([SimpleRNN(4, input_shape=(5, 3)), Dense(2, use_bias=False)], seed=0)
    before = model.get_weights()
    with pytest.raises(ModelFileError, match="shape"):
        model.load_weights(FILES / "simple_rnn_dense.weights.h5")
    for old, new in zip(before, model.get_weights()):          # all or nothing
        np.testing.assert_array_equal(old, new)


# ------------------------------------------------------------------------- live, with Keras
def test_live_lstm_np_to_keras_and_back(tmp_path):
    keras = pytest.importorskip("keras")
    model = encoder_decoder()
    x, _, _ = recorded("bidirectional_encoder_decoder")
    model.save(tmp_path / "ours.keras")
    model.save_weights(tmp_path / "ours.weights.h5")
    theirs = keras.models.load_model(tmp_path / "ours.keras")
    np.testing.assert_allclose(theirs.predict(x, verbose=0), model.predict(x), rtol=1e-5,
                               atol=1e-6)
    theirs.load_weights(tmp_path / "ours.weights.h5")
    theirs.save(tmp_path / "theirs.keras")
    back = load_model(tmp_path / "theirs.keras")
    np.testing.assert_array_equal(back.predict(x), model.predict(x))


def test_live_recurrent_options_in_keras(tmp_path):
    keras = pytest.importorskip("keras")
    model = options_model()
    model.save(tmp_path / "m.keras")
    theirs = keras.models.load_model(tmp_path / "m.keras")
    config = theirs.layers[0].get_config()
    assert (config["reset_after"], config["go_backwards"], config["dropout"]) == (False, True,
                                                                                   0.2)
    x = np.random.default_rng(0).normal(size=(3, 5, 2)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(theirs(x)), model.predict(x),
                               rtol=1e-5, atol=1e-6)


def test_live_every_case_regenerated(tmp_path):
    pytest.importorskip("keras")
    import sys

    sys.path.insert(0, str(FILES.parent))
    try:
        import make_keras_files
    finally:
        sys.path.pop(0)
    for name, (shape, dtype, layers) in make_keras_files.CASES.items():
        theirs = make_keras_files.build(shape, dtype, layers)
        x = np.random.default_rng(0).normal(size=(2,) + shape).astype(dtype)
        theirs.save(tmp_path / f"{name}.keras")
        ours = load_model(tmp_path / f"{name}.keras")
        np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0),
                                   **tolerance(dtype))
    make_keras_files.keras.config.set_floatx("float32")
    make_keras_files.keras.config.set_dtype_policy("float32")
