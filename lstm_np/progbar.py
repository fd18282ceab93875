"""What ``fit`` prints, as Keras 3 prints it.

``verbose=1`` — ``Epoch 1/5``, then a progress bar (redrawn in place on a terminal or in a
notebook; written once, complete, when output goes to a file or a pipe)::

    Epoch 1/5
    8/8 ━━━━━━━━━━━━━━━━━━━━ 1s 61ms/step - loss: 0.0913 - val_loss: 0.0412

``verbose=2`` — the same two lines without the bar::

    Epoch 1/5
    8/8 - 1s - 61ms/step - loss: 0.0913 - val_loss: 0.0412

A value is shown with 4 decimals, or in scientific notation when it is below 1e-3 in
magnitude (Keras's rule).
"""
import sys
import time

from .callbacks import Callback

BAR_WIDTH = 20


def verbosity(verbose):
    """``verbose`` as 0, 1 or 2 (``"auto"`` is 1, as in Keras; booleans are 0 or 1)."""
    if verbose == "auto":
        return 1
    if verbose in (0, 1, 2):                     # True and False included
        return int(verbose)
    raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")


def _per_step(seconds):
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def _value(value):
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def _dynamic():
    """Whether the bar can be redrawn in place: a terminal or a notebook."""
    return (hasattr(sys.stdout, "isatty") and sys.stdout.isatty()) or "ipykernel" in sys.modules


class ProgbarLogger(Callback):
    """Prints the epoch lines of ``fit`` (``keras.callbacks.ProgbarLogger``); ``fit`` adds it
    first when ``verbose`` is 1 or 2."""

    def __init__(self, verbose=1, epochs=1, steps=None):
        self.verbose, self.epochs, self.steps = verbosity(verbose), epochs, steps
        self.dynamic = _dynamic()
        self.start, self.seen = time.perf_counter(), 0

    def on_epoch_begin(self, epoch, logs=None):
        print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)
        self.start, self.seen = time.perf_counter(), 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        if self.verbose == 1 and self.dynamic:
            print("\r" + self._text(self.seen, logs or {}), end="", flush=True)

    def on_epoch_end(self, epoch, logs=None):
        if self.verbose == 1 and self.dynamic:
            print("\r", end="")
        self.line(self.seen, logs or {})

    def line(self, seen, logs):
        print(self._text(seen, logs), flush=True)

    def _text(self, seen, logs):
        elapsed = time.perf_counter() - self.start
        target = self.steps or seen
        count = f"{seen:>{len(str(target))}}/{target if self.steps else 'Unknown'}"
        timing = f"{int(elapsed)}s" + (" " if self.verbose == 1 else " - ") + \
            _per_step(elapsed / max(seen, 1))
        values = "".join(f" - {k}: {_value(v)}" for k, v in logs.items())
        if self.verbose == 2:
            return f"{count} - {timing}{values}"
        done = BAR_WIDTH if not self.steps else int(BAR_WIDTH * min(seen / target, 1))
        bar = "━" * done + " " * (BAR_WIDTH - done)
        return f"{count} {bar} {timing}{values}"
