"""Golden values from real PyTorch for the wrapper layers' torch mapping (lstm_np.interop):
``tests/golden/torch_wrappers/*.npz``.

Each case is a torch model written here by hand — a bidirectional ``nn.LSTM`` / ``nn.GRU`` /
``nn.RNN`` (``batch_first=True``) followed by an ``nn.Linear`` — with torch's own seeded
initialisation, in float64. The file holds its ``state_dict()`` under ``sd.<key>`` (torch
layout, keys named after the lstm_np layers of the same model), the input ``x`` and torch's
output ``y``, so the test loads the state dict with ``from_torch`` into the lstm_np model named
by ``layers`` (JSON) and compares.

Run from the repository root with PyTorch installed::

    python tests/golden/make_torch_wrappers.py
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parent / "torch_wrappers"


def spec(cls, **config):
    return {"class": cls, "config": config}


class Net(torch.nn.Module):
    def __init__(self, rnn, units, last_step, linear_name, outputs):
        super().__init__()
        self.bidirectional = rnn
        self.units, self.last_step = units, last_step
        self.add_module(linear_name, torch.nn.Linear(2 * units, outputs))
        self.linear_name = linear_name

    def forward(self, x):
        seq = self.bidirectional(x)[0]                       # (N, T, 2H)
        if self.last_step:   # each direction's last output: forward at T-1, backward at 0
            seq = torch.cat([seq[:, -1, :self.units], seq[:, 0, self.units:]], dim=-1)
        return self._modules[self.linear_name](seq)


CASES = {   # name -> (torch RNN class, kwargs, units, last step only, lstm_np layers)
    "lstm_sequence": (torch.nn.LSTM, {}, 4, False, [
        spec("Bidirectional", layer=spec("LSTM", units=4, return_sequences=True)),
        spec("TimeDistributed", layer=spec("Dense", units=2), name="time_distributed")]),
    "gru_last": (torch.nn.GRU, {}, 3, True, [
        spec("Bidirectional", layer=spec("GRU", units=3)), spec("Dense", units=2, name="dense")]),
    "rnn_relu_last": (torch.nn.RNN, {"nonlinearity": "relu"}, 3, True, [
        spec("Bidirectional", layer=spec("SimpleRNN", units=3, activation="relu")),
        spec("Dense", units=2, name="dense")]),
}


def main():
    OUT.mkdir(exist_ok=True)
    torch.manual_seed(18_010)
    for name, (rnn_class, kwargs, units, last, layers) in sorted(CASES.items()):
        rnn = rnn_class(input_size=3, hidden_size=units, batch_first=True, bidirectional=True,
                        **kwargs)
        net = Net(rnn, units, last, layers[1]["config"]["name"], 2).double().eval()
        x = torch.randn(4, 5, 3, dtype=torch.float64)
        with torch.no_grad():
            y = net(x)
        out = {f"sd.{k}": v.numpy() for k, v in net.state_dict().items()}
        out.update(x=x.numpy(), y=y.numpy(), layers=np.array(json.dumps(layers)),
                   torch_version=np.array(torch.__version__))
        np.savez_compressed(OUT / f"{name}.npz", **out)
    print(f"wrote {len(CASES)} files to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
