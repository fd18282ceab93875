"""``python -m lstm_np.predict``: the command lives in :mod:`lstm_np.forecast.predict`; this name keeps working."""
import sys

from .forecast.predict import main

if __name__ == "__main__":
    sys.exit(main())
