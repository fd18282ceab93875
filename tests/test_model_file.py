"""Model files: every way a file can be wrong is refused with one sentence, before anything
is allocated or computed, and a valid file round-trips exactly."""
import io
import json
import os
import re
import threading
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstm_np import GRU, LSTM, Dense, Dropout, ModelFileError, Sequential, SimpleRNN, load_model
from lstm_np.modelfile import MAX_PARAMETERS

SCALER = {"feature_range": [0, 1], "data_min": 3000.0, "data_max": 65000.0}
EXTRA = {"scaler": SCALER, "window": 6, "model": "lstm"}


def small_model(dtype="float32", seed=0):
    return Sequential([LSTM(4, return_sequences=True, input_shape=(6, 1)), Dropout(0.2),
                       GRU(3), Dense(1)], seed=seed, dtype=dtype)


def saved_bytes(model=None, extra=EXTRA):
    buffer = io.BytesIO()
    model = model or small_model()
    arrays = {"config": np.array(json.dumps(model.get_config())),
              "extra": np.array(json.dumps(extra))}
    arrays.update({f"weight_{k:03d}": w for k, w in enumerate(model.get_weights())})
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def entries_of(data):
    """``{name: bytes}`` of a zip archive, in order."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def zip_of(entries, compression=zipfile.ZIP_STORED):
    """A zip archive of ``(name, bytes)`` pairs (duplicates allowed)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # "Duplicate name"
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, content in entries:
                archive.writestr(name, content)
    return buffer.getvalue()


def npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def with_entry(data, name, content):
    """The archive with entry ``name`` replaced (or added) by ``content``."""
    entries = entries_of(data)
    entries[name] = content
    return zip_of(entries.items())


def with_config(data, edit):
    """The archive with its config JSON passed through ``edit(config)``."""
    config = json.loads(str(np.load(io.BytesIO(entries_of(data)["config.npy"]))))
    edit(config)
    return with_entry(data, "config.npy", npy(np.array(json.dumps(config))))


def with_extra(data, extra):
    return with_entry(data, "extra.npy", npy(np.array(json.dumps(extra))))


def refusal(tmp_path, data, name="model.npz"):
    """The one sentence ``load_model`` refuses ``data`` with."""
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ModelFileError) as err:
        load_model(path)
    message = str(err.value)
    assert_one_sentence(message)
    return message


def assert_one_sentence(message):
    assert message and "\n" not in message, message
    assert not re.search(r"[.!?]\s+[A-Z]", message), f"more than one sentence: {message}"
    assert "Traceback" not in message and "allow_pickle" not in message, message


# ------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_saved_model_loads_back_with_identical_predictions(tmp_path, dtype):
    model = small_model(dtype)
    model.save(tmp_path / "m.npz", extra=EXTRA)
    loaded = load_model(tmp_path / "m.npz")
    x = np.random.default_rng(0).random((5, 6, 1))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.get_config() == model.get_config() and loaded.extra == EXTRA
    assert loaded.dtype == np.dtype(dtype)


def test_loading_draws_no_random_weights_that_it_overwrites(tmp_path, monkeypatch):
    """The saved weights are the only ones: the orthogonal draw (a QR decomposition, minutes
    for LSTM(4000)) is never run while loading."""
    small_model().save(tmp_path / "m.npz")
    import lstm_np.initializers as initializers

    def fail(*args):
        raise AssertionError("load_model drew an orthogonal matrix")

    monkeypatch.setitem(initializers.INITIALIZERS, "orthogonal", fail)
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.layers[0].recurrent_initializer == "orthogonal"      # config unchanged


layer_stacks = st.sampled_from([
    lambda: [LSTM(3, input_shape=(5, 2)), Dense(1)],
    lambda: [GRU(2, return_sequences=True, input_shape=(4, 3)), SimpleRNN(3), Dense(2)],
    lambda: [SimpleRNN(2, input_shape=(3, 1), use_bias=False), Dropout(0.5), Dense(1)],
    lambda: [Dense(4, activation="relu", input_shape=(6,)), Dense(1)],
    lambda: [LSTM(2, return_sequences=True, input_shape=(3, 1)), Dense(3, use_bias=False)],
])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=layer_stacks, dtype=st.sampled_from(["float32", "float64"]),
       seed=st.integers(0, 2**16))
def test_any_valid_model_round_trips_exactly(tmp_path_factory, layers, dtype, seed):
    model = Sequential(layers(), seed=seed, dtype=dtype)
    path = tmp_path_factory.mktemp("rt") / "m.npz"
    model.save(path)
    loaded = load_model(path)
    x = np.random.default_rng(seed).random((3,) + model.input_shape)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    for ours, theirs in zip(loaded.get_weights(), model.get_weights()):
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)


# ------------------------------------------------------------------------- not a model at all
def test_a_text_file_is_refused_without_numpys_pickle_advice(tmp_path):
    message = refusal(tmp_path, b"date,close\n2020-01-01,7200.17\n", "prices.csv")
    assert "not a NumPy .npz archive" in message


def test_a_fifo_is_refused_without_blocking(tmp_path):
    path = tmp_path / "fifo.npz"
    os.mkfifo(path)
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(_refusal_of(path)), daemon=True)
    worker.start()
    worker.join(20)
    assert not worker.is_alive(), "load_model blocked on a FIFO"
    assert "not a regular file" in outcome[0]


def _refusal_of(path):
    try:
        load_model(path)
    except ModelFileError as err:
        return str(err)
    return "loaded"


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(ModelFileError, match="is a folder"):
        load_model(tmp_path)


def test_a_truncated_file_is_refused(tmp_path):
    data = saved_bytes()
    for cut in (10, len(data) // 2, len(data) - 1):
        refusal(tmp_path, data[:cut])


# ------------------------------------------------------------------------------ zip directory
def test_an_unknown_entry_is_refused_before_it_is_inflated(tmp_path):
    """The reproduction: a small .npz with an unused entry that inflates to far more than a
    model needs. Refused from the zip directory alone: nothing close to its size is allocated."""
    bomb = zip_of(list(entries_of(saved_bytes()).items()) +
                  [("padding.npy", bytes(50 * 2**20))], zipfile.ZIP_DEFLATED)
    assert len(bomb) < 2**20
    tracemalloc.start()
    message = refusal(tmp_path, bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "'padding.npy' that no lstm_np model file has" in message
    assert peak < 5 * 2**20


def test_a_weight_entry_declaring_more_than_its_array_needs_is_refused_unread(tmp_path):
    data = saved_bytes()
    header = npy(small_model().get_weights()[0])      # a valid header, then 50 MB of zeros
    bomb = with_entry(data, "weight_000.npy", header + bytes(50 * 2**20))
    bomb = zip_of(entries_of(bomb).items(), zipfile.ZIP_DEFLATED)
    tracemalloc.start()
    message = refusal(tmp_path, bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "weight_000 declares 52,428,9" in message and "needs at most" in message
    assert peak < 5 * 2**20


def test_a_declared_size_deflate_cannot_produce_is_refused(tmp_path):
    """A directory that claims 4 GB from a few hundred bytes (patched by hand: zipfile would
    never write it) is a zip bomb, whatever the entry."""
    data = bytearray(zip_of(entries_of(saved_bytes()).items(), zipfile.ZIP_DEFLATED))
    at = data.index(b"PK\x01\x02")                 # the first central-directory record
    data[at + 24:at + 28] = (2**32 - 2).to_bytes(4, "little")   # its uncompressed size
    assert "more than deflate can produce" in refusal(tmp_path, bytes(data))


def test_duplicate_and_missing_entries_are_refused(tmp_path):
    entries = list(entries_of(saved_bytes()).items())
    assert "appears twice" in refusal(tmp_path, zip_of(entries + [entries[2]]))
    assert "weight_001 is missing" in refusal(
        tmp_path, zip_of([e for e in entries if e[0] != "weight_001.npy"]))
    extra_weight = ("weight_008.npy", npy(np.zeros(3, np.float32)))
    assert "needs only 8 weight arrays" in refusal(tmp_path, zip_of(entries + [extra_weight]))


# --------------------------------------------------------------------------- weight arrays
@pytest.mark.parametrize("bad", [np.int64, np.complex64, np.float16, np.bool_, "U8"])
def test_weights_that_are_not_real_floats_of_the_models_precision_are_refused(tmp_path, bad):
    data = saved_bytes()
    kernel = small_model().get_weights()[0]
    message = refusal(tmp_path, with_entry(data, "weight_000.npy", npy(kernel.astype(bad))))
    assert "weight_000 holds" in message


def test_float64_weights_in_a_float32_model_are_refused(tmp_path):
    kernel = small_model().get_weights()[0].astype(np.float64)
    message = refusal(tmp_path, with_entry(saved_bytes(), "weight_000.npy", npy(kernel)))
    assert "holds float64 values but the model is float32" in message


def test_non_finite_weights_are_refused(tmp_path):
    kernel = small_model().get_weights()[3].copy()
    kernel[0, 0] = np.nan
    message = refusal(tmp_path, with_entry(saved_bytes(), "weight_003.npy", npy(kernel)))
    assert "weight_003 holds NaN or infinite values" in message


def test_a_kernel_for_three_features_in_a_one_feature_model_is_refused(tmp_path):
    """Issue 13, item 6: the first layer's kernel (3, 16) while the model takes 1 feature would
    let the compiled kernel read past its input; refused by shape before any kernel runs."""
    kernel = np.zeros((3, 16), np.float32)
    message = refusal(tmp_path, with_entry(saved_bytes(), "weight_000.npy", npy(kernel)))
    assert "weight_000 has shape (3, 16) but its layer needs (1, 16)" in message
    # and the same lie told by the config: the first layer says 3 features, the model 1
    message = refusal(tmp_path, with_config(
        saved_bytes(), lambda c: c["layers"][0]["config"].update(input_shape=[6, 3])))
    assert "its first layer takes inputs (6, 3) but the model takes (6, 1)" in message


def test_a_huge_layer_declared_in_a_small_file_is_refused_before_allocating(tmp_path):
    """The reproduction: a small file whose config says LSTM(3000) (36 million parameters)
    used to spend minutes drawing random weights before its arrays were found too small."""
    data = with_config(saved_bytes(), lambda c: c["layers"][0]["config"].update(units=3000))
    tracemalloc.start()
    message = refusal(tmp_path, data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "has shape (1, 16) but its layer needs (1, 12000)" in message
    assert peak < 5 * 2**20
    data = with_config(saved_bytes(), lambda c: c["layers"][0]["config"].update(units=4000))
    assert f"more than {MAX_PARAMETERS:,} parameters" in refusal(tmp_path, data)


# ---------------------------------------------------------------------------------- config
@pytest.mark.parametrize("edit, expected", [
    (lambda c: c.update(layers=[]), "it has no layers"),
    (lambda c: c.update(layers=[{"class": "Dropout", "config": {"rate": 0.2}}]),
     "none of its layers has weights"),
    (lambda c: c.update(format="keras"), "format"),
    (lambda c: c.update(version=2), "format version is 2"),
    (lambda c: c.update(version=True), "format version is true"),
    (lambda c: c.update(dtype="int64"), "its dtype is 'int64'"),
    (lambda c: c.update(input_shape=[6, 0]), "input_shape must hold positive integers"),
    (lambda c: c.update(input_shape=None), "input_shape must be a list"),
    (lambda c: c.update(surprise=1), "unknown key 'surprise'"),
    (lambda c: c["layers"][0].update({"class": "Lambda"}), "unknown layer class 'Lambda'"),
    (lambda c: c["layers"][0]["config"].update(units=True), "invalid units: true"),
    (lambda c: c["layers"][0]["config"].update(units=-4), "invalid units: -4"),
    (lambda c: c["layers"][0]["config"].update(units=4.5), "invalid units: 4.5"),
    (lambda c: c["layers"][0]["config"].update(activation="eval"), "invalid activation"),
    (lambda c: c["layers"][0]["config"].update(return_state=True), "invalid return_state"),
    (lambda c: c["layers"][0]["config"].update(code="import os"), "unknown argument 'code'"),
    (lambda c: c["layers"][1]["config"].update(rate=1.5), "invalid rate: 1.5"),
    (lambda c: c["layers"][2]["config"].update(name="lstm"), "the name 'lstm' of an earlier"),
    (lambda c: c["layers"][0]["config"].update(return_sequences=False),
     "layer 3 (GRU) needs (timesteps, features) inputs but gets (4,)"),
    (lambda c: c["layers"][3]["config"].pop("units"), "layer 4 (Dense) lacks its units"),
])
def test_an_invalid_config_is_refused_with_its_reason(tmp_path, edit, expected):
    assert expected in refusal(tmp_path, with_config(saved_bytes(), edit))


def test_a_config_that_is_not_json_text_is_refused(tmp_path):
    data = saved_bytes()
    assert "config entry is not a JSON text" in refusal(
        tmp_path, with_entry(data, "config.npy", npy(np.zeros(3))))
    assert "config entry is not valid JSON" in refusal(
        tmp_path, with_entry(data, "config.npy", npy(np.array("{'python': 1}"))))
    assert "config entry is not valid JSON" in refusal(
        tmp_path, with_entry(data, "config.npy", npy(np.array('{"a": 1'))))


# ------------------------------------------------------------------------------- extra data
def test_extra_data_is_the_writers_business(tmp_path):
    """The core checks that ``extra`` is a JSON object, not what it holds (the forecasting
    commands check theirs: tests/test_model_extra.py)."""
    model = Sequential([LSTM(4, input_shape=(6, 1)), Dense(2)], seed=0)
    path = tmp_path / "plain.npz"
    model.save(path, extra={**EXTRA, "scaler": {**SCALER, "data_min": 70000.0}})
    assert load_model(path).output_shape == (2,)
    assert "extra entry is not a JSON object" in refusal(
        tmp_path, with_entry(saved_bytes(), "extra.npy", npy(np.array("[1, 2]"))))


# -------------------------------------------------------------------------- random damage
ENTRY_NAMES = ["config.npy", "extra.npy"] + [f"weight_{k:03d}.npy" for k in range(8)]
JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                        st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
                        st.lists(st.integers(-3, 10**7), max_size=3),
                        st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))


def config_paths(value, prefix=()):
    """Every path to a value inside a JSON document."""
    yield prefix
    items = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield from config_paths(child, prefix + (key,))


@st.composite
def damaged_files(draw):
    dtype = draw(st.sampled_from(["float32", "float64"]))
    data = saved_bytes(small_model(dtype))
    kind = draw(st.sampled_from(["truncate", "flip", "drop", "add", "retype", "reshape",
                                 "config", "extra"]))
    if kind == "truncate":
        return kind, data[:draw(st.integers(0, len(data) - 1))]
    if kind == "flip":
        damaged = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(data) - 1))
            damaged[at] ^= draw(st.integers(1, 255))
        return kind, bytes(damaged)
    entries = list(entries_of(data).items())
    if kind == "drop":
        del entries[draw(st.integers(0, len(entries) - 1))]
        return kind, zip_of(entries)
    if kind == "add":
        name = draw(st.sampled_from(ENTRY_NAMES + ["pad.npy", "weight_7.npy", "../x.npy"]))
        content = draw(st.one_of(st.binary(max_size=64), st.just(npy(np.zeros(4)))))
        return kind, zip_of(entries + [(name, content)])
    if kind in ("retype", "reshape"):
        index = draw(st.integers(2, len(entries) - 1))
        array = np.load(io.BytesIO(entries[index][1]))
        if kind == "retype":
            array = array.astype(draw(st.sampled_from(
                [np.int64, np.int8, np.complex128, np.float16, np.uint32, "S4", "U2"])))
        else:
            array = np.zeros(draw(st.lists(st.integers(0, 9), max_size=3)), array.dtype)
        entries[index] = (entries[index][0], npy(array))
        return kind, zip_of(entries)
    if kind == "config":
        config = json.loads(str(np.load(io.BytesIO(entries[0][1]))))
        # an activation or initializer name changed to another valid one makes another valid
        # model, which no reader can tell from the original: edit everything else
        paths = [p for p in config_paths(config) if p and not any(
            str(k).endswith(("activation", "initializer")) for k in p)]
        path = draw(st.sampled_from(paths))
        value = draw(JSON_VALUES)
        target = config
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return kind, with_entry(data, "config.npy", npy(np.array(json.dumps(config))))
    extra = json.loads(json.dumps(EXTRA))
    target = draw(st.sampled_from([extra, extra["scaler"]]))
    target[draw(st.sampled_from(sorted(target)))] = draw(JSON_VALUES)
    return kind, with_extra(data, extra)


@settings(suppress_health_check=[HealthCheck.too_slow])  # examples: the profile's (conftest.py)
@given(damaged=damaged_files())
def test_a_damaged_file_is_refused_in_one_sentence_or_still_forecasts_a_number(
        tmp_path_factory, damaged):
    """Truncated, bit-flipped, entries dropped or added, arrays of another dtype or shape,
    config or scaler values edited: ``load_model`` either refuses with a ModelFileError of one
    sentence (never another exception, never a hang), or the damage left a usable model
    (e.g. a flipped byte in a zip timestamp, a layer renamed) whose forecast is a finite
    number."""
    kind, data = damaged
    path = tmp_path_factory.mktemp("damaged") / "model.npz"
    path.write_bytes(data)
    try:
        model = load_model(path)
    except ModelFileError as err:
        assert_one_sentence(str(err))
        return
    x = np.random.default_rng(0).random((2,) + model.input_shape)
    assert np.isfinite(model.predict(x)).all(), kind


# ------------------------------------------------------------------------------------ saving
def test_save_refuses_to_write_a_file_that_load_would_refuse(tmp_path):
    """A model beyond the loader's limits, or extra data that is not an object, fails at save with one sentence
    and leaves no file, rather than writing a model.npz no one can load."""
    path = tmp_path / "m.npz"
    with pytest.raises(ModelFileError, match="cannot be saved .*extra data is not a JSON object"):
        small_model().save(path, extra=[1, 2])
    names = [f"layer_{k}" for k in range(101)]
    too_deep = Sequential([Dense(1, input_shape=(1,), name=names[0])] +
                          [Dense(1, name=n) for n in names[1:]])
    with pytest.raises(ModelFileError, match="101 layers, more than lstm_np's limit of 100"):
        too_deep.save(path)
    with pytest.raises(ModelFileError, match="extra data is not JSON"):
        small_model().save(path, extra={"when": object()})
    assert not path.exists() and list(tmp_path.iterdir()) == []
