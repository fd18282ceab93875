"""Real Keras 3 files for the tests of lstm_np.kerasfile: ``tests/golden/keras_files/``.

For each case a small ``keras.Sequential`` is built with seeded weights (``N(0, 0.5²)``) and
written with ``model.save("<case>.keras")`` and ``model.save_weights("<case>.weights.h5")``;
``<case>.npz`` records ``x ~ N(0, 1)`` and Keras's ``predict(x)`` (``y``), and the Keras and
TensorFlow versions. ``compiled_lstm_gru`` is compiled and fitted one step first, so its files
also hold an optimizer's variables. ``conv1d.keras`` holds a layer lstm_np does not have, and
``functional.keras`` a functional model: both must be refused.

Run from the repository root with Keras 3 installed (rewrites the files)::

    python tests/golden/make_keras_files.py
"""
import sys
from pathlib import Path

from keras_env import keras, np, tf  # Keras 3 on TensorFlow, set up alike for every generator

OUT = Path(__file__).resolve().parent / "keras_files"
SEED = 18_008
L = keras.layers

#: name -> (input shape, dtype, layers factory)
CASES = {
    "compiled_lstm_gru": ((6, 2), "float32", lambda: [
        L.LSTM(4, return_sequences=True), L.Dropout(0.2), L.GRU(3), L.Dense(1)]),
    "simple_rnn_dense": ((5, 3), "float32", lambda: [
        L.SimpleRNN(3, activation="relu"), L.Dense(2, activation="tanh", use_bias=False)]),
    "gru_reset_before": ((4, 2), "float32", lambda: [
        L.GRU(3, reset_after=False, return_sequences=True), L.GRU(2), L.Dense(1)]),
    "bidirectional_encoder_decoder": ((6, 2), "float32", lambda: [
        L.Bidirectional(L.LSTM(4)), L.RepeatVector(3),
        L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode="sum"),
        L.TimeDistributed(L.Dense(2)), L.Flatten(), L.Activation("tanh"), L.Dense(1)]),
    "lstm_float64": ((5, 1), "float64", lambda: [L.LSTM(3), L.Dense(1)]),
}


def build(shape, dtype, layers):
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)
    return keras.Sequential([keras.Input(shape)] + layers())


def main():
    OUT.mkdir(exist_ok=True)
    keras.utils.set_random_seed(SEED)
    for k, (name, (shape, dtype, layers)) in enumerate(sorted(CASES.items())):
        rng = np.random.default_rng(SEED + k)
        model = build(shape, dtype, layers)
        model.set_weights([rng.normal(0, 0.5, w.shape).astype(dtype)
                           for w in model.get_weights()])
        x = rng.normal(size=(4,) + shape).astype(dtype)
        if name.startswith("compiled"):
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, np.zeros((4, 1), dtype), epochs=1, verbose=0)
        model.save(OUT / f"{name}.keras", overwrite=True)
        model.save_weights(OUT / f"{name}.weights.h5", overwrite=True)
        np.savez_compressed(OUT / f"{name}.npz", x=x, y=model.predict(x, verbose=0),
                            dtype=np.array(dtype), keras_version=np.array(keras.__version__),
                            tensorflow_version=np.array(tf.__version__))
    model = build((5, 2), "float32", lambda: [L.Conv1D(2, 3), L.Flatten(), L.Dense(1)])
    model.save(OUT / "conv1d.keras", overwrite=True)
    inputs = keras.Input((5, 2))
    model = keras.Model(inputs, L.Dense(1)(L.LSTM(3)(inputs)))
    model.save(OUT / "functional.keras", overwrite=True)
    keras.config.set_floatx("float32")
    keras.config.set_dtype_policy("float32")
    print(f"wrote {len(list(OUT.iterdir()))} files to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
