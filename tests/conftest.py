import os

import numpy as np
import pytest
from hypothesis import settings

# Property tests run Hypothesis's default 100 examples per test in the suite ("ci"). A deeper
# search on demand: HYPOTHESIS_PROFILE=thorough python -m pytest -q (1,000 examples per test that
# does not pin its own count).
settings.register_profile("ci", deadline=None)
settings.register_profile("thorough", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session", autouse=True)
def compile_kernels_side_by_side(request):
    """Under pytest-xdist (``python -m pytest -q -n 2``), worker gw0 compiles every
    layer's float32 kernels before its first test and gw1 the float64 ones, side by side.

    On an empty Numba cache (a fresh clone) the two workers would otherwise both compile the same
    kernels for their first tests, each paying the full ~35 s; this way each compiles half and
    loads the other half from the cache. With a warm cache it only loads what the worker's tests
    load anyway. The two halves go through the layers in opposite orders, so the workers rarely
    write the same kernel's cache index at the same moment. A worker beyond the second, a run
    without xdist, and a run of a few test files (under 300 tests: it may need few kernels)
    compile nothing ahead."""
    from lstm_np import GRU, LSTM, Dense, Sequential, SimpleRNN
    from lstm_np._jit import jit_enabled

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None or not jit_enabled() or len(request.session.items) < 300:
        return
    index, count = int(worker.removeprefix("gw")), int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    for dtype in ("float32", "float64")[index::count]:
        kinds = [LSTM, GRU, SimpleRNN] if dtype == "float32" else [SimpleRNN, GRU, LSTM]
        layers = [kind(3, return_sequences=k < 2) for k, kind in enumerate(kinds)]
        model = Sequential([*layers, Dense(1)], dtype=dtype)
        model.build((2, 2))
        model.compile(optimizer="adam", loss="mse")
        x = np.zeros((2, 2, 2), dtype=dtype)
        model.fit(x, np.zeros((2, 1), dtype=dtype), epochs=1, batch_size=2, verbose=0)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def random_lstm_weights(rng, D, H, scale=0.5):
    """Asymmetric weights with non-zero biases, in Keras's layout."""
    return [rng.normal(scale=scale, size=(D, 4 * H)),
            rng.normal(scale=scale, size=(H, 4 * H)),
            rng.normal(scale=scale, size=(4 * H,))]


def seed_model(seed=0, dtype="float64"):
    from lstm_np import LSTM, Dense, Dropout, Sequential
    return Sequential([LSTM(50, return_sequences=True, input_shape=(60, 1)), Dropout(0.2),
                       LSTM(100), Dropout(0.2), Dense(1)], seed=seed, dtype=dtype)


# --- helpers the command-line tests share --------------------------------------------------------
def calm_walk(n, seed=0):
    """``n`` daily closes of a calm random walk around $30,000 (small relative moves keep every
    forecast positive)."""
    rng = np.random.default_rng(seed)
    return 30_000 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))


def write_price_csv(path, n, seed=0):
    """A Yahoo-style ``Date,Close`` file of :func:`calm_walk` prices from 2021-01-01."""
    import pandas as pd
    pd.DataFrame({"Date": pd.date_range("2021-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                  "Close": calm_walk(n, seed)}).to_csv(path, index=False)
    return path


def run(main, argv, capsys):
    """Call a command's ``main`` in-process: ``(exit code, stdout, stderr)``."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code, err):
    """Exit code 2 and exactly one ``error: ...`` line, never a traceback."""
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ") and "Traceback" not in err
