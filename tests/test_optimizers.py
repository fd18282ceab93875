"""The optimizers' Keras surface: names and defaults, arguments, config round trips, Keras-2
spellings, schedules and the order of one step (clip, decay, update)."""
import math
import warnings

import numpy as np
import pytest

from lstm_np import Dense, Sequential
from lstm_np import optimizers
from lstm_np.optimizers import (SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Nadam, RMSprop,
                                schedules)

# Keras 3's defaults, from keras/src/optimizers/*.py
KERAS_DEFAULTS = {
    "sgd": (SGD, {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False, "name": "SGD"}),
    "rmsprop": (RMSprop, {"learning_rate": 1e-3, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
                          "centered": False}),
    "adagrad": (Adagrad, {"learning_rate": 1e-3, "initial_accumulator_value": 0.1,
                          "epsilon": 1e-7}),
    "adadelta": (Adadelta, {"learning_rate": 1e-3, "rho": 0.95, "epsilon": 1e-7}),
    "adam": (Adam, {"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                    "amsgrad": False}),
    "adamw": (AdamW, {"learning_rate": 1e-3, "weight_decay": 0.004, "beta_1": 0.9,
                      "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False}),
    "adamax": (Adamax, {"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999,
                        "epsilon": 1e-7}),
    "nadam": (Nadam, {"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
}


@pytest.mark.parametrize("name", list(KERAS_DEFAULTS))
def test_a_name_gives_the_keras_class_with_its_defaults(name):
    cls, defaults = KERAS_DEFAULTS[name]
    for spelling in (name, name.upper()):
        opt = optimizers.get(spelling)
        assert type(opt) is cls
        config = opt.get_config()
        assert {k: config[k] for k in {"name", *defaults}} == {"name": name, **defaults}


def test_an_unknown_name_is_one_sentence_listing_the_supported_ones():
    with pytest.raises(ValueError) as info:
        optimizers.get("ftrl")
    message = str(info.value)
    assert "\n" not in message and "'ftrl'" in message
    assert all(repr(name) in message for name in KERAS_DEFAULTS)


@pytest.mark.parametrize("name", list(KERAS_DEFAULTS))
def test_config_round_trip(name):
    cls, _ = KERAS_DEFAULTS[name]
    opt = cls(learning_rate=schedules.CosineDecay(0.01, 7, alpha=0.2), clipnorm=2.0)
    config = opt.get_config()
    assert config["learning_rate"]["class_name"] == "CosineDecay"
    again = cls.from_config(config)
    assert again.get_config() == config
    assert optimizers.deserialize(optimizers.serialize(opt)).get_config() == config
    assert optimizers.get({"class_name": cls.__name__, "config": config}).get_config() == config


def test_keras_2_lr_spelling_warns_once_and_names_learning_rate():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opt = RMSprop(lr=0.05)
    assert opt.learning_rate == 0.05
    assert len(caught) == 1 and caught[0].category is DeprecationWarning
    assert "learning_rate=" in str(caught[0].message)


@pytest.mark.parametrize("make, message", [
    (lambda: Adam(clipnorm=1.0, clipvalue=1.0), "only one of"),
    (lambda: SGD(global_clipnorm=0.0), "global_clipnorm must be positive"),
    (lambda: RMSprop(rho=1.0), r"rho must be in \[0, 1\)"),
    (lambda: Adagrad(initial_accumulator_value=-1), "must be >= 0"),
    (lambda: AdamW(weight_decay=None), "weight_decay must be a number"),
    (lambda: Nadam(weight_decay=float("nan")), "weight_decay must be a finite number"),
    (lambda: Adam(use_ema=True), "use_ema= is not supported"),
    (lambda: SGD(momentun=0.9), "unknown argument"),
    (lambda: Adadelta(learning_rate="fast"), "learning_rate must be a number"),
])
def test_bad_arguments_are_one_sentence(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_schedules_follow_their_formulas():
    exp = schedules.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5)
    assert exp(0) == pytest.approx(0.1, rel=1e-7) and exp(8) == pytest.approx(0.025, rel=1e-7)
    stair = schedules.ExponentialDecay(0.1, 4, 0.5, staircase=True)
    assert stair(3) == stair(0) and stair(4) == pytest.approx(0.05, rel=1e-7)
    inverse = schedules.InverseTimeDecay(0.1, 2, 0.5)
    assert inverse(4) == pytest.approx(0.1 / 2.0, rel=1e-7)
    piecewise = schedules.PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1])
    assert [piecewise(s) for s in range(7)] == pytest.approx([1, 1, 1, .5, .5, .5, .1], rel=1e-7)
    cosine = schedules.CosineDecay(0.1, 10, alpha=0.2)
    assert cosine(5) == pytest.approx(0.1 * (0.8 * 0.5 + 0.2), rel=1e-6)
    assert cosine(50) == pytest.approx(0.02, rel=1e-6)
    warm = schedules.CosineDecay(0.0, 10, warmup_target=0.1, warmup_steps=4)
    assert warm(2) == pytest.approx(0.05, rel=1e-6) and warm(4) == pytest.approx(0.1, rel=1e-6)
    assert warm(9) == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi / 2)), rel=1e-6)


def test_a_schedule_is_read_at_the_iteration_count_before_the_step():
    opt = SGD(learning_rate=schedules.PiecewiseConstantDecay([0], [1.0, 0.5]))
    params = {"w": np.zeros(1)}
    opt.apply_gradients(params, {"w": np.ones(1)})        # iterations 0: rate 1
    opt.apply_gradients(params, {"w": np.ones(1)})        # iterations 1: rate 0.5
    assert params["w"][0] == -1.5 and opt.iterations == 2 and opt.learning_rate == 0.5
    with pytest.raises(TypeError, match="schedule"):
        opt.learning_rate = 0.1


def test_a_callable_learning_rate_is_called_without_arguments_as_in_keras():
    rates = iter([0.5, 0.25])
    opt = SGD(learning_rate=lambda: next(rates))
    params = {"w": np.zeros(1)}
    opt.apply_gradients(params, {"w": np.ones(1)})
    opt.apply_gradients(params, {"w": np.ones(1)})
    assert params["w"][0] == -0.75


def test_a_float_learning_rate_can_be_set_as_callbacks_do():
    opt = Adam()
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5 and opt.get_config()["learning_rate"] == 0.5


def test_one_step_clips_then_decays_then_updates():
    w, g = np.array([1.0, -2.0]), np.array([3.0, 4.0])        # |g| = 5
    params = {"w": w.copy()}
    SGD(learning_rate=0.1, clipnorm=1.0, weight_decay=0.5).apply_gradients(params, {"w": g})
    decayed = w - w * float(np.float32(0.5)) * 0.1
    np.testing.assert_allclose(params["w"], decayed - 0.1 * g / 5.0, rtol=1e-15)
    params = {"a": np.zeros(2), "b": np.zeros(1)}
    SGD(learning_rate=1.0, global_clipnorm=1.0).apply_gradients(
        params, {"a": np.array([3.0, 0.0]), "b": np.array([4.0])})
    np.testing.assert_allclose(np.concatenate([params["a"], params["b"]]), [-0.6, 0, -0.8])
    params = {"w": np.zeros(3)}
    SGD(learning_rate=1.0, clipvalue=0.5).apply_gradients(params, {"w": np.array([-2, .1, 9])})
    np.testing.assert_allclose(params["w"], [0.5, -0.1, -0.5])


def test_gradients_passed_in_are_not_modified():
    g = np.array([3.0, 4.0])
    Adam(clipnorm=1.0).apply_gradients({"w": np.zeros(2)}, {"w": g})
    np.testing.assert_array_equal(g, [3.0, 4.0])


@pytest.mark.parametrize("name", list(KERAS_DEFAULTS))
def test_every_optimizer_trains_a_model_by_name(name):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]])
    model = Sequential([Dense(1)], seed=0)
    lr = 1.0 if name == "adadelta" else 0.05          # Adadelta's paper rate is 1
    model.compile(optimizer=KERAS_DEFAULTS[name][0](learning_rate=lr), loss="mse")
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.9 * history.history["loss"][0]   # Adadelta: slowest
    assert model.copy().optimizer.get_config() == model.optimizer.get_config()


def test_adam_default_path_is_unchanged_by_the_rewrite():
    """With no clipping, decay or amsgrad Adam runs its compiled kernel; amsgrad's NumPy path
    equals it while v never decreases."""
    rng = np.random.default_rng(1)
    w = rng.normal(size=(4, 3))
    base = rng.normal(size=(4, 3))
    grads = [base * (t + 1) for t in range(6)]      # |g| grows everywhere: so does v
    a, b = {"w": w.copy()}, {"w": w.copy()}
    fast, ams = Adam(), Adam(amsgrad=True)
    for g in grads:
        fast.apply_gradients(a, {"w": g})
        ams.apply_gradients(b, {"w": g})
    np.testing.assert_array_equal(a["w"], b["w"])


def test_keras_2_decay_is_ignored_with_a_warning_as_keras_3_does():
    with pytest.warns(UserWarning, match="decay= is no longer supported"):
        opt = Adam(decay=1e-6)
    assert opt.get_config()["learning_rate"] == 1e-3


def test_schedules_are_importable_as_in_keras():
    import lstm_np.optimizers.schedules as module

    assert module is schedules
    assert {"ExponentialDecay", "PiecewiseConstantDecay", "CosineDecay",
            "InverseTimeDecay", "LearningRateSchedule"} <= set(dir(module))
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'Cyclic'"):
        schedules.deserialize({"class_name": "Cyclic", "config": {}})
