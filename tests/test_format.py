"""How the commands write numbers of things: a plural per noun, never 'processs' or 'epoches'."""
import pytest

from lstm_np.forecast.format import plural


@pytest.mark.parametrize("count, noun, expected", [
    (1, "epoch", "1 epoch"), (50, "epoch", "50 epochs"), (2, "worker process", "2 worker processes"),
    (1, "worker process", "1 worker process"), (1200, "test price", "1,200 test prices"),
    (0, "fold", "0 folds"), (3, "box", "3 boxes"),
])
def test_plural(count, noun, expected):
    assert plural(count, noun) == expected
