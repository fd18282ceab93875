"""Live comparison with PyTorch (skipped when torch is not installed; the committed golden
files in tests/golden carry the same check into CI)."""
import numpy as np
import pytest

from conftest import seed_model

torch = pytest.importorskip("torch")


def torch_seed_model(weights):
    """The seed model in PyTorch, loaded from Keras-layout weights (docs/keras_parity.md)."""
    k1, r1, b1, k2, r2, b2, kd, bd = (torch.tensor(w, dtype=torch.float64) for w in weights)
    lstm1, lstm2 = torch.nn.LSTM(1, 50, batch_first=True), torch.nn.LSTM(50, 100, batch_first=True)
    dense = torch.nn.Linear(100, 1)
    with torch.no_grad():
        for lstm, k, r, b in ((lstm1, k1, r1, b1), (lstm2, k2, r2, b2)):
            lstm.double()
            lstm.weight_ih_l0.copy_(k.T)
            lstm.weight_hh_l0.copy_(r.T)
            lstm.bias_ih_l0.copy_(b)
            lstm.bias_hh_l0.zero_()
        dense.double()
        dense.weight.copy_(kd.T)
        dense.bias.copy_(bd)

    def run(x):
        return dense(lstm2(lstm1(x)[0])[0][:, -1])

    return run, [lstm1.weight_ih_l0, lstm1.weight_hh_l0, lstm1.bias_ih_l0,
                 lstm2.weight_ih_l0, lstm2.weight_hh_l0, lstm2.bias_ih_l0, dense.weight, dense.bias]


def test_seed_model_matches_torch_outputs_and_gradients():
    rng = np.random.default_rng(0)
    model = seed_model(seed=1, dtype="float64")
    model.set_weights([w + rng.normal(scale=0.1, size=w.shape) for w in model.get_weights()])
    x, y = rng.random((8, 60, 1)), rng.random((8, 1))
    run, torch_params = torch_seed_model(model.get_weights())
    xt = torch.tensor(x)
    out = run(xt)
    loss = torch.mean((out - torch.tensor(y)) ** 2)
    loss.backward()
    np.testing.assert_allclose(model.predict(x), out.detach().numpy(), rtol=0, atol=1e-9)
    our_loss, grads = model.compute_gradients(x, y)
    assert our_loss == pytest.approx(loss.item(), rel=1e-12)
    for g, p in zip(grads, torch_params):
        theirs = p.grad.numpy().T
        assert np.max(np.abs(g - theirs)) <= 1e-7 * np.max(np.abs(theirs))
    # float32 agrees with float64
    np.testing.assert_allclose(model.copy(dtype="float32").predict(x), model.predict(x), atol=1e-4)
