"""The search space of ``python -m lstm_np.tune`` (:mod:`lstm_np.forecast.space`), without training.

Contract: the axes are the options that change a training, derived from options.py (an
optimizer added to ``--optimizer``'s choices is an axis value at once); every value is checked
as its flag checks it; ``--grid`` and a TOML or JSON ``--space`` file describe the same space;
configurations are numbered by their place in the grid whatever ``--samples`` / ``--budget``
draw; bad input is a one-sentence :class:`UserError`.
"""
import json
from dataclasses import fields

import pytest

from lstm_np.forecast import options
from lstm_np.forecast.cli import UserError
from lstm_np.forecast.space import (axes, check_count, choose, configurations, parse_grid,
                                    read_space, search_space, text)

ISSUE_GRID = ["units=32,50,100", "window=30,60", "optimizer=adam,sgd", "learning-rate=1e-3,3e-3",
              "dropout=0,0.2", "model=lstm,gru", "layers=1,2", "target=price,log-return"]


def test_the_axes_are_the_training_options_and_layers():
    names = list(axes())
    assert names[-1] == "layers"
    assert {"units", "window", "optimizer", "learning-rate", "dropout", "model", "target", "features",
            "epochs", "batch-size", "dtype", "patience", "strategy", "val-split", "interval"} == set(names[:-1])
    # everything else of TrainOptions is fixed for a search, or is the seed (--seeds), or output
    for f in fields(options.TrainOptions):
        flag = f.metadata["flags"][0].removeprefix("--")
        if flag not in names:
            assert f.metadata["fixed"] or f.name == "seed" or f.metadata["group"] == "output", flag


def test_axis_values_follow_the_option_checks_and_choices(monkeypatch):
    space = dict(parse_grid(ISSUE_GRID))
    assert space["units"] == [(32,), (50,), (100,)]
    assert space["learning-rate"] == [0.001, 0.003]
    assert space["target"] == ["price", "log-return"]
    assert dict(parse_grid(["units=50+100,32", "patience=none,3", "features=close,close+volume"])) == {
        "units": [(50, 100), (32,)], "patience": [None, 3], "features": [("close",), ("close", "volume")]}
    assert dict(parse_grid(["learning_rate=0.01", "Batch-Size=8"])) == {"learning-rate": [0.01],
                                                                        "batch-size": [8]}
    # the optimizer axis accepts whatever --optimizer accepts
    f = options.TrainOptions.__dataclass_fields__["optimizer"]
    monkeypatch.setitem(f.metadata["argparse"], "choices", (*f.metadata["argparse"]["choices"], "lion"))
    assert dict(parse_grid(["optimizer=adam,rmsprop,lion"])) == {"optimizer": ["adam", "rmsprop", "lion"]}


@pytest.mark.parametrize("grid, message", [
    (["unit=32"], "unknown axis 'unit'"),
    (["seed=1,2"], "unknown axis 'seed'"),
    (["horizon=1,2"], "unknown axis 'horizon'"),
    (["optimizer=adam,ftrl"], "optimizer cannot be 'ftrl'"),
    (["units=0,32"], "units expected positive whole numbers"),
    (["dropout=1.5"], "dropout expected a number in [0, 1)"),
    (["units="], "has no value (an empty grid)"),
    (["units"], "expected NAME=VALUE"),
    (["units=32,32"], "lists 32 twice"),
    (["units=32", "units=64"], "the axis units is given twice"),
    ([], "there is nothing to search"),
])
def test_bad_axes_are_one_sentence_errors(grid, message):
    with pytest.raises(UserError, match=None) as caught:
        search_space(grid)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_toml_or_json_file_gives_the_grid_s_space(tmp_path):
    toml = tmp_path / "space.toml"
    toml.write_text('units = [32, [50, 100]]\nlearning-rate = [1e-3, 3e-3]\ntarget = ["price", "log-return"]\n'
                    'patience = ["none", 3]\n')
    js = tmp_path / "space.json"
    js.write_text(json.dumps({"units": [32, [50, 100]], "learning_rate": [1e-3, 3e-3],
                              "target": ["price", "log-return"], "patience": ["none", 3]}))
    grid = parse_grid(["units=32,50+100", "learning-rate=1e-3,3e-3", "target=price,log-return",
                       "patience=none,3"])
    assert read_space(toml) == grid
    assert read_space(js) == grid
    # the file's axes first, then --grid's
    assert [n for n, _ in search_space(["window=30,60"], str(toml))] == [
        "units", "learning-rate", "target", "patience", "window"]


@pytest.mark.parametrize("name, content, message", [
    ("bad.toml", "units = [32,", "is not valid TOML"),
    ("bad.json", "{", "is not valid JSON"),
    ("empty.toml", "", "holds no axis"),
    ("scalar.toml", "units = 32", "must be a list"),
    ("empty-axis.json", '{"units": []}', "an empty grid"),
    ("flag.json", '{"units": [true]}', "not a number"),
    ("unknown.toml", "colour = [1]", "unknown axis 'colour'"),
])
def test_bad_space_files_are_one_sentence_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(UserError) as caught:
        search_space(None, str(path))
    assert message in str(caught.value)
    with pytest.raises(UserError, match="cannot be read"):
        search_space(None, str(tmp_path / "missing.toml"))


def test_configurations_are_the_product_in_grid_order_and_layers_repeat_units():
    base = options.TuneOptions(epochs=3)
    configs = configurations(search_space(ISSUE_GRID), base)
    assert len(configs) == 3 * 2 * 2 * 2 * 2 * 2 * 2 * 2 == 384
    assert [c.id for c in configs] == list(range(1, 385))
    first, last = configs[0], configs[-1]
    assert first.values == {"units": (32,), "window": 30, "optimizer": "adam", "learning-rate": 0.001,
                            "dropout": 0.0, "model": "lstm", "layers": 1, "target": "price"}
    assert (first.options.units, first.options.epochs, first.options.model) == ((32,), 3, "lstm")
    assert (last.options.units, last.options.window, last.options.model, last.options.target,
            last.options.learning_rate) == ((100, 100), 60, "gru", "log-return", 0.003)
    assert first.describe().startswith("units 32, window 30, optimizer adam, learning-rate 0.001")
    with pytest.raises(UserError, match="layers 1 does not fit units 50\\+100"):
        configurations(search_space(["layers=1,2"]), base)   # the default units are two layers
    assert [c.options.units for c in configurations(search_space(["layers=1,2"]), base.__class__(units=(8,)))] \
        == [(8,), (8, 8)]


def test_samples_and_budget_draw_distinct_configurations_in_grid_order():
    configs = configurations(search_space(["units=1,2,3,4,5,6,7,8,9,10"]), options.TuneOptions())
    drawn = choose(configs, samples=4, seed=7)
    assert [c.id for c in drawn] == sorted(c.id for c in drawn) and len({c.id for c in drawn}) == 4
    assert [c.id for c in choose(configs, samples=4, seed=7)] == [c.id for c in drawn]   # seeded
    assert [c.id for c in choose(configs, samples=4, seed=8)] != [c.id for c in drawn]
    assert choose(configs, samples=50) == configs
    cost = lambda k: 3 * k + min(2, k) * 4          # noqa: E731  3 selection trainings each, 2 refitted
    picked = choose(configs, budget=30, cost=cost)
    assert len(picked) == 7 and cost(len(picked)) <= 30 < cost(len(picked) + 1)
    assert choose(configs, budget=100, cost=cost) == configs
    with pytest.raises(UserError, match="--budget 6 trainings does not pay for one configuration"):
        choose(configs, budget=6, cost=cost)


def test_values_are_written_as_the_grid_reads_them():
    assert [text(v) for v in ((50, 100), None, 0.001, "adam", ["close", "volume"])] == [
        "50+100", "none", "0.001", "adam", "close+volume"]
    assert check_count([("a", [1] * 10), ("b", [1] * 10)]) == 100
    with pytest.raises(UserError, match="more than 50"):
        check_count([("a", [1] * 10), ("b", [1] * 10)], limit=50)
