"""Build the golden ``.npz`` files in ``tests/golden/`` from real Keras 3 and real PyTorch.

Every case gives both peers the *same* weights, inputs and initial states, runs them, asserts that the two
agree (1e-10 in float64, 1e-5 in float32), and saves inputs, weights, outputs and gradients in Keras's layout:
the Keras results under the plain key names, the PyTorch ones (already converted) under a ``torch_`` prefix.
The files hold plain numeric arrays and 0-d scalars/strings only, so they load with
``numpy.load(path, allow_pickle=False)`` in an environment without Keras or PyTorch.

Loss used for the gradients of the recurrent layers (a random *weighted* loss, so no gradient is trivially 1)::

    loss = sum(y * dy) + sum(h_T * dh) [+ sum(c_T * dc)]     # c only for the LSTM

and for the Dense layer ``loss = sum(y * dy)``; the seed model uses Keras's MSE (mean over the last axis, then
over the batch).  See ``README.md`` for the key lists.

Run from the repository root, in an environment with the ``bench`` extras::

    python tests/golden/make_golden.py            # every file
    python tests/golden/make_golden.py adam       # only some families: rnn, dense, seed_model, adam

It is deterministic (fixed seeds) and rewrites the files of the families it runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from keras_env import keras, np, tf  # Keras 3 on TensorFlow, set up alike for every generator
import torch

HERE = Path(__file__).resolve().parent
SEED = 20_240_607
# Peers must agree to this (rtol and atol) before anything is written.
TOLERANCE = {"float64": 1e-10, "float32": 1e-5}
DTYPES = ("float64", "float32")
# Seed-model weights are rounded to this grid: exact in float32 *and* float64, and they compress well.
SEED_WEIGHT_GRID = 2.0**-12

torch.manual_seed(0)
torch.set_num_threads(1)
tf.config.experimental.enable_op_determinism()

# Small, all-different sizes per case so that a transposed or swapped axis cannot go unnoticed.
RNN_SIZES = {  # (N, T, D, H)
    "lstm": (2, 4, 3, 5),
    "gru": (3, 5, 2, 4),
    "simple_rnn": (2, 5, 4, 3),
}
DENSE_SIZES = (3, 4, 2)  # (N, D, H)


# --------------------------------------------------------------------------------------------------- helpers
def metadata(layer: str, units, return_sequences, dtype: str) -> dict[str, np.ndarray]:
    """Scalar metadata stored in every file (strings as 0-d unicode arrays)."""
    return {
        "layer": np.array(layer),
        "units": np.array(units),
        "return_sequences": np.array(return_sequences),
        "dtype": np.array(dtype),
        "keras_version": np.array(keras.__version__),
        "tensorflow_version": np.array(tf.__version__),
        "torch_version": np.array(torch.__version__),
    }


def check_peers(keras_out: dict, torch_out: dict, dtype: str, case: str) -> None:
    """Assert Keras and PyTorch agree on every key they both produced."""
    tol = TOLERANCE[dtype]
    for key, value in keras_out.items():
        np.testing.assert_allclose(
            torch_out[key], value, rtol=tol, atol=tol, err_msg=f"{case}: keras vs torch disagree on {key!r}"
        )


def save(name: str, arrays: dict[str, np.ndarray]) -> None:
    """Write ``name`` (compressed) and prove it reads back without pickle."""
    path = HERE / name
    for key, value in arrays.items():
        assert isinstance(value, np.ndarray) and value.dtype != object, (name, key)
    np.savez_compressed(path, **arrays)
    with np.load(path, allow_pickle=False) as back:
        assert sorted(back.files) == sorted(arrays), name
    print(f"wrote {path.relative_to(HERE.parent.parent)}  ({path.stat().st_size:,} bytes, {len(arrays)} keys)")


def gru_swap_rz(a: np.ndarray, units: int) -> np.ndarray:
    """Swap the first two gate blocks on the last axis: Keras (z, r, h) <-> PyTorch (r, z, n). Self-inverse."""
    z, r, n = a[..., :units], a[..., units : 2 * units], a[..., 2 * units :]
    return np.concatenate([r, z, n], axis=-1)


def to_np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().copy()


# ------------------------------------------------------------------------------------------- recurrent layers
def draw_rnn_case(kind: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random float64 inputs/weights/states (scale ~0.5, non-zero biases and states) and loss weights."""
    n, t, d, h = RNN_SIZES[kind]
    gates = {"lstm": 4, "gru": 3, "simple_rnn": 1}[kind]
    bias_shape = (2, 3 * h) if kind == "gru" else (gates * h,)
    case = {
        "x": rng.normal(0.0, 1.0, (n, t, d)),
        "h0": rng.normal(0.0, 0.5, (n, h)),
        "kernel": rng.normal(0.0, 0.5, (d, gates * h)),
        "recurrent_kernel": rng.normal(0.0, 0.5, (h, gates * h)),
        "bias": rng.normal(0.0, 0.5, bias_shape),
    }
    if kind == "lstm":
        case["c0"] = rng.normal(0.0, 0.5, (n, h))
    case["dy_seq"] = rng.normal(0.0, 1.0, (n, t, h))
    case["dy_last"] = rng.normal(0.0, 1.0, (n, h))
    case["dh"] = rng.normal(0.0, 1.0, (n, h))
    if kind == "lstm":
        case["dc"] = rng.normal(0.0, 1.0, (n, h))
    return case


def keras_rnn(kind: str, a: dict, return_sequences: bool, dtype: str) -> dict[str, np.ndarray]:
    """Forward + gradients of the weighted loss through a real Keras layer."""
    units = a["recurrent_kernel"].shape[0]
    cls = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple_rnn": keras.layers.SimpleRNN}[kind]
    kwargs = {"reset_after": True} if kind == "gru" else {}
    layer = cls(units, return_sequences=return_sequences, return_state=True, dtype=dtype, **kwargs)
    layer.build(a["x"].shape)
    assert [w.shape for w in layer.get_weights()] == [a[k].shape for k in ("kernel", "recurrent_kernel", "bias")]
    layer.set_weights([a["kernel"], a["recurrent_kernel"], a["bias"]])

    state_keys = ["h0", "c0"] if kind == "lstm" else ["h0"]
    x = tf.constant(a["x"])
    states = [tf.constant(a[k]) for k in state_keys]
    with tf.GradientTape() as tape:
        tape.watch([x, *states])
        y, *final = layer(x, initial_state=states if kind == "lstm" else states[0])
        loss = tf.reduce_sum(y * a["dy"]) + tf.reduce_sum(final[0] * a["dh"])
        if kind == "lstm":
            loss += tf.reduce_sum(final[1] * a["dc"])
    weights = layer.trainable_weights  # kernel, recurrent_kernel, bias
    grads = tape.gradient(loss, [x, *states, *weights])

    out = {"y": y.numpy(), "h_T": final[0].numpy()}
    if kind == "lstm":
        out["c_T"] = final[1].numpy()
    names = ["dx", *("d" + k for k in state_keys), "dkernel", "drecurrent_kernel", "dbias"]
    out.update({name: g.numpy() for name, g in zip(names, grads)})
    return out


def torch_rnn(kind: str, a: dict, return_sequences: bool, dtype: str) -> dict[str, np.ndarray]:
    """The same forward + gradients through PyTorch, converted back to Keras's layout."""
    tdtype = {"float64": torch.float64, "float32": torch.float32}[dtype]
    d, units = a["kernel"].shape[0], a["recurrent_kernel"].shape[0]
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "simple_rnn": torch.nn.RNN}[kind]
    net = cls(d, units, batch_first=True).to(tdtype)

    if kind == "gru":
        w_ih, w_hh = gru_swap_rz(a["kernel"], units).T, gru_swap_rz(a["recurrent_kernel"], units).T
        b_ih, b_hh = gru_swap_rz(a["bias"][0], units), gru_swap_rz(a["bias"][1], units)
    else:  # LSTM and RNN: torch has two biases that are only ever summed; put Keras's in bias_ih.
        w_ih, w_hh = a["kernel"].T, a["recurrent_kernel"].T
        b_ih, b_hh = a["bias"], np.zeros_like(a["bias"])
    with torch.no_grad():
        for param, value in zip(
            (net.weight_ih_l0, net.weight_hh_l0, net.bias_ih_l0, net.bias_hh_l0), (w_ih, w_hh, b_ih, b_hh)
        ):
            assert param.shape == value.shape
            param.copy_(torch.from_numpy(np.ascontiguousarray(value)))

    def leaf(v):
        return torch.tensor(v, dtype=tdtype, requires_grad=True)

    x, h0 = leaf(a["x"]), leaf(a["h0"])
    if kind == "lstm":
        c0 = leaf(a["c0"])
        seq, (h_n, c_n) = net(x, (h0[None], c0[None]))
    else:
        seq, h_n = net(x, h0[None])
    y = seq if return_sequences else seq[:, -1]
    def as_t(v):
        return torch.tensor(v, dtype=tdtype)

    loss = (y * as_t(a["dy"])).sum() + (h_n[0] * as_t(a["dh"])).sum()
    if kind == "lstm":
        loss = loss + (c_n[0] * as_t(a["dc"])).sum()
    loss.backward()

    out = {"y": to_np(y), "h_T": to_np(h_n[0]), "dx": to_np(x.grad), "dh0": to_np(h0.grad)}
    if kind == "lstm":
        out["c_T"] = to_np(c_n[0])
        out["dc0"] = to_np(c0.grad)
    g_ih, g_hh = to_np(net.weight_ih_l0.grad).T, to_np(net.weight_hh_l0.grad).T
    gb_ih, gb_hh = to_np(net.bias_ih_l0.grad), to_np(net.bias_hh_l0.grad)
    if kind == "gru":
        out["dkernel"] = gru_swap_rz(g_ih, units)
        out["drecurrent_kernel"] = gru_swap_rz(g_hh, units)
        out["dbias"] = np.stack([gru_swap_rz(gb_ih, units), gru_swap_rz(gb_hh, units)])
    else:
        # d loss / d bias_ih == d loss / d bias_hh (up to round-off), and Keras's bias is their sum.
        np.testing.assert_allclose(gb_ih, gb_hh, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
        out["dkernel"], out["drecurrent_kernel"], out["dbias"] = g_ih, g_hh, gb_ih
    return out


def make_rnn_cases(rng: np.random.Generator) -> None:
    for kind in ("lstm", "gru", "simple_rnn"):
        drawn = draw_rnn_case(kind, rng)
        for return_sequences in (True, False):
            for dtype in DTYPES:
                a = {k: v.astype(dtype) for k, v in drawn.items() if not k.startswith("dy_")}
                a["dy"] = drawn["dy_seq" if return_sequences else "dy_last"].astype(dtype)
                keras.config.set_floatx(dtype)
                k_out = keras_rnn(kind, a, return_sequences, dtype)
                t_out = torch_rnn(kind, a, return_sequences, dtype)
                name = f"{kind}_seq{return_sequences}_{dtype}.npz"
                check_peers(k_out, t_out, dtype, name)
                for key, value in k_out.items():
                    assert value.dtype == np.dtype(dtype), (name, key, value.dtype)
                units = a["recurrent_kernel"].shape[0]
                save(
                    name,
                    {
                        **a,
                        **k_out,
                        **{f"torch_{k}": v for k, v in t_out.items()},
                        **metadata(kind, units, return_sequences, dtype),
                    },
                )
    keras.config.set_floatx("float32")


# --------------------------------------------------------------------------------------------------- dense
def make_dense_cases(rng: np.random.Generator) -> None:
    n, d, h = DENSE_SIZES
    drawn = {
        "x": rng.normal(0.0, 1.0, (n, d)),
        "kernel": rng.normal(0.0, 0.5, (d, h)),
        "bias": rng.normal(0.0, 0.5, (h,)),
        "dy": rng.normal(0.0, 1.0, (n, h)),
    }
    for dtype in DTYPES:
        a = {k: v.astype(dtype) for k, v in drawn.items()}
        keras.config.set_floatx(dtype)
        layer = keras.layers.Dense(h, activation=None, dtype=dtype)
        layer.build((n, d))
        layer.set_weights([a["kernel"], a["bias"]])
        x = tf.constant(a["x"])
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * a["dy"])
        dx, dkernel, dbias = tape.gradient(loss, [x, *layer.trainable_weights])
        k_out = {"y": y.numpy(), "dx": dx.numpy(), "dkernel": dkernel.numpy(), "dbias": dbias.numpy()}

        tdtype = getattr(torch, dtype)
        lin = torch.nn.Linear(d, h).to(tdtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(a["kernel"].T.copy()))
            lin.bias.copy_(torch.from_numpy(a["bias"]))
        tx = torch.tensor(a["x"], requires_grad=True)
        ty = lin(tx)
        (ty * torch.from_numpy(a["dy"])).sum().backward()
        t_out = {
            "y": to_np(ty),
            "dx": to_np(tx.grad),
            "dkernel": to_np(lin.weight.grad).T,
            "dbias": to_np(lin.bias.grad),
        }
        name = f"dense_{dtype}.npz"
        check_peers(k_out, t_out, dtype, name)
        save(
            name,
            {**a, **k_out, **{f"torch_{k}": v for k, v in t_out.items()}, **metadata("dense", h, False, dtype)},
        )
    keras.config.set_floatx("float32")


# ----------------------------------------------------------------------------------------------- seed model
SEED_N, SEED_T, SEED_D = 4, 60, 1
SEED_UNITS = (50, 100, 1)
SEED_N_PARAMS = 70_901


def keras_like_lstm_weights(rng, d, h):
    """glorot_uniform kernel, orthogonal recurrent kernel, unit forget bias -- Keras's LSTM defaults."""
    limit = np.sqrt(6.0 / (d + 4 * h))
    kernel = rng.uniform(-limit, limit, (d, 4 * h))
    q, r = np.linalg.qr(rng.normal(0.0, 1.0, (4 * h, h)))
    recurrent = (q * np.sign(np.diag(r))).T  # (H, 4H) with orthonormal rows
    bias = np.concatenate([np.zeros(h), np.ones(h), np.zeros(2 * h)])
    return [kernel, recurrent, bias]


def draw_seed_model(rng):
    weights = keras_like_lstm_weights(rng, SEED_D, SEED_UNITS[0]) + keras_like_lstm_weights(
        rng, SEED_UNITS[0], SEED_UNITS[1]
    )
    limit = np.sqrt(6.0 / (SEED_UNITS[1] + 1))
    weights += [rng.uniform(-limit, limit, (SEED_UNITS[1], 1)), np.zeros(1)]
    weights = [np.round(w / SEED_WEIGHT_GRID) * SEED_WEIGHT_GRID for w in weights]
    # Inputs like the scaled price windows the seed script feeds: a noisy sine in [0, 1].
    start = rng.integers(0, 200, SEED_N)
    steps = np.arange(SEED_T + 1)
    series = 0.5 + 0.4 * np.sin(0.1 * (start[:, None] + steps)) + rng.normal(0.0, 0.02, (SEED_N, SEED_T + 1))
    series = np.round(series / SEED_WEIGHT_GRID) * SEED_WEIGHT_GRID  # exact in float32 too
    x = series[:, :SEED_T, None]
    y_true = series[:, SEED_T:]
    return x, y_true, weights


def keras_seed_model(x, y_true, weights, dtype):
    model = keras.Sequential(
        [
            keras.Input((SEED_T, SEED_D), dtype=dtype),
            keras.layers.LSTM(SEED_UNITS[0], return_sequences=True, dtype=dtype),
            keras.layers.Dropout(0.2, dtype=dtype),
            keras.layers.LSTM(SEED_UNITS[1], dtype=dtype),
            keras.layers.Dropout(0.2, dtype=dtype),
            keras.layers.Dense(SEED_UNITS[2], dtype=dtype),
        ]
    )
    n_params = model.count_params()
    assert n_params == SEED_N_PARAMS, n_params
    assert [w.shape for w in model.get_weights()] == [w.shape for w in weights]
    model.set_weights(weights)
    # trainable_weights must be in get_weights() order for dw_XX to line up with w_XX.
    assert [v.path for v in model.trainable_weights] == [v.path for v in model.weights]
    mse = keras.losses.MeanSquaredError()
    with tf.GradientTape() as tape:
        y = model(tf.constant(x), training=False)
        loss = mse(tf.constant(y_true), y)
    grads = tape.gradient(loss, model.trainable_weights)
    np.testing.assert_allclose(model.predict(x, verbose=0), y.numpy(), rtol=TOLERANCE[dtype], atol=0)
    return y.numpy(), loss.numpy(), [g.numpy() for g in grads], n_params


def torch_seed_model(x, y_true, weights, dtype):
    tdtype = getattr(torch, dtype)
    lstm_0 = torch.nn.LSTM(SEED_D, SEED_UNITS[0], batch_first=True).to(tdtype)
    lstm_1 = torch.nn.LSTM(SEED_UNITS[0], SEED_UNITS[1], batch_first=True).to(tdtype)
    dense = torch.nn.Linear(SEED_UNITS[1], SEED_UNITS[2]).to(tdtype)
    with torch.no_grad():
        for net, (k, rk, b) in ((lstm_0, weights[0:3]), (lstm_1, weights[3:6])):
            net.weight_ih_l0.copy_(torch.from_numpy(k.T.copy()))
            net.weight_hh_l0.copy_(torch.from_numpy(rk.T.copy()))
            net.bias_ih_l0.copy_(torch.from_numpy(b))
            net.bias_hh_l0.zero_()
        dense.weight.copy_(torch.from_numpy(weights[6].T.copy()))
        dense.bias.copy_(torch.from_numpy(weights[7]))
    seq, _ = lstm_0(torch.from_numpy(x))  # dropout is the identity at inference
    last, _ = lstm_1(seq)
    y = dense(last[:, -1])
    loss = ((y - torch.from_numpy(y_true)) ** 2).mean(dim=-1).mean()
    loss.backward()
    grads = []
    for net in (lstm_0, lstm_1):
        grads += [to_np(net.weight_ih_l0.grad).T, to_np(net.weight_hh_l0.grad).T, to_np(net.bias_ih_l0.grad)]
    grads += [to_np(dense.weight.grad).T, to_np(dense.bias.grad)]
    return to_np(y), to_np(loss), grads


def make_seed_model_cases(rng: np.random.Generator) -> None:
    """One file, ``seed_model_float64.npz``: the full float64 run plus the float32 forward pass.

    Size budget: a full set of float64 gradients is 70,901 x 8 bytes = 567 kB, incompressible.  So the file keeps
    Keras's gradients in full and PyTorch's only as per-weight max |torch - keras| (asserted <= 1e-10 here);
    float32 gradients are not stored (a float32 implementation is checked against the float64 ones with a
    float32 tolerance).  Inputs and weights lie on a 2**-12 grid, so the float32 run saw exactly the same numbers.
    """
    x, y_true, weights = draw_seed_model(rng)
    keras.config.set_floatx("float64")
    y, loss, grads, n_params = keras_seed_model(x, y_true, weights, "float64")
    t_y, t_loss, t_grads = torch_seed_model(x, y_true, weights, "float64")
    k_out = {"y": y, "loss": np.asarray(loss), **{f"dw_{i:02d}": g for i, g in enumerate(grads)}}
    t_out = {"y": t_y, "loss": t_loss, **{f"dw_{i:02d}": g for i, g in enumerate(t_grads)}}
    check_peers(k_out, t_out, "float64", "seed_model float64")

    keras.config.set_floatx("float32")
    as32 = [a.astype(np.float32) for a in (x, y_true, *weights)]
    for a32, a64 in zip(as32, (x, y_true, *weights)):
        np.testing.assert_array_equal(a32, a64)  # the grid makes the cast exact
    y32, loss32, grads32, _ = keras_seed_model(as32[0], as32[1], as32[2:], "float32")
    t_y32, t_loss32, t_grads32 = torch_seed_model(as32[0], as32[1], as32[2:], "float32")
    check_peers(
        {"y": y32, "loss": np.asarray(loss32), **{f"dw_{i:02d}": g for i, g in enumerate(grads32)}},
        {"y": t_y32, "loss": t_loss32, **{f"dw_{i:02d}": g for i, g in enumerate(t_grads32)}},
        "float32",
        "seed_model float32",
    )
    for g32, g64 in zip(grads32, grads):  # float32 Keras vs float64 Keras: what a float32 test can expect
        np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-5 * np.abs(g64).max())

    arrays = {"x": x, "y_true": y_true, **{f"w_{i:02d}": w for i, w in enumerate(weights)}}
    arrays.update(k_out)
    arrays["torch_y"], arrays["torch_loss"] = t_y, t_loss
    arrays["torch_dw_max_abs_diff"] = np.array([np.abs(t - k).max() for t, k in zip(t_grads, grads)])
    arrays["float32_y"], arrays["float32_loss"] = y32, np.asarray(loss32)
    arrays["torch_float32_y"], arrays["torch_float32_loss"] = t_y32, t_loss32
    arrays.update(metadata("seed_model", list(SEED_UNITS), [True, False], "float64"))
    arrays["n_params"] = np.array(n_params)
    arrays["dropout_rate"] = np.array(0.2)
    save("seed_model_float64.npz", arrays)
    keras.config.set_floatx("float32")


# ------------------------------------------------------------------------------------------------------ adam
ADAM_STEPS = 20


def correctly_rounded_power(base: float, t: int, dtype: str):
    """``base ** t`` rounded once to ``dtype`` (exact rational arithmetic)."""
    from fractions import Fraction

    exact = Fraction(base) ** t
    guess = np.dtype(dtype).type(float(exact))
    candidates = [np.nextafter(guess, -np.inf), guess, np.nextafter(guess, np.inf)]
    return min(candidates, key=lambda c: abs(Fraction(float(c)) - exact))


def adam_reference(w0, grads, learning_rate, beta_1, beta_2, epsilon, dtype="float64", keras_betas=False):
    """Adam in plain NumPy, every operation rounded to ``dtype``.

    ``keras_betas=False``: the textbook formula of docs/keras_parity.md with exact betas.
    ``keras_betas=True``: real Keras 3 (TF backend), operation for operation: ``ops.cast(beta, dtype)`` of a Python
    float goes through a float32 tensor, so the bias corrections use ``float32(beta)**t`` (TensorFlow's ``pow``,
    correctly rounded for these steps); the moments are updated as ``m += (g - m) * (1 - beta)``; the step is
    ``(m * alpha) / (sqrt(v) + epsilon)``.
    """
    real = np.dtype(dtype).type
    w = w0.astype(dtype)
    m, v, out = np.zeros_like(w), np.zeros_like(w), []
    lr, eps, one = real(learning_rate), real(epsilon), real(1)
    for t, g in enumerate(grads, start=1):
        g = g.astype(dtype)
        if keras_betas:
            b1_t = correctly_rounded_power(float(np.float32(beta_1)), t, dtype)
            b2_t = correctly_rounded_power(float(np.float32(beta_2)), t, dtype)
            alpha = lr * np.sqrt(one - b2_t) / (one - b1_t)
            m = m + (g - m) * real(1 - beta_1)
            v = v + (g * g - v) * real(1 - beta_2)
            w = w - (m * alpha) / (np.sqrt(v) + eps)
        else:
            m = real(beta_1) * m + real(1 - beta_1) * g
            v = real(beta_2) * v + real(1 - beta_2) * g**2
            lr_t = lr * np.sqrt(one - real(beta_2) ** t) / (one - real(beta_1) ** t)
            w = w - lr_t * m / (np.sqrt(v) + eps)
        out.append(w)
    return out


def keras_adam(w0, grads, floatx, dtype="float64", **hyper):
    keras.config.set_floatx(floatx)  # the optimizer stores learning_rate as a variable of dtype floatx
    opt = keras.optimizers.Adam(**hyper)
    var = keras.Variable(w0.astype(dtype), dtype=dtype)
    out = []
    for g in grads:
        opt.apply_gradients([(tf.constant(g.astype(dtype)), var)])
        out.append(np.array(var.numpy()))
    keras.config.set_floatx("float32")
    return out


def make_adam_cases(rng: np.random.Generator) -> None:
    w0 = rng.normal(0.0, 1.0, (3, 4))
    # (3, 4) each; scales from 1e-3 to 1e2 so that epsilon matters in some steps and not in others
    grads = [rng.normal(0.0, 1.0, (3, 4)) * 10.0 ** rng.uniform(-3, 2) for _ in range(ADAM_STEPS)]
    default = keras.optimizers.Adam()  # the lr=1e-3 files are exactly keras.optimizers.Adam()
    assert (default.beta_1, default.beta_2, default.epsilon) == (0.9, 0.999, 1e-7)
    assert np.isclose(float(default.learning_rate.numpy()), 1e-3)
    for dtype in DTYPES:
        for lr in (1e-3, 1e-2):
            hyper = {"learning_rate": lr, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
            # Built under floatx == dtype, so the learning rate is `lr` rounded to the weights' dtype only.
            ws = keras_adam(w0, grads, dtype, dtype, **hyper)
            formula = adam_reference(w0, grads, **hyper, dtype=dtype)
            as_keras = adam_reference(w0, grads, **hyper, dtype=dtype, keras_betas=True)
            for w, k in zip(ws, as_keras):
                np.testing.assert_array_equal(w, k)  # real Keras, explained to the last bit
            gap = max(np.abs(w - f).max() for w, f in zip(ws, formula))
            print(f"adam {dtype} lr {lr:g}: real Keras vs textbook formula after {ADAM_STEPS} steps: {gap:.3g}")

            p = torch.nn.Parameter(torch.tensor(w0.astype(dtype)))
            opt = torch.optim.Adam([p], lr=lr, betas=(0.9, 0.999), eps=1e-7)
            torch_ws = []
            for g in grads:
                p.grad = torch.tensor(g.astype(dtype))
                opt.step()
                torch_ws.append(to_np(p))

            arrays = {"w0": w0.astype(dtype), **{f"g{t}": g.astype(dtype) for t, g in enumerate(grads, start=1)}}
            arrays.update({f"w{t}": w for t, w in enumerate(ws, start=1)})
            arrays.update({f"torch_w{t}": w for t, w in enumerate(torch_ws, start=1)})
            arrays.update({f"formula_w{t}": w for t, w in enumerate(formula, start=1)})
            if dtype == "float64":
                ws_f32_lr = keras_adam(w0, grads, "float32", "float64", **hyper)
                arrays.update({f"keras_float32_lr_w{t}": w for t, w in enumerate(ws_f32_lr, start=1)})
            arrays.update({k: np.array(v) for k, v in hyper.items()})
            arrays.update(
                {
                    "optimizer": np.array("adam"),
                    "steps": np.array(ADAM_STEPS),
                    "dtype": np.array(dtype),
                    "keras_version": np.array(keras.__version__),
                    "tensorflow_version": np.array(tf.__version__),
                    "torch_version": np.array(torch.__version__),
                }
            )
            save(f"adam_lr{lr:.0e}_{dtype}.npz", arrays)


CASES = {  # one generator per case family, so adding a case never changes the others' numbers
    "rnn": lambda: make_rnn_cases(np.random.default_rng([SEED, 1])),
    "dense": lambda: make_dense_cases(np.random.default_rng([SEED, 2])),
    "seed_model": lambda: make_seed_model_cases(np.random.default_rng([SEED, 3])),
    "adam": lambda: make_adam_cases(np.random.default_rng([SEED, 4])),
}


def main(argv=None) -> None:
    """Rewrite the files of the families named on the command line (all of them by default)."""
    names = (sys.argv[1:] if argv is None else argv) or list(CASES)
    unknown = sorted(set(names) - set(CASES))
    if unknown:
        raise SystemExit(f"unknown case families {unknown}; choose from {sorted(CASES)}")
    for name in names:
        CASES[name]()
    total = sum(p.stat().st_size for p in HERE.glob("*.npz"))
    print(f"total {total:,} bytes in {len(list(HERE.glob('*.npz')))} files")


if __name__ == "__main__":
    main()
