"""A model file's forecasting metadata (``extra``): what ``lstm_np.train`` stores beside the
weights is checked by the forecasting commands (:mod:`lstm_np.forecast.metadata`), not by the
core's ``load_model``; a crafted file ends in one sentence and exit code 2."""
import json

import pytest

from lstm_np import ModelFileError, load_model
from lstm_np.forecast import predict, train
from lstm_np.forecast.metadata import check_extra
from lstm_np.forecast.pipeline import read_model

from conftest import assert_user_error, run, write_price_csv

TINY = ["--window", "5", "--test-days", "5", "--epochs", "1", "--units", "3", "--batch-size", "16",
        "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model file written by lstm_np.train (2 steps, 90% intervals, close and volume) and the
    CSV it was trained on."""
    folder = tmp_path_factory.mktemp("extra")
    csv = write_price_csv(folder / "prices.csv", 60)
    assert train.main([str(a) for a in ["--csv", csv, *TINY, "--out", folder / "run"]]) == 0
    return folder / "run" / "model.npz", csv


def crafted(tmp_path, trained, edit):
    """The trained model file with ``edit(extra)`` applied to its extra data."""
    model = load_model(trained[0])
    extra = json.loads(json.dumps(model.extra))
    edit(extra)
    path = tmp_path / "crafted.npz"
    model.save(path, extra=extra)
    return path


def setter(key, value, inner=None):
    def edit(extra):
        (extra[inner] if inner else extra)[key] = value
    return edit


def popper(key):
    def edit(extra):
        extra.pop(key)
    return edit


# Every field predict uses, crafted: (edit of extra, a phrase of the one sentence).
CRAFTED = {
    "scaler min above max": (setter("data_min", 70000.0, "scaler"), "data_min (70000) exceeds its data_max"),
    "scaler text": (setter("data_max", "65000", "scaler"), "data_max is '65000', not a finite"),
    "scaler range reversed": (setter("feature_range", [1, 0], "scaler"), "feature_range is [1, 0]"),
    "scaler not an object": (setter("scaler", [0, 1]), "its scaler is not a JSON object"),
    "scaler range subnormal": (setter("scaler", {"feature_range": [0, 1], "data_min": 0.0,
                                                 "data_max": 1e-320}), "too wide or too narrow"),
    "scaler range overflows": (setter("scaler", {"feature_range": [0, 1], "data_min": -1e308,
                                                 "data_max": 1e308}), "too wide or too narrow"),
    "window zero": (setter("window", 0), "its window is 0"),
    "window fraction": (setter("window", 6.5), "its window is 6.5"),
    "window other": (setter("window", 7), "its window and features need"),
    "model kind": (setter("model", "transformer"), "its model kind is 'transformer'"),
    "model kind mlp": (setter("model", "mlp"), "its window and features need"),
    "target": (setter("target", "cubic"), "its target is 'cubic'"),
    "horizon": (setter("horizon", 2), "outputs of shape (1,) per window"),
    "horizon text": (setter("horizon", "2"), "its horizon is '2'"),
    "strategy": (setter("strategy", "sideways"), "its strategy is 'sideways'"),
    "features unknown": (setter("features", ["close", "colour"]), "its features are"),
    "features not close first": (setter("features", ["volume"]), "must start with close"),
    "features without scalers": (setter("features", ["close", "volume"]), "1 feature_scalers"),
    "feature scaler broken": (setter("feature_scalers", [{"data_min": 1, "data_max": None}]),
                              "its close scaler's data_max is null"),
    "interval level": (setter("interval", 1.5), "its interval is 1.5"),
    "interval width negative": (setter("interval_widths", [-1.0]), "interval_widths are [-1.0]"),
    "interval width text": (setter("interval_widths", ["wide"]), "interval_widths are"),
    "interval widths too many": (setter("interval_widths", [1.0, 2.0]), "not at most 1"),
    "interval relative flag": (setter("interval_relative", "yes"), "interval_relative is 'yes'"),
    "interval relative overflow": (lambda e: e.update(interval_relative=True,
                                                      interval_widths=[1000.0]), "overflows"),
    "source": (setter("source", 42), "its source is 42"),
    "column": (setter("column", ["Close"]), "its column is"),
    "step seconds": (setter("step_seconds", -86400), "its step_seconds is -86400"),
    "reading not an object": (setter("reading", "fast"), "its reading options are 'fast'"),
    "reading decimal": (setter("reading", {"decimal": "x"}), "reading option decimal is 'x'"),
    "reading unknown": (setter("reading", {"exec": "rm"}), "hold 'exec'"),
    "reading timeout": (setter("reading", {"timeout": -1}), "reading option timeout is -1"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_a_crafted_model_file_is_refused_in_one_sentence(tmp_path, capsys, trained, case):
    """Each field of the extra data, crafted: predict ends in one sentence and exit code 2
    (read_model raises a ModelFileError) before any of it is used."""
    edit, expected = CRAFTED[case]
    path = crafted(tmp_path, trained, edit)
    with pytest.raises(ModelFileError):
        read_model(path)
    code, out, err = run(predict.main, ["--model", path, "--csv", trained[1]], capsys)
    assert_user_error(code, err)
    assert expected in err


def test_the_model_files_train_writes_pass_the_check(trained):
    model, extra, scaler, window = read_model(trained[0])
    check_extra(extra, model.output_shape)
    assert window == 5 and scaler.data_min_ < scaler.data_max_


def test_predict_fetches_a_url_source_only_when_asked(tmp_path, capsys, monkeypatch, trained):
    """A model file's ``source`` URL is not fetched by predict without --csv: one sentence
    saying how to ask, and no request made."""
    import lstm_np.forecast.data as data

    url = "http://127.0.0.1:9/prices.csv"
    path = crafted(tmp_path, trained, setter("source", url))
    fetched = []
    monkeypatch.setattr(data, "read_source", lambda *a, **k: fetched.append(a) or 1 / 0)
    code, out, err = run(predict.main, ["--model", path], capsys)
    assert_user_error(code, err)
    assert f"fetches only when asked: give --csv {url}" in err and not fetched
