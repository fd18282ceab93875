"""Record Keras 3's optimizer trajectories for tests/test_optimizers_golden.py.

Run with the peer venv (TensorFlow 2.21 CPU, Keras 3) from the repository root:

    PYTHONPATH=. python tests/golden/make_golden_optimizers.py     # after pip install -e ".[bench]"

For each dtype it writes ``optimizers_<dtype>.npz``: the cases (a JSON list of
``[case id, Keras class name, arguments]``, a schedule argument as ``{"class_name", "config"}``),
the start weights ``w0/<param>`` and, stacked over the STEPS steps (row ``t - 1`` is step ``t``),
the gradients ``<case>/g/<param>`` fed to Keras and the weights ``<case>/w/<param>`` it returned. Two
parameters of different shapes share each optimizer, so that ``global_clipnorm`` sees both.
The learning rate and the schedules are built under ``keras.config.set_floatx(dtype)``, so
that Keras rounds them to the weights' dtype only (as lstm_np does).

When lstm_np is importable it also replays every case and prints the largest differences.
"""
import json
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

GOLDEN = Path(__file__).resolve().parent
STEPS = 20
DTYPES = ("float64", "float32")
SHAPES = {"kernel": (3, 4), "bias": (5,)}


def schedule(name, **config):
    return {"class_name": name, "config": config}


EXPONENTIAL = schedule("ExponentialDecay", initial_learning_rate=0.01, decay_steps=4,
                       decay_rate=0.7)
CASES = [
    ("sgd", "SGD", {}),
    ("sgd_momentum", "SGD", {"learning_rate": 0.05, "momentum": 0.9}),
    ("sgd_nesterov", "SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("sgd_clipnorm", "SGD", {"learning_rate": 0.1, "momentum": 0.5, "clipnorm": 1.0}),
    ("sgd_exponential_staircase", "SGD", {"learning_rate": schedule(
        "ExponentialDecay", initial_learning_rate=0.1, decay_steps=3, decay_rate=0.5,
        staircase=True), "momentum": 0.3}),
    ("rmsprop", "RMSprop", {}),
    ("rmsprop_centered_momentum", "RMSprop", {"learning_rate": 0.01, "momentum": 0.9,
                                              "centered": True}),
    ("rmsprop_clipvalue", "RMSprop", {"rho": 0.8, "centered": True, "clipvalue": 0.5}),
    ("adagrad", "Adagrad", {}),
    ("adagrad_global_clipnorm", "Adagrad", {"learning_rate": 0.1,
                                            "initial_accumulator_value": 0.5,
                                            "global_clipnorm": 2.0}),
    ("adadelta", "Adadelta", {}),
    ("adadelta_paper", "Adadelta", {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6}),
    ("adamax", "Adamax", {}),
    ("adamax_weight_decay", "Adamax", {"learning_rate": 0.01, "weight_decay": 0.1}),
    ("nadam", "Nadam", {}),
    ("nadam_clipnorm", "Nadam", {"learning_rate": 0.01, "beta_1": 0.8, "clipnorm": 0.5}),
    ("adamw", "AdamW", {}),
    ("adamw_amsgrad", "AdamW", {"learning_rate": 0.01, "weight_decay": 0.05, "amsgrad": True}),
    ("adam_amsgrad", "Adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("adam_clipnorm", "Adam", {"clipnorm": 0.7}),
    ("adam_global_clipnorm", "Adam", {"learning_rate": 0.01, "global_clipnorm": 1.0}),
    ("adam_clipvalue", "Adam", {"clipvalue": 0.3}),
    ("adam_weight_decay", "Adam", {"learning_rate": 0.01, "weight_decay": 0.01}),
    ("adam_exponential", "Adam", {"learning_rate": EXPONENTIAL}),
    ("adam_piecewise", "Adam", {"learning_rate": schedule(
        "PiecewiseConstantDecay", boundaries=[5, 10], values=[0.01, 0.005, 0.001])}),
    ("adam_cosine", "Adam", {"learning_rate": schedule(
        "CosineDecay", initial_learning_rate=0.01, decay_steps=15, alpha=0.1)}),
    ("adam_cosine_warmup", "Adam", {"learning_rate": schedule(
        "CosineDecay", initial_learning_rate=0.0, decay_steps=10, warmup_target=0.01,
        warmup_steps=5)}),
    ("rmsprop_inverse_time", "RMSprop", {"learning_rate": schedule(
        "InverseTimeDecay", initial_learning_rate=0.01, decay_steps=3, decay_rate=0.5,
        staircase=True)}),
    ("adagrad_inverse_time", "Adagrad", {"learning_rate": schedule(
        "InverseTimeDecay", initial_learning_rate=0.1, decay_steps=2, decay_rate=0.3),
        "clipvalue": 1.0}),
    ("adamw_exponential", "AdamW", {"learning_rate": EXPONENTIAL, "weight_decay": 0.1}),
]


def build(arguments, namespace):
    """The arguments with a schedule spec turned into a schedule of ``namespace``."""
    out = dict(arguments)
    lr = out.get("learning_rate")
    if isinstance(lr, dict):
        out["learning_rate"] = getattr(namespace, lr["class_name"])(**lr["config"])
    return out


def keras_run(class_name, arguments, w0, grads, dtype):
    floatx = keras.config.floatx()
    keras.config.set_floatx(dtype)
    try:
        opt = getattr(keras.optimizers, class_name)(**build(arguments, keras.optimizers.schedules))
        variables = {p: keras.Variable(w0[p], dtype=dtype) for p in SHAPES}
        out = []
        for g in grads:
            opt.apply_gradients([(tf.constant(g[p]), variables[p]) for p in SHAPES])
            out.append({p: np.array(variables[p].numpy()) for p in SHAPES})
        return out
    finally:
        keras.config.set_floatx(floatx)


def gradients(rng, dtype):
    """STEPS gradients per parameter, their scales from 1e-3 to 30 (so that clipping acts on
    some steps and not on others), one step all zero and one with a zero parameter."""
    out = []
    for t in range(STEPS):
        scale = 10.0 ** rng.uniform(-3, 1.5)
        g = {p: (rng.normal(0.0, 1.0, s) * scale).astype(dtype) for p, s in SHAPES.items()}
        if t == 6:
            g = {p: np.zeros_like(v) for p, v in g.items()}
        if t == 9:
            g["bias"][:] = 0
        out.append(g)
    return out


def ours(class_name, arguments, w0, grads):
    from lstm_np import optimizers

    opt = getattr(optimizers, class_name)(**build(arguments, optimizers.schedules))
    params = {p: w.copy() for p, w in w0.items()}
    out = []
    for g in grads:
        opt.apply_gradients(params, g)
        out.append({p: w.copy() for p, w in params.items()})
    return out


def main():
    try:
        import lstm_np.optimizers  # noqa: F401
        compare = True
    except ImportError:
        compare = False
    for dtype in DTYPES:
        rng = np.random.default_rng(18)
        w0 = {p: rng.normal(0.0, 1.0, s).astype(dtype) for p, s in SHAPES.items()}
        arrays = {f"w0/{p}": w for p, w in w0.items()}
        for case, class_name, arguments in CASES:
            grads = gradients(rng, dtype)
            theirs = keras_run(class_name, arguments, w0, grads, dtype)
            for p in SHAPES:       # (STEPS, *shape): row t - 1 is step t
                arrays[f"{case}/g/{p}"] = np.stack([g[p] for g in grads])
                arrays[f"{case}/w/{p}"] = np.stack([w[p] for w in theirs])
            if compare:
                mine = ours(class_name, arguments, w0, grads)
                rel = max(np.max(np.abs(a[p] - b[p]) / np.maximum(np.abs(b[p]), 1e-300))
                          for a, b in zip(mine, theirs) for p in SHAPES)
                ulp = max(np.max(np.abs(a[p] - b[p]) / np.spacing(np.abs(b[p]).astype(dtype)))
                          for a, b in zip(mine, theirs) for p in SHAPES)
                print(f"{dtype} {case:28s} max relative difference {rel:.3g}, "
                      f"{ulp:.0f} ulp")
        arrays["cases"] = np.array(json.dumps(CASES))
        arrays["steps"] = np.array(STEPS)
        arrays["keras_version"] = np.array(keras.__version__)
        arrays["tensorflow_version"] = np.array(tf.__version__)
        np.savez_compressed(GOLDEN / f"optimizers_{dtype}.npz", **arrays)
        print("wrote", GOLDEN / f"optimizers_{dtype}.npz")


if __name__ == "__main__":
    main()
