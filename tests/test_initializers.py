"""The initializers: Keras's definitions, and default weights that do not depend on the number
of BLAS threads (issue 19, item 16)."""
import os
import subprocess
import sys

import numpy as np
import pytest

from lstm_np.initializers import glorot_uniform, orthogonal

DIGESTS = """
import hashlib, sys
import numpy as np
from lstm_np.initializers import orthogonal
digest = hashlib.sha256()
for n in range(1, 301):
    for gates in (1, 3, 4):         # SimpleRNN, GRU, LSTM recurrent kernels (n, gates * n)
        digest.update(orthogonal((n, gates * n), np.random.default_rng(n)).tobytes())
print(digest.hexdigest())
"""


def digest_with(threads):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run([sys.executable, "-c", DIGESTS], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_orthogonal_gives_the_same_bits_on_one_and_on_two_blas_threads():
    """Every recurrent-kernel size from 1 to 300 units; threaded QR alone differs for
    (130, 520), (130, 390) and (200, 600)."""
    assert digest_with(1) == digest_with(2)


@pytest.mark.parametrize("shape", [(5, 20), (20, 5), (7, 7), (1, 4)])
def test_orthogonal_is_keras_orthogonal(shape):
    """Orthonormal rows (rows <= cols) or columns, and Q of the QR of the normal draw with
    the signs of diag(R), as Keras defines it."""
    w = orthogonal(shape, np.random.default_rng(0))
    small = min(shape)
    gram = w @ w.T if shape[0] <= shape[1] else w.T @ w
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)
    rows, cols = shape
    a = np.random.default_rng(0).standard_normal((rows, cols) if rows >= cols else (cols, rows))
    q, r = np.linalg.qr(a)
    expected = q * np.sign(np.diag(r))
    np.testing.assert_allclose(w, expected if rows >= cols else expected.T, atol=1e-12)


def test_glorot_uniform_limit():
    w = glorot_uniform((30, 200), np.random.default_rng(0))
    limit = np.sqrt(6 / 230)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
