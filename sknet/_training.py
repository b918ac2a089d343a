"""The skorch machinery behind NetRegressor.

skorch's defaults are built for datasets that stream from disk. sknet holds
its data as tensors in memory, so it replaces the parts of skorch that cost
most on small tables: the per-row ``DataLoader`` becomes tensor slicing, the
history records without copying itself, and the default per-epoch callbacks
shrink to the one that builds the loss log.
"""

import math

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer
from skorch.history import History

from ._exceptions import TrainingDivergedError
from ._progress import EpochProgressBar


class TensorData:
    """Rows of inputs, targets and optional weights held as tensors.

    Parameters
    ----------
    X : Tensor of shape (n_samples, n_features)
    y : Tensor of shape (n_samples, n_outputs) or None
    sample_weight : Tensor of shape (n_samples,) or None
    """

    def __init__(self, X, y=None, sample_weight=None):
        self.X = X
        self.y = y
        self.sample_weight = sample_weight

    def __len__(self):
        return len(self.X)

    def rows(self, index):
        """Return the batch ``(X, (y, weight))`` at ``index``."""
        weight = None if self.sample_weight is None else self.sample_weight[index]
        y = None if self.y is None else self.y[index]
        return self.X[index], (y, weight)


class TrainValidData:
    """The training rows and, optionally, the rows evaluated every epoch."""

    def __init__(self, train, valid=None):
        self.train = train
        self.valid = valid


class TensorBatches:
    """Iterate over a :class:`TensorData` in batches without a DataLoader.

    A full batch is the tensors themselves; mini-batches are slices, or
    gathers through a fresh permutation when shuffling.
    """

    def __init__(self, data, batch_size=None, shuffle=False, generator=None):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    def __iter__(self):
        n_rows = len(self.data)
        if self.batch_size is None or self.batch_size >= n_rows:
            yield self.data.rows(slice(None))
            return
        if self.shuffle:
            order = torch.randperm(
                n_rows, generator=self.generator, device=self.data.X.device
            )
            for start in range(0, n_rows, self.batch_size):
                yield self.data.rows(order[start : start + self.batch_size])
        else:
            for start in range(0, n_rows, self.batch_size):
                yield self.data.rows(slice(start, start + self.batch_size))


class FastHistory(History):
    """skorch's History, recording in constant time.

    skorch's ``History.__getitem__`` copies the list of epochs on every
    access, and its ``record`` methods go through it, so recording alone
    grows quadratically with the number of epochs. Recording here reaches
    the last epoch through the plain list instead; reading is unchanged.
    """

    def _last_epoch(self):
        if not self:
            raise ValueError("Call new_epoch before recording for the first time.")
        return list.__getitem__(self, -1)

    def new_batch(self):
        self._last_epoch()["batches"].append({})

    def record(self, attr, value):
        self._last_epoch()[attr] = value

    def record_batch(self, attr, value):
        self._last_epoch()["batches"][-1][attr] = value


class LossLog(Callback):
    """Record each epoch's train and validation loss.

    The train loss of an epoch is the weighted mean of its batch losses,
    each taken on the forward pass before that batch's update; the
    validation loss is taken after the epoch's last update. Both are
    written to the skorch history as ``train_loss`` and ``valid_loss``
    (with ``*_best`` flags) so that skorch's own callbacks can monitor
    them, and kept as rows ``[epoch, train_loss, valid_loss]``.

    A non-finite loss stops training with :class:`TrainingDivergedError`.
    """

    def initialize(self):
        self.rows_ = []
        self._best = {"train": math.inf, "valid": math.inf}
        self._reset_sums()
        return self

    def _reset_sums(self):
        self._sums = {True: [0.0, 0.0], False: [0.0, 0.0]}

    def on_epoch_begin(self, net, **kwargs):
        self._reset_sums()

    def on_batch_end(self, net, batch=None, training=False, loss=None, **kwargs):
        _, (targets, weights) = batch
        weight = float(len(targets)) if weights is None else float(weights.sum())
        sums = self._sums[training]
        sums[0] += loss.item() * weight
        sums[1] += weight

    def on_epoch_end(self, net, **kwargs):
        history = net.history
        epoch = len(history)
        train_loss = self._mean(training=True)
        valid_loss = self._mean(training=False)
        self.rows_.append((epoch, train_loss, valid_loss))
        self._record(history, "train", train_loss)
        if not math.isnan(valid_loss) or self._sums[False][1] > 0:
            self._record(history, "valid", valid_loss)
        if not math.isfinite(train_loss) or (
            self._sums[False][1] > 0 and (not math.isfinite(valid_loss))
        ):
            raise TrainingDivergedError(
                f"The loss became {_describe(train_loss, valid_loss)} at epoch "
                f"{epoch}, so training stopped. Scale the inputs (for example "
                "with sklearn.preprocessing.StandardScaler in a Pipeline) and the "
                "target, or lower lr (it is now "
                f"{net.lr:g}). The losses of the epochs that ran are in "
                "the error's loss_log attribute.",
                epoch=epoch,
                loss_log=self.as_array(),
            )

    def _mean(self, training):
        total, weight = self._sums[training]
        return total / weight if weight > 0 else math.nan

    def _record(self, history, prefix, value):
        is_best = value < self._best[prefix]
        if is_best:
            self._best[prefix] = value
        history.record(f"{prefix}_loss", value)
        history.record(f"{prefix}_loss_best", is_best)

    def as_array(self):
        """Return the rows recorded so far as a float array of shape (n, 3)."""
        return np.array(self.rows_, dtype=np.float64).reshape(-1, 3)


def _describe(train_loss, valid_loss):
    bad = train_loss if not math.isfinite(train_loss) else valid_loss
    return "NaN" if math.isnan(bad) else "infinite"


class TrainingNet(NeuralNet):
    """A skorch ``NeuralNet`` that trains on in-memory tensors.

    It is an implementation detail of :class:`sknet.NetRegressor`, which
    builds one per fit. Beyond skorch's own parameters it takes
    ``shuffle`` (reshuffle mini-batches every epoch), ``generator`` (the
    ``torch.Generator`` for that), ``dtype`` (of the module's parameters) and
    ``progress`` (show an :class:`EpochProgressBar`).
    """

    def __init__(
        self,
        *args,
        shuffle=True,
        generator=None,
        dtype=torch.float32,
        progress=False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.shuffle = shuffle
        self.generator = generator
        self.dtype = dtype
        self.progress = progress
        self.epochs_this_call = 0

    @property
    def _default_callbacks(self):
        callbacks = [("epoch_timer", EpochTimer()), ("loss_log", LossLog())]
        if self.progress:
            callbacks.append(("progress", EpochProgressBar()))
        return callbacks

    def train_epochs(self, data, epochs):
        """Train for ``epochs`` more epochs on a :class:`TrainValidData`.

        Unlike skorch's ``partial_fit``, a KeyboardInterrupt is not
        swallowed: an interrupted fit raises, as in scikit-learn.
        """
        self.epochs_this_call = epochs
        self.notify("on_train_begin", X=data, y=None)
        try:
            self.fit_loop(data, epochs=epochs)
        finally:
            for _, callback in self.callbacks_:
                if isinstance(callback, EpochProgressBar):
                    callback.close()
        self.notify("on_train_end", X=data, y=None)
        return self

    def loss_log(self):
        """Return ``[epoch, train_loss, valid_loss]`` rows for every epoch."""
        return dict(self.callbacks_)["loss_log"].as_array()

    def forget_epochs_after(self, n_epochs):
        """Drop the records of every epoch after the first ``n_epochs``."""
        del self.history[n_epochs:]
        del dict(self.callbacks_)["loss_log"].rows_[n_epochs:]

    def initialize_history(self):
        self.history_ = FastHistory()
        return self

    def initialize_module(self):
        super().initialize_module()
        self.module_ = self.module_.to(self.dtype)
        return self

    def get_dataset(self, X, y=None):
        if isinstance(X, TensorData):
            return X
        return TensorData(X, y)

    def get_split_datasets(self, X, y=None, **fit_params):
        return X.train, X.valid

    def get_iterator(self, dataset, training=False):
        return TensorBatches(
            dataset,
            batch_size=self.batch_size,
            shuffle=training and self.shuffle,
            generator=self.generator,
        )

    def get_loss(self, y_pred, y_true, X=None, training=False):
        targets, weights = y_true
        if y_pred.shape != targets.shape:
            raise ValueError(
                f"The module returned outputs of shape {tuple(y_pred.shape)} for "
                f"targets of shape {tuple(targets.shape)}. Its forward must "
                "return one column per target, shape (n_samples, n_output)."
            )
        per_entry = self.criterion_(y_pred, targets)
        if weights is None or per_entry.dim() == 0:
            return per_entry.mean()
        per_row = per_entry.reshape(len(per_entry), -1).mean(dim=1)
        # A batch whose weights are all zero contributes a loss of zero.
        total_weight = weights.sum().clamp_min(torch.finfo(weights.dtype).tiny)
        return (per_row * weights).sum() / total_weight
