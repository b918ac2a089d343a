"""The skorch machinery behind NetRegressor.

skorch's defaults are built for datasets that stream from disk. sknet holds
its data as tensors in memory, so it replaces the parts of skorch that cost
most on small tables: the per-row ``DataLoader`` becomes tensor slicing, the
history records without copying itself, and the default per-epoch callbacks
shrink to the one that builds the loss log. The epoch loop itself does
skorch's work with less Python per batch, so that a small full-batch fit
costs no more than the plain PyTorch loop it replaces (see
docs/performance.md).
"""

import math
import pickle
import warnings

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, EpochTimer
from skorch.exceptions import DeviceWarning
from skorch.history import History
from skorch.utils import TeeGenerator, to_device
from torch import nn
from torch.nn import functional
from torch.optim import Optimizer

from ._exceptions import TrainingDivergedError
from ._portability import (
    import_cloudpickle,
    registered_by_value,
    warn_device_fallback,
)
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

    def all_rows(self):
        """Return every row as one batch, without indexing."""
        return self.X, (self.y, self.sample_weight)


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
        if self.batch_size is None or self.batch_size >= len(self.data):
            return iter((self.data.all_rows(),))
        return self._mini_batches()

    def _mini_batches(self):
        n_rows = len(self.data)
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
    the last epoch through the plain list instead, and so does reading a
    single entry of a single epoch; other reads are skorch's.
    """

    def new_batch(self):
        list.__getitem__(self, -1)["batches"].append({})

    def record(self, attr, value):
        if not self:
            raise ValueError("Call new_epoch before recording for the first time.")
        list.__getitem__(self, -1)[attr] = value

    def record_batch(self, attr, value):
        list.__getitem__(self, -1)["batches"][-1][attr] = value

    def __getitem__(self, index):
        # Callbacks read one entry of one epoch every epoch (early stopping
        # reads ``history[-1, "valid_loss"]``); serve that without the copy.
        if (
            isinstance(index, tuple)
            and len(index) == 2
            and isinstance(index[0], int)
            and isinstance(index[1], str)
        ):
            epoch = list.__getitem__(self, index[0])
            if index[1] in epoch:
                return epoch[index[1]]
        return super().__getitem__(index)


class LossLog(Callback):
    """Record each epoch's train and validation loss.

    The train loss of an epoch is the weighted mean of its batch losses,
    each taken on the forward pass before that batch's update; the
    validation loss is taken after the epoch's last update. Both are
    written to the skorch history as ``train_loss`` and ``valid_loss``
    (with ``*_best`` flags) so that skorch's own callbacks can monitor
    them, and kept as rows ``[epoch, train_loss, valid_loss]``. The sums
    behind the means are :attr:`TrainingNet.loss_sums_`, added up as the
    batches run.

    A non-finite loss stops training with :class:`TrainingDivergedError`.
    """

    def initialize(self):
        self.rows_ = []
        self._best = {"train_loss": math.inf, "valid_loss": math.inf}
        return self

    def continue_from(self, previous):
        """Carry on the rows and best losses of another LossLog."""
        self.rows_ = list(previous.rows_)
        self._best = dict(previous._best)

    def on_epoch_end(self, net, **kwargs):
        history = net.history_
        epoch = len(history)
        (train_total, train_weight), (valid_total, valid_weight) = (
            net.loss_sums_[True],
            net.loss_sums_[False],
        )
        train_loss = train_total / train_weight if train_weight > 0 else math.nan
        valid_loss = valid_total / valid_weight if valid_weight > 0 else math.nan
        has_valid = valid_weight > 0
        self.rows_.append((epoch, train_loss, valid_loss))
        losses = {"train_loss": train_loss}
        if has_valid:
            losses["valid_loss"] = valid_loss
        for name, value in losses.items():
            is_best = value < self._best[name]
            if is_best:
                self._best[name] = value
            history.record(name, value)
            history.record(name + "_best", is_best)
        if not math.isfinite(train_loss) or (
            has_valid and not math.isfinite(valid_loss)
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

    def as_array(self):
        """Return the rows recorded so far as a float array of shape (n, 3)."""
        return np.array(self.rows_, dtype=np.float64).reshape(-1, 3)


def _describe(train_loss, valid_loss):
    bad = train_loss if not math.isfinite(train_loss) else valid_loss
    return "NaN" if math.isnan(bad) else "infinite"


class StopTraining(Exception):
    """Raised by a callback to end training after the current epoch."""


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
        # {training: [sum of batch loss * batch weight, sum of batch weight]}
        # over the current epoch's batches.
        self.loss_sums_ = {True: [0.0, 0.0], False: [0.0, 0.0]}
        self._fast_path_ = None

    @property
    def _default_callbacks(self):
        callbacks = [("epoch_timer", EpochTimer()), ("loss_log", LossLog())]
        if self.progress:
            callbacks.append(("progress", EpochProgressBar()))
        return callbacks

    def train_epochs(self, data, epochs, call_callbacks=()):
        """Train for ``epochs`` more epochs on a :class:`TrainValidData`.

        ``call_callbacks`` are skorch callbacks that take part in this call
        only. A callback ends training after the current epoch by raising
        :class:`StopTraining`. Unlike skorch's ``partial_fit``, a
        KeyboardInterrupt is not swallowed: an interrupted fit raises, as in
        scikit-learn. skorch's ``EarlyStopping`` signals its stop with the
        same exception, so that one alone ends training normally.
        """
        self.epochs_this_call = epochs
        permanent = self.callbacks_
        self.callbacks_ = [*permanent, *call_callbacks]
        try:
            self.notify("on_train_begin", X=data, y=None)
            self._fast_path_ = _FastPath(self)
            self._run_fit_loop(data, epochs)
            self.notify("on_train_end", X=data, y=None)
        finally:
            self._fast_path_ = None
            self.callbacks_ = permanent
            for _, callback in permanent:
                if isinstance(callback, EpochProgressBar):
                    callback.close()
        return self

    def _run_fit_loop(self, data, epochs):
        try:
            self.fit_loop(data, epochs=epochs)
        except StopTraining:
            pass
        except KeyboardInterrupt:
            if not self._stopped_early():
                raise

    def continue_from(self, previous):
        """Take over the weights, optimizer state and records of ``previous``.

        This net was built from the estimator's current parameters, so a
        warm start or partial fit trains with them, not with the ones the
        previous call used. Optimizer state (momentum, Adam's moments) is
        kept when the optimizer class is unchanged, under the new settings.
        Records are copied, so ``previous`` stays intact if this net fails.
        A net that cannot be continued carries the reason in its
        ``continuation_refusal`` attribute.
        """
        refusal = getattr(previous, "continuation_refusal", None)
        if refusal:
            raise RuntimeError(refusal)
        try:
            self.module_.load_state_dict(previous.module_.state_dict())
        except RuntimeError as error:
            raise ValueError(
                "Continuing training (warm_start=True or partial_fit) cannot "
                "change the network's shape, but the module's parameters no "
                "longer match the trained weights. Fit a new estimator, or set "
                "warm_start=False to start from fresh weights."
            ) from error
        if type(self.optimizer_) is type(previous.optimizer_):
            settings = [
                {key: value for key, value in group.items() if key != "params"}
                for group in self.optimizer_.param_groups
            ]
            self.optimizer_.load_state_dict(previous.optimizer_.state_dict())
            for group, setting in zip(
                self.optimizer_.param_groups, settings, strict=True
            ):
                group.update(setting)
        self.history_ = FastHistory(list.__iter__(previous.history_))
        dict(self.callbacks_)["loss_log"].continue_from(
            dict(previous.callbacks_)["loss_log"]
        )
        return self

    def _stopped_early(self):
        return any(
            isinstance(callback, EarlyStopping)
            and callback.misses_ >= callback.patience
            for _, callback in self.callbacks_
        )

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

    def initialize_callbacks(self):
        super().initialize_callbacks()
        # skorch pickles the attributes whose names start with these prefixes
        # apart, so that loading can map GPU tensors onto the CPU. Callbacks
        # can hold tensors too: a learning-rate scheduler holds the optimizer.
        # The prefix also covers the callbacks parameter, which holds the
        # same objects.
        if "callbacks" not in self.cuda_dependent_attributes_:
            self.cuda_dependent_attributes_ = [
                *self.cuda_dependent_attributes_,
                "callbacks",
            ]
        return self

    def __getstate__(self):
        held = [getattr(self, name + "_", None) for name in self._modules]
        held += [getattr(self, name + "_", None) for name in self._criteria]
        if any(registered_by_value(type(value)) for value in held):
            return self._state_by_value()
        try:
            return super().__getstate__()
        except (pickle.PicklingError, AttributeError):
            return self._state_by_value()

    def _state_by_value(self):
        """Return skorch's pickle state, its device-bound part cloudpickled.

        skorch pickles the modules, criteria, optimizers (and, here, the
        callbacks) apart with plain pickle, so that loading can map GPU
        tensors onto the CPU. Plain pickle finds classes by name, which
        fails in a process that received them by value, such as a Dask
        worker given a module class defined in a script; cloudpickle sends
        them back by value. skorch's ``__setstate__`` reads the result.
        """
        cloudpickle = import_cloudpickle()
        state = self.__dict__.copy()
        prefixes = tuple(self.cuda_dependent_attributes_)
        held = {key: state.pop(key) for key in list(state) if key.startswith(prefixes)}
        state["__cuda_dependent_attributes__"] = cloudpickle.dumps(held)
        return state

    def __setstate__(self, state):
        trained_on = state.get("device")
        with warnings.catch_warnings():
            # skorch says it twice in its own words; sknet says it once below.
            warnings.simplefilter("ignore", DeviceWarning)
            super().__setstate__(state)
        if str(self.device) != str(trained_on):
            self.device = str(self.device)  # skorch leaves a torch.device
            warn_device_fallback(trained_on)

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

    # -- the per-epoch and per-batch path ---------------------------------
    # skorch's versions of the methods below handle any kind of data and any
    # callback. These do the same work for the tensors of a TensorData, and
    # skip what has no effect: callbacks that do not override a hook, the
    # length and device checks of each batch, and walking the module tree
    # to set a training flag that train() would set the same way.

    def on_epoch_begin(self, net, **kwargs):
        # skorch's, reaching the history once rather than through the
        # ``history`` property at every use.
        history = self.history_
        history.new_epoch()
        history.record("epoch", len(history))

    def on_batch_begin(self, net, **kwargs):
        self.history_.new_batch()

    def notify(self, method_name, **cb_kwargs):
        fast = self._fast_path_
        if fast is None or method_name not in fast.listeners:
            super().notify(method_name, **cb_kwargs)
            return
        getattr(self, method_name)(self, **cb_kwargs)
        for hook in fast.listeners[method_name]:
            hook(self, **cb_kwargs)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        # Both runs of an epoch come here, also without validation data, so
        # this is where the epoch's sums start again from zero.
        sums = self.loss_sums_[training]
        sums[0] = sums[1] = 0.0
        if iterator is None:
            return
        history = self.history_
        loss_key = prefix + "_loss"
        size_key = prefix + "_batch_size"
        fast = self._fast_path_
        notify_begin = fast is None or fast.listeners["on_batch_begin"]
        notify_end = fast is None or fast.listeners["on_batch_end"]
        batch_count = 0
        for batch in iterator:
            if notify_begin:
                self.notify("on_batch_begin", batch=batch, training=training)
            else:
                history.new_batch()  # all that the net's own on_batch_begin does
            step = step_fn(batch, **fit_params)
            loss = step["loss"].item()
            n_rows = len(batch[0])
            history.record_batch(loss_key, loss)
            history.record_batch(size_key, n_rows)
            if notify_end:  # NeuralNet's own on_batch_end does nothing
                self.notify("on_batch_end", batch=batch, training=training, **step)
            weights = batch[1][1]
            weight = float(n_rows) if weights is None else float(weights.sum())
            sums[0] += loss * weight
            sums[1] += weight
            batch_count += 1
        history.record(prefix + "_batch_count", batch_count)

    def train_step(self, batch, **fit_params):
        first_step = {}

        def closure():
            self._zero_grad_optimizer()
            step = self.train_step_single(batch, **fit_params)
            if not first_step:
                first_step.update(step)
            fast = self._fast_path_
            if fast is None or fast.listeners["on_grad_computed"]:
                self.notify(
                    "on_grad_computed",
                    named_parameters=TeeGenerator(self.get_all_learnable_params()),
                    batch=batch,
                    training=True,
                )
            return step["loss"]

        self._step_optimizer(closure)
        return first_step

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = batch
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, yi = batch
        with torch.no_grad():
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=False)
        return {"loss": loss, "y_pred": y_pred}

    def forward_iter(self, X, training=False, device="cpu"):
        # skorch's, with the fitted check and the walk that sets every
        # module's mode done once per call instead of once per batch.
        self.check_is_fitted()
        self._set_training(training)
        for Xi, _ in self.get_iterator(self.get_dataset(X), training=training):
            with torch.set_grad_enabled(training):
                y_infer = self.infer(Xi)
            yield to_device(y_infer, device=device)

    def infer(self, x, **fit_params):
        # A TensorData is built on the net's device, so x needs no moving.
        if isinstance(x, torch.Tensor):
            return self.module_(x, **fit_params)
        return super().infer(x, **fit_params)

    def _zero_grad_optimizer(self, set_to_none=None):
        fast = self._fast_path_
        if fast is None or not fast.plain_zero_grad or set_to_none is False:
            super()._zero_grad_optimizer(set_to_none)
            return
        # All that Optimizer.zero_grad() does by default, less its profiler
        # record, which costs more than the loop.
        for name in self._optimizers:
            for group in getattr(self, name + "_").param_groups:
                for param in group["params"]:
                    param.grad = None

    def _set_training(self, training=True):
        fast = self._fast_path_
        if fast is None or fast.module_attributes is None:
            super()._set_training(training)
            return
        for attributes in fast.module_attributes:
            # What nn.Module.train() and nn.Module.__setattr__ amount to for
            # a bool attribute.
            attributes["training"] = training

    def get_loss(self, y_pred, y_true, X=None, training=False):
        targets, weights = y_true
        if y_pred.shape != targets.shape:
            raise ValueError(
                f"The module returned outputs of shape {tuple(y_pred.shape)} for "
                f"targets of shape {tuple(targets.shape)}. Its forward must "
                "return one column per target, shape (n_samples, n_output)."
            )
        criterion = self.criterion_
        fused = _FUSED_MEAN_LOSSES.get(type(criterion))
        if weights is None and fused is not None and criterion.reduction == "none":
            return fused(criterion, y_pred, targets)
        per_entry = criterion(y_pred, targets)
        if weights is None or per_entry.dim() == 0:
            return per_entry.mean()
        per_row = per_entry.reshape(len(per_entry), -1).mean(dim=1)
        # A batch whose weights are all zero contributes a loss of zero.
        total_weight = weights.sum().clamp_min(torch.finfo(weights.dtype).tiny)
        return (per_row * weights).sum() / total_weight


# For these losses, reduction="mean" gives the mean of reduction="none" to
# the last bit, in one operation instead of two; tests/test_fast_paths.py
# checks that it does. They are called with the criterion's own settings.
_FUSED_MEAN_LOSSES = {
    nn.MSELoss: lambda criterion, y_pred, y: functional.mse_loss(y_pred, y),
    nn.L1Loss: lambda criterion, y_pred, y: functional.l1_loss(y_pred, y),
    nn.HuberLoss: lambda criterion, y_pred, y: functional.huber_loss(
        y_pred, y, delta=criterion.delta
    ),
    nn.SmoothL1Loss: lambda criterion, y_pred, y: functional.smooth_l1_loss(
        y_pred, y, beta=criterion.beta
    ),
}


class _FastPath:
    """What the epoch loop needs to know about the callbacks and modules.

    It is looked up once per call to ``train_epochs``, after
    ``on_train_begin``, because neither changes while epochs run.
    """

    def __init__(self, net):
        self.listeners = _listeners_by_hook(net.callbacks_)
        self.module_attributes = _module_attributes(net)
        self.plain_zero_grad = all(
            type(getattr(net, name + "_")).zero_grad is Optimizer.zero_grad
            for name in net._optimizers
        )


_PER_EPOCH_HOOKS = (
    "on_epoch_begin",
    "on_epoch_end",
    "on_batch_begin",
    "on_batch_end",
    "on_grad_computed",
)


def _listeners_by_hook(callbacks):
    """Map each per-epoch or per-batch hook to the callbacks' own versions.

    A callback whose hook is skorch's do-nothing default is left out.
    """
    listeners = {}
    for hook in _PER_EPOCH_HOOKS:
        default = getattr(Callback, hook)
        methods = (getattr(callback, hook) for _, callback in callbacks)
        listeners[hook] = [
            method
            for method in methods
            if getattr(method, "__func__", None) is not default
        ]
    return listeners


def _module_attributes(net):
    """Return the ``__dict__`` of every module that ``net._set_training`` sets.

    None means some module customises ``train`` or attribute setting, so the
    flag has to be set through ``train()`` itself.
    """
    roots = [getattr(net, name + "_") for name in net._modules + net._criteria]
    modules = [
        module
        for root in roots
        if isinstance(root, nn.Module)
        for module in root.modules()
    ]
    for module in modules:
        kind = type(module)
        if (
            kind.train is not nn.Module.train
            or kind.__setattr__ is not nn.Module.__setattr__
            or "train" in vars(module)
        ):
            return None
    return [vars(module) for module in modules]
