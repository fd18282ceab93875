"""``python -m lstm_np.compare``: the command lives in :mod:`lstm_np.forecast.compare`; this name keeps working."""
import sys

from .forecast.compare import main

if __name__ == "__main__":
    sys.exit(main())
