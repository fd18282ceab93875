"""``python -m lstm_np.train``: the command lives in :mod:`lstm_np.forecast.train`; this name keeps working."""
import sys

from .forecast.train import main

if __name__ == "__main__":
    sys.exit(main())
