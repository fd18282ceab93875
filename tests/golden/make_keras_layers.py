"""Golden values for the wrapper and reshaping layers (Bidirectional, TimeDistributed,
RepeatVector, Flatten, Activation) from real Keras 3: ``tests/golden/keras_layers/*.npz``.

Each case is a small Sequential model written once, as a list of lstm_np-style layer specs
(``{"class": ..., "config": ...}``, wrapped layers nested the same way), stored in the file as
JSON (``spec``) so the test builds the very same model. Keras gets seeded random weights
(``N(0, 0.5²)``), runs ``x ~ N(0, 1)`` and differentiates the weighted loss
``sum(y * dy)`` with ``dy ~ N(0, 1)``. Keys: ``spec``, ``x``, ``dy``, ``y``, ``dx``,
``w_00, w_01, …`` (Keras ``get_weights()`` order), ``dw_00, …``, ``dtype``, versions.

Run from the repository root with Keras 3 installed (deterministic; rewrites the files)::

    python tests/golden/make_keras_layers.py
"""
import json
import sys
from pathlib import Path

from keras_env import keras, np, tf  # Keras 3 on TensorFlow, set up alike for every generator

OUT = Path(__file__).resolve().parent / "keras_layers"
SEED = 18_003


def spec(cls, **config):
    return {"class": cls, "config": config}


#: name -> (input shape, layers)
CASES = {
    "bidirectional_lstm_concat_seq": ((5, 3), [
        spec("Bidirectional", layer=spec("LSTM", units=4, return_sequences=True)),
        spec("Flatten"), spec("Dense", units=2)]),
    "bidirectional_gru_sum": ((4, 2), [
        spec("Bidirectional", layer=spec("GRU", units=3), merge_mode="sum")]),
    "bidirectional_simple_rnn_mul_seq": ((4, 3), [
        spec("Bidirectional", layer=spec("SimpleRNN", units=3, return_sequences=True),
             merge_mode="mul")]),
    "bidirectional_lstm_ave": ((6, 2), [
        spec("Bidirectional", layer=spec("LSTM", units=3), merge_mode="ave"),
        spec("Dense", units=1)]),
    "bidirectional_backward_layer": ((5, 2), [
        spec("Bidirectional", layer=spec("LSTM", units=3, return_sequences=True),
             backward_layer=spec("LSTM", units=3, return_sequences=True, activation="relu",
                                 go_backwards=True))]),
    "encoder_decoder": ((6, 2), [
        spec("LSTM", units=4), spec("RepeatVector", n=3),
        spec("GRU", units=5, return_sequences=True),
        spec("TimeDistributed", layer=spec("Dense", units=2, activation="tanh")),
        spec("Activation", activation="sigmoid"), spec("Flatten"), spec("Dense", units=1)]),
    "time_distributed_relu": ((3, 4), [
        spec("TimeDistributed", layer=spec("Dense", units=3)), spec("Activation",
                                                                    activation="relu")]),
}


def keras_layer(s):
    config = dict(s["config"])
    for key in ("layer", "backward_layer"):
        if key in config:
            config[key] = keras_layer(config[key])
    return getattr(keras.layers, s["class"])(**config)


def run(name, shape, layers, dtype, rng):
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)
    model = keras.Sequential([keras.Input(shape)] + [keras_layer(s) for s in layers])
    weights = [rng.normal(0, 0.5, w.shape) for w in model.get_weights()]
    x = rng.normal(size=(3,) + shape)
    y0 = model(x.astype(dtype))
    dy = rng.normal(size=y0.shape)
    model.set_weights([w.astype(dtype) for w in weights])
    xt = tf.constant(x.astype(dtype))
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = model(xt, training=False)
        loss = tf.reduce_sum(y * tf.constant(dy.astype(dtype)))
    grads = tape.gradient(loss, [xt] + model.trainable_weights)
    order = [id(v) for v in model.weights]
    assert order == [id(v) for v in model.trainable_weights]
    out = {"spec": np.array(json.dumps(layers)), "x": x.astype(dtype), "dy": dy.astype(dtype),
           "y": y.numpy(), "dx": grads[0].numpy(), "dtype": np.array(dtype),
           "keras_version": np.array(keras.__version__),
           "tensorflow_version": np.array(tf.__version__)}
    for k, (w, g) in enumerate(zip(weights, grads[1:])):
        out[f"w_{k:02d}"] = w.astype(dtype)
        out[f"dw_{k:02d}"] = g.numpy()
    np.savez_compressed(OUT / f"{name}_{dtype}.npz", **out)


def main():
    OUT.mkdir(exist_ok=True)
    tf.config.experimental.enable_op_determinism()
    for k, (name, (shape, layers)) in enumerate(sorted(CASES.items())):
        for dtype in ("float64", "float32"):
            run(name, shape, layers, dtype, np.random.default_rng(SEED + k))
    keras.config.set_floatx("float32")
    keras.config.set_dtype_policy("float32")
    print(f"wrote {2 * len(CASES)} files to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
