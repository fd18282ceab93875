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
