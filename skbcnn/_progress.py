"""One status line per training epoch on stderr (imports Keras).

Used by the command line (``skbcnn demo``, ``train`` and ``search -v``) as a
``CNNClassifier`` callback for the duration of one ``fit``.
"""

import contextlib
import sys
import time

import keras

from ._cli_support import format_duration
from ._steps import final_step

__all__ = ["EpochProgress", "epoch_progress", "remove_progress"]


class EpochProgress(keras.callbacks.Callback):
    """Print ``epoch 3/30  loss 0.812  accuracy 0.610  val_loss ...  [time]``.

    The time left is the mean epoch time so far times the epochs still
    allowed; early stopping may end the training sooner, so it reads
    "at most". Lines go to ``sys.stderr`` as it is when they are printed.

    Parameters
    ----------
    prefix : str, default=""
        Text put in front of every line.
    """

    def __init__(self, prefix=""):
        super().__init__()
        self.prefix = prefix

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self._first_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch is None:
            self._first_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        total = int(self.params.get("epochs") or epoch + 1)
        done = epoch + 1 - (self._first_epoch or 0)
        elapsed = time.perf_counter() - self._start
        per_epoch = elapsed / max(done, 1)
        train = sorted((k for k in logs if not k.startswith("val_") and k != "learning_rate"),
                       key=lambda k: (k != "loss", k))
        shown = train + [f"val_{k}" for k in train if f"val_{k}" in logs]
        metrics = "  ".join(f"{k} {float(logs[k]):.3f}" for k in shown)
        width = len(str(total))
        line = f"{self.prefix}epoch {epoch + 1:{width}d}/{total}  {metrics}  [{format_duration(per_epoch)}/epoch"
        left = total - epoch - 1
        line += f", at most {format_duration(per_epoch * left)} left]" if left > 0 else "]"
        print(line, file=sys.stderr, flush=True)

    def __deepcopy__(self, memo):
        # ``sklearn.base.clone`` deep-copies parameters: a fresh callback, no model attached
        return type(self)(self.prefix)


@contextlib.contextmanager
def epoch_progress(pipeline, prefix=""):
    """Attach an :class:`EpochProgress` to the pipeline's CNN for one ``fit``.

    The classifier's ``callbacks`` parameter is restored afterwards, so the
    fitted (and saved) model holds no progress callback.
    """
    cnn = final_step(pipeline)
    previous = cnn.get_params().get("callbacks")
    extra = [EpochProgress(prefix)]
    if previous is None:
        callbacks = extra
    elif isinstance(previous, dict):
        callbacks = {**previous, "skbcnn_progress": extra[0]}
    elif isinstance(previous, (list, tuple)):
        callbacks = [*previous, *extra]
    else:
        callbacks = [previous, *extra]
    cnn.set_params(callbacks=callbacks)
    try:
        yield
    finally:
        cnn.set_params(callbacks=previous)
        rebuild = getattr(cnn, "_initialize_callbacks", None)
        if rebuild is not None and getattr(cnn, "initialized_", False):
            rebuild()  # drop the progress callback from the fitted callbacks too


def remove_progress(estimator):
    """Take every :class:`EpochProgress` out of a (fitted) pipeline's CNN callbacks.

    For the clones a search fitted with a progress callback
    (``best_estimator_``), so that the saved model does not print.
    """
    cnn = final_step(estimator)
    callbacks = cnn.get_params().get("callbacks")
    if isinstance(callbacks, dict):
        kept = {k: v for k, v in callbacks.items() if not isinstance(v, EpochProgress)}
    elif isinstance(callbacks, (list, tuple)):
        kept = [c for c in callbacks if not isinstance(c, EpochProgress)]
    else:
        kept = None if isinstance(callbacks, EpochProgress) else callbacks
    if kept is not None and not kept:
        kept = None
    cnn.set_params(callbacks=kept)
    if getattr(cnn, "initialized_", False) and hasattr(cnn, "_initialize_callbacks"):
        cnn._initialize_callbacks()
    return estimator
