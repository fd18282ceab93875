"""``python -m lstm_np.tune``: see :mod:`lstm_np.forecast.tune`."""
import sys

from .forecast.tune import main

if __name__ == "__main__":
    sys.exit(main())
