"""The kernels' fixed-order product (lstm_np.kernels.panel) and their reusable memory (issue 20)."""
import numpy as np
import pytest

from lstm_np._jit import jit_enabled
from lstm_np._runtime import REUSE_MIN_BYTES, reusable
from lstm_np.kernels.panel import panel_dot

SHAPES = [(200, 50, 16), (13, 7, 29), (9, 3, 8), (1, 1, 1), (17, 40, 24), (4, 5, 3)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M, K, N", SHAPES)
def test_panel_dot_is_the_product(dtype, M, K, N):
    rng = np.random.default_rng(M * K * N)
    a, b = rng.normal(size=(M, K)).astype(dtype), rng.normal(size=(K, N)).astype(dtype)
    out = np.full((M, N), np.nan, dtype)
    panel_dot(a, b, out, False)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    tol = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(out, exact, rtol=tol, atol=tol * K)
    start = rng.normal(size=(M, N)).astype(dtype)
    total = start.copy()
    panel_dot(a, b, total, True)                    # accumulate: out += a @ b
    np.testing.assert_allclose(total, start + exact, rtol=tol, atol=tol * K)


@pytest.mark.skipif(not jit_enabled(), reason="the compiled product's order is what is tested")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_column_gets_the_same_bits_wherever_it_sits(dtype):
    """Each number is one fma chain in the order of k: the same bits alone, in a 16-wide panel,
    an 8-wide one or the scalar leftovers, and for any row tile."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(21, 37)).astype(dtype)
    b = rng.normal(size=(37, 29)).astype(dtype)        # 16 + 8 + 5 columns
    out = np.empty((21, 29), dtype)
    panel_dot(a, b, out, False)
    for n in range(29):
        alone = np.empty((21, 1), dtype)
        panel_dot(a, np.ascontiguousarray(b[:, n:n + 1]), alone, False)
        np.testing.assert_array_equal(alone[:, 0], out[:, n])
        moved = np.ascontiguousarray(np.roll(b, 7 - n, axis=1))     # column n now at 7
        other = np.empty_like(out)
        panel_dot(a, moved, other, False)
        np.testing.assert_array_equal(other[:, 7], out[:, n])
    for j in range(21):                                  # a row alone: no tile of 8 rows
        row = np.empty((1, 29), dtype)
        panel_dot(a[j:j + 1], b, row, False)
        np.testing.assert_array_equal(row[0], out[j])


def test_panel_dot_reads_strided_views():
    """``a`` may be any view; ``b`` and ``out`` rows are contiguous slices of bigger arrays."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=(30, 12)).astype(np.float32)[::2, 1:]      # (15, 11), strided
    x = rng.normal(size=(11, 5, 16)).astype(np.float32)           # b = x[:, 2, :]
    out = np.zeros((15, 5, 16), np.float32)
    panel_dot(a, x[:, 2, :], out[:, 2, :], False)
    np.testing.assert_allclose(out[:, 2, :], a @ x[:, 2, :], rtol=1e-5, atol=1e-5)
    assert not out[:, [0, 1, 3, 4], :].any()


def test_reusable_memory_is_lent_only_when_free():
    n = REUSE_MIN_BYTES // 4 * 2
    first = reusable((n,), np.float32)
    first[:] = 1.0
    second = reusable((n,), np.float32)                 # the first is alive: a new buffer
    assert not np.shares_memory(first, second)
    address = first.__array_interface__["data"][0]
    view = first[10:]
    del first
    third = reusable((n,), np.float32)                  # a view of the first is still alive
    assert third.__array_interface__["data"][0] != address
    del view
    again = reusable((2, n // 2), np.float32)           # free now: the same memory, reshaped
    assert again.__array_interface__["data"][0] == address
    assert again.shape == (2, n // 2) and again.dtype == np.float32
    small = reusable((3,), np.float64)                  # small arrays: plain np.empty
    assert small.shape == (3,)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("D, H, G", [(1, 2, 8), (3, 4, 16), (2, 5, 20), (1, 50, 200), (5, 64, 256)])
def test_weight_gradients_from_panels(dtype, D, H, G):
    """``[x_t; h_{t-1}; 1] dzᵀ`` from ``dz`` stored in 16-column panels: the product, and ``dbias``
    a running sum of the rows in order (the same bits as summing them one by one)."""
    from lstm_np.kernels.loops import PANEL, to_panels, weight_gradients

    T, N = 7, 16
    rng = np.random.default_rng(D * H * G)
    x = rng.normal(size=(D, T, N)).astype(dtype)
    h = rng.normal(size=(H, T + 1, N)).astype(dtype)
    dz = rng.normal(size=(T, G, N)).astype(dtype)
    panels = np.full((-(-G // PANEL), T * N, PANEL), np.nan, dtype)
    for t in range(T):
        to_panels(dz[t], panels, t * N)
    dweights = np.full((D + H + 1, G), np.nan, dtype)
    weight_gradients(x, h, panels, dweights, np.empty((D + H + 1, T, N), dtype))
    rows = dz.transpose(0, 2, 1).reshape(T * N, G).astype(np.float64)        # row t N + n
    inputs = np.concatenate([x, h[:, :T]]).reshape(D + H, T * N).astype(np.float64)
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(dweights[:D + H], inputs @ rows, rtol=tol, atol=tol * T * N)
    running = np.zeros(G, dtype)
    for row in dz.transpose(0, 2, 1).reshape(T * N, G):
        running = running + row
    if jit_enabled():
        np.testing.assert_array_equal(dweights[D + H], running)
    else:
        np.testing.assert_allclose(dweights[D + H], running, rtol=tol, atol=tol * T * N)
