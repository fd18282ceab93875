"""``python -m lstm_np.backtest``: see :mod:`lstm_np.forecast.backtest`."""
import sys

from .forecast.backtest import main

if __name__ == "__main__":
    sys.exit(main())
