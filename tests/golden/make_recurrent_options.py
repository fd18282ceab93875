"""Build ``tests/golden/recurrent_options_float64.npz`` from real Keras 3: the recurrent options
of issue 18 (GRU ``reset_after=False``, ``dropout``/``recurrent_dropout`` with given masks,
``go_backwards``, ``stateful``).

Keras draws its dropout masks at random; here the cell's cached masks are set before the call
(Keras reuses a cached mask: ``DropoutRNNCell.get_dropout_mask``), the same mask for every gate
block, so lstm_np's one mask per sequence can be compared exactly. Loss for the gradients:
``sum(y * dy) + sum(h_T * dh)``. Keys: ``<case>/<name>``.

Run from the repository root with Keras installed::

    python tests/golden/make_recurrent_options.py
"""

from pathlib import Path

from keras_env import keras, np, tf  # Keras 3 on TensorFlow, set up alike for every generator

HERE = Path(__file__).resolve().parent
N, T, D, H = 2, 4, 3, 5
GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}
CLASSES = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU,
           "simple_rnn": keras.layers.SimpleRNN}
#: case -> (layer kind, Keras options)
CASES = {
    "gru_reset_before": ("gru", dict(reset_after=False)),
    "lstm_dropout": ("lstm", dict(dropout=0.3, recurrent_dropout=0.4)),
    "gru_dropout": ("gru", dict(dropout=0.3, recurrent_dropout=0.4)),
    "gru_reset_before_dropout": ("gru", dict(reset_after=False, dropout=0.3,
                                              recurrent_dropout=0.4)),
    "simple_rnn_dropout": ("simple_rnn", dict(dropout=0.3, recurrent_dropout=0.4)),
    "lstm_go_backwards": ("lstm", dict(go_backwards=True)),
    "gru_go_backwards": ("gru", dict(go_backwards=True)),
}


def mask(rng, shape, rate):
    return (rng.random(shape) >= rate) / (1 - rate)


def run_case(kind, options, rng):
    layer = CLASSES[kind](H, return_sequences=True, return_state=True, dtype="float64",
                          **options)
    layer.build((N, T, D))
    weights = [rng.normal(0, 0.5, w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    case = {"x": rng.normal(size=(N, T, D)), "kernel": weights[0],
            "recurrent_kernel": weights[1], "bias": weights[2]}
    states = [rng.normal(0, 0.5, (N, H)) for _ in range(2 if kind == "lstm" else 1)]
    case.update({f"s{k}": s for k, s in enumerate(states)})
    training = "dropout" in options
    if training:
        case["dropout_mask"] = mask(rng, (N, D), options["dropout"])
        case["recurrent_dropout_mask"] = mask(rng, (N, H), options["recurrent_dropout"])
        count = getattr(layer.cell, "dropout_mask_count", None)
        for name in ("dropout_mask", "recurrent_dropout_mask"):
            value = tf.constant(case[name])
            setattr(layer.cell, "_" + name, value if count is None else [value] * count)
        layer._maybe_reset_dropout_masks = lambda cell: None      # keep them for the call
    case["dy"], case["dh"] = rng.normal(size=(N, T, H)), rng.normal(size=(N, H))
    x, s = tf.constant(case["x"]), [tf.constant(v) for v in states]
    with tf.GradientTape() as tape:
        tape.watch([x, *s])
        y, h_T, *_ = layer(x, initial_state=s, training=training)
        loss = tf.reduce_sum(y * case["dy"]) + tf.reduce_sum(h_T * case["dh"])
    grads = tape.gradient(loss, [x, *s, *layer.trainable_weights])
    case.update(y=y.numpy(), h_T=h_T.numpy())
    names = ["dx", *(f"ds{k}" for k in range(len(s))), "dkernel", "drecurrent_kernel", "dbias"]
    case.update({name: g.numpy() for name, g in zip(names, grads)})
    return case


def stateful_case(rng):
    """LSTM(stateful=True) fed two batches, reset, fed the second again."""
    layer = keras.layers.LSTM(H, stateful=True, return_sequences=True, dtype="float64")
    layer.build((N, T, D))
    weights = [rng.normal(0, 0.5, w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    x1, x2 = rng.normal(size=(N, T, D)), rng.normal(size=(N, T, D))
    y1, y2 = layer(x1).numpy(), layer(x2).numpy()
    layer.reset_states()
    y3 = layer(x2).numpy()
    return {"kernel": weights[0], "recurrent_kernel": weights[1], "bias": weights[2],
            "x1": x1, "x2": x2, "y1": y1, "y2": y2, "y2_after_reset": y3}


def main():
    rng = np.random.default_rng(20_261_205)
    arrays = {"keras_version": np.array(keras.__version__)}
    for name, (kind, options) in CASES.items():
        for key, value in run_case(kind, options, rng).items():
            arrays[f"{name}/{key}"] = value
    for key, value in stateful_case(rng).items():
        arrays[f"lstm_stateful/{key}"] = value
    np.savez_compressed(HERE / "recurrent_options_float64.npz", **arrays)


if __name__ == "__main__":
    main()
