"""The warm-up that compiles a model's kernels before its first epoch."""
import numpy as np

from lstm_np import GRU, LSTM, Dense, Dropout, Sequential, _warmup


def model(seed=0):
    m = Sequential([LSTM(4, return_sequences=True, input_shape=(5, 2)), Dropout(0.5), GRU(3),
                    Dense(1)], seed=seed, dtype="float32")
    m.compile(optimizer="adam", loss="mse")
    return m


def data():
    rng = np.random.default_rng(1)
    return rng.normal(size=(20, 5, 2)), rng.normal(size=(20, 1))


def test_the_warm_up_changes_no_weight_and_draws_no_random_number(monkeypatch):
    """A fit after the warm-up trains exactly as a fit without one."""
    x, y = data()
    warmed, cold = model(), model()
    monkeypatch.setattr(_warmup, "_done", set())
    _warmup.compile_kernels(warmed, x)
    monkeypatch.setattr("lstm_np.training.compile_kernels", lambda *args: None)   # cold: none
    for w, c in zip(warmed.get_weights(), cold.get_weights()):
        np.testing.assert_array_equal(w, c)
    assert warmed.rng.bit_generator.state == cold.rng.bit_generator.state
    h1 = warmed.fit(x, y, epochs=2, batch_size=8, verbose=0).history["loss"]
    h2 = cold.fit(x, y, epochs=2, batch_size=8, verbose=0).history["loss"]
    assert h1 == h2


def test_a_slow_warm_up_says_so_on_stderr_once(monkeypatch, capsys):
    monkeypatch.setattr(_warmup, "NOTICE_AFTER", 0.0)
    monkeypatch.setattr(_warmup, "_done", set())
    slow_forward = Sequential.forward

    def forward(self, *args, **kwargs):
        import time
        time.sleep(0.2)                      # stands in for compiling
        return slow_forward(self, *args, **kwargs)

    monkeypatch.setattr(Sequential, "forward", forward)
    x, _ = data()
    _warmup.compile_kernels(model(), x)
    err = capsys.readouterr().err
    assert err.startswith("compiling kernels, first run only …") and err.endswith(" s\n")
    _warmup.compile_kernels(model(seed=1), x)            # the same kind of model: nothing to do
    assert capsys.readouterr().err == ""


def test_fit_warms_up_before_its_clock_starts(monkeypatch):
    calls = []
    monkeypatch.setattr("lstm_np.training.compile_kernels",
                        lambda model, x, verbose: calls.append(x.shape))
    x, y = data()
    model().fit(x, y, epochs=1, verbose=0)
    assert calls == [(20, 5, 2)]
