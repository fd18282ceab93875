"""The teaching notebooks run top to bottom on a fresh kernel and draw every figure.

They are executed with one training epoch (``LSTM_NP_NOTEBOOK_EPOCHS=1``) so the test stays
fast; the committed copies were executed with the default number of epochs.
"""
import re
from pathlib import Path

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_the_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == ["01_lstm_gates.ipynb", "02_bitcoin_forecast.ipynb",
                                           "03_backtest.ipynb", "04_keras_tutorials.ipynb",
                                           "05_write_a_cell.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_draws_its_figures(path, monkeypatch):
    monkeypatch.setenv("LSTM_NP_NOTEBOOK_EPOCHS", "1")   # the kernel inherits this environment
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()                                     # raises CellExecutionError on any error

    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert not [out for cell in code_cells for out in cell.outputs
                if out.output_type == "error"]
    figure_cells = [cell for cell in code_cells if "figure" in cell.metadata.get("tags", [])]
    assert figure_cells, "figure cells are tagged 'figure'"
    for cell in figure_cells:
        images = [out for out in cell.outputs if "image/png" in out.get("data", {})]
        assert images, f"no figure from the cell starting {cell.source.splitlines()[0]!r}"
    # the epochs setting reached the kernel
    first = "".join(out.get("text", "") for out in code_cells[0].outputs)
    assert "epochs: 1" in first


def test_committed_notebooks_carry_their_outputs():
    for path in NOTEBOOKS:
        assert path.stat().st_size < 1_500_000, path.name
        nb = nbformat.read(path, as_version=4)
        figure_cells = [cell for cell in nb.cells if "figure" in cell.metadata.get("tags", [])]
        for cell in figure_cells:
            assert any("image/png" in out.get("data", {}) for out in cell.outputs), path.name
        # run top to bottom on a fresh kernel, without errors, with the default number of epochs
        code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
        assert [cell.execution_count for cell in code_cells] == list(range(1, len(code_cells) + 1)), \
            path.name
        assert not [out for cell in code_cells for out in cell.outputs
                    if out.output_type == "error"], path.name
        default = re.search(r'LSTM_NP_NOTEBOOK_EPOCHS", (\d+)\)', code_cells[0].source)
        assert default, f"{path.name}: the first code cell reads LSTM_NP_NOTEBOOK_EPOCHS"
        first = "".join(out.get("text", "") for out in code_cells[0].outputs)
        assert f"epochs: {default.group(1)}\n" in first, path.name
