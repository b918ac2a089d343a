"""Data-parallel training through skorch's Hugging Face Accelerate integration.

With ``NetRegressor(data_parallel=True)`` every process started by
``accelerate launch`` or ``torchrun`` runs the same script on the same
data. skorch's ``AccelerateMixin`` wraps the module in
``DistributedDataParallel``, which averages the gradients of the
processes at every update. Accelerate shards a ``DataLoader``, but sknet
slices tensors instead, so the sharding happens here: every process draws
the same batch (the shuffling generator is seeded alike everywhere), takes
its own share of the rows, and scales its loss so that the averaged
gradient is the gradient of the whole batch's loss. One update therefore
does what it does in a single process with the same ``batch_size``, and
every process logs the same losses.
"""

import numpy as np
import torch
from skorch.hf import AccelerateMixin
from torch import nn

from ._training import TrainingNet


def make_accelerator(device):
    """Return an ``accelerate.Accelerator`` for the ``device`` parameter.

    "cpu" keeps every process on the CPU (gloo); anything else lets
    Accelerate give each process its own GPU when there are GPUs.
    """
    try:
        from accelerate import Accelerator
    except ImportError:
        raise ImportError(
            "data_parallel=True trains through Hugging Face Accelerate, which is "
            "not installed; install it with: pip install 'sknet[accelerate]'"
        ) from None
    return Accelerator(cpu=str(device) == "cpu")


def shared_seed(accelerator, seed):
    """Return process 0's ``seed`` in every process."""
    from accelerate.utils import broadcast_object_list

    return (
        int(broadcast_object_list([seed])[0]) if _is_distributed(accelerator) else seed
    )


class _DataParallelSteps:
    """The steps of a TrainingNet that change when training data-parallel."""

    def _initialize_accelerator(self):
        # DistributedDataParallel refuses a module without trainable
        # parameters, which most losses are: prepare only those with some.
        saved = {}
        for name in self._criteria:
            criterion = getattr(self, name + "_")
            if isinstance(criterion, nn.Module) and not _has_trainable(criterion):
                saved[name] = criterion
                setattr(self, name + "_", None)
        try:
            super()._initialize_accelerator()
        finally:
            for name, criterion in saved.items():
                setattr(self, name + "_", criterion)
        return self

    def continue_from(self, previous):
        # The weights are copied into the module that the wrapper holds.
        wrapped = self.module_
        self.module_ = self.accelerator.unwrap_model(wrapped)
        try:
            return super().continue_from(previous)
        finally:
            self.module_ = wrapped

    def get_iterator(self, dataset, training=False):
        # Tensor slices, not a DataLoader: nothing for Accelerate to shard or
        # move, so its preparation is skipped (a copy has no accelerator).
        return TrainingNet.get_iterator(self, dataset, training=training)

    def train_step_single(self, batch, **fit_params):
        """Train on this process's share of ``batch``; return the batch's loss."""
        self._set_training(True)
        X, (y, weight) = batch
        rows = _share(len(X), self.accelerator)
        part_weight = None if weight is None else weight[rows]
        with self.accelerator.autocast():
            y_pred = self.infer(X[rows], **fit_params)
            if len(y_pred) == 0:
                # Still a backward pass through every parameter, as the
                # gradient averaging expects from each process.
                loss = y_pred.sum() * 0.0
            else:
                loss = self.get_loss(y_pred, (y[rows], part_weight), training=True)
                loss = loss * _fraction(rows, len(X), weight, part_weight)
            self.accelerator.backward(loss * self.accelerator.num_processes)
        batch_loss = self.accelerator.reduce(loss.detach(), reduction="sum")
        return {"loss": batch_loss, "y_pred": y_pred}

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        # Predictions move data to the net's device, which Accelerate chose.
        self.device = str(self.accelerator.device)

    def __getstate__(self):
        state = super().__getstate__()
        # The accelerator belongs to the processes that trained; a copy
        # predicts, and continuing to train it needs a new fit.
        state["accelerator"] = None
        state["continuation_refusal"] = (
            "This network was trained data-parallel and then copied, which "
            "leaves its Accelerate state behind, so it cannot continue training "
            "(warm_start=True or partial_fit). Fit it anew."
        )
        return state


def _has_trainable(module):
    return any(parameter.requires_grad for parameter in module.parameters())


def _is_distributed(accelerator):
    return accelerator.num_processes > 1


def _share(n_rows, accelerator):
    """Return the slice of a batch's rows that this process trains on."""
    bounds = np.linspace(0, n_rows, accelerator.num_processes + 1).round().astype(int)
    index = accelerator.process_index
    return slice(int(bounds[index]), int(bounds[index + 1]))


def _fraction(rows, n_rows, weight, part_weight):
    """Return this share's part of the batch: its rows' or weights' fraction."""
    if weight is None:
        return (rows.stop - rows.start) / n_rows
    return part_weight.sum() / weight.sum().clamp_min(torch.finfo(weight.dtype).tiny)


class AcceleratedTrainingNet(_DataParallelSteps, AccelerateMixin, TrainingNet):
    """TrainingNet trained by Accelerate, sharding each batch across processes.

    It takes skorch's ``accelerator`` argument and ``device=None``.
    """
