"""Training many networks of one shape at once, as stacked tensors.

Every network keeps its own weights, optimizer settings and training rows,
but their weights are stacked along a leading axis, so one forward and one
backward pass serve them all. On small tables this removes the fixed cost
of every PyTorch operation, which is most of the time of a small network.

The networks are independent: network ``k`` only ever sees entry ``k`` of
the stacked tensors, and rows outside its training set carry a weight of
zero in its loss, so their gradient is exactly zero.
"""

import copy
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from ._network import Net


@dataclass
class StackedData:
    """The rows every network shares, and which of them each one uses.

    A fold is not a copy of the rows but two columns of weights on them, so
    memory grows with the number of folds times the rows, never with copies
    of ``X``.

    Attributes
    ----------
    X : Tensor of shape (n_samples, n_features)
    y : Tensor of shape (n_samples, n_outputs)
    fold_weights : Tensor of shape (n_samples, 2 * n_folds)
        Column ``f`` weighs fold ``f``'s training rows (their sample weights,
        zero elsewhere), column ``n_folds + f`` its validation rows (one,
        zero elsewhere); each column sums to one, so a product with per-row
        losses gives mean losses.
    fold_of_network : Tensor of int, shape (n_networks,)
        The fold each network trains on.
    """

    X: torch.Tensor
    y: torch.Tensor
    fold_weights: torch.Tensor
    fold_of_network: torch.Tensor


@dataclass
class StackedSchedule:
    """How long each network trains, and when it stops early.

    Attributes
    ----------
    max_epochs : ndarray of int, shape (n_networks,)
    patience : ndarray of float, shape (n_networks,)
        Epochs without improvement of the validation loss before a network
        stops; ``inf`` turns early stopping off for it.
    tol : ndarray of float, shape (n_networks,)
        Relative improvement that counts, as in :class:`NetRegressor`.
    """

    max_epochs: np.ndarray
    patience: np.ndarray
    tol: np.ndarray


@dataclass
class StackedResult:
    """What a stacked run leaves behind, one entry per network.

    Attributes
    ----------
    losses : ndarray of shape (n_networks, n_epochs, 2)
        Train and validation loss of every epoch; NaN after a network
        stopped.
    n_epochs : ndarray of int
        Epochs each network trained for.
    best_epoch : ndarray of int
        The epoch of the lowest validation loss that early stopping
        restored, or 0 where early stopping was off or never improved.
        :attr:`kept_epoch` is the epoch whose weights each network has.
    diverged : ndarray of bool
        Whether the network's loss stopped being finite.
    params : dict of str to Tensor
        The trained weights, stacked on a leading network axis, as
        ``torch.func.functional_call`` takes them after indexing; the best
        epoch's where early stopping ran.
    """

    losses: np.ndarray
    n_epochs: np.ndarray
    best_epoch: np.ndarray
    diverged: np.ndarray
    params: dict

    @property
    def kept_epoch(self):
        """The epoch whose weights each network ended with.

        Its best epoch where early stopping restored one, else its last.
        """
        return np.where(self.best_epoch > 0, self.best_epoch, self.n_epochs)

    @cached_property
    def kept_valid_loss(self):
        """The validation loss of :attr:`kept_epoch`; NaN where it diverged."""
        loss = self.losses[np.arange(len(self.n_epochs)), self.kept_epoch - 1, 1]
        return np.where(self.diverged, np.nan, loss)


class StackedNetworks:
    """Networks of one architecture whose parameters share stacked tensors.

    Parameters
    ----------
    modules : list of nn.Module
        Initialised networks of identical structure; their weights are
        copied, the modules themselves are not changed.
    """

    def __init__(self, modules):
        if any(True for _ in modules[0].buffers()):
            raise ValueError(
                f"{type(modules[0]).__name__} has buffers (such as BatchNorm's "
                "running statistics), which a vectorised run cannot keep apart "
                "per network. Use GridSearchCV(NetRegressor(...)) for this module."
            )
        params, _ = stack_module_state(modules)
        self.params = {
            name: value.detach().requires_grad_() for name, value in params.items()
        }
        self.n_networks = len(modules)
        layers = _perceptron_layers(modules[0])
        self._kernel = None if layers is None else PerceptronKernel(self, layers)
        # The generic path calls the module's own forward for every network
        # at once; a copy on the meta device supplies the code, not weights.
        self._template = copy.deepcopy(modules[0]).to("meta")

    @property
    def same_in_training_and_evaluation(self):
        """Whether train and eval mode are known to give the same outputs.

        Known only for :class:`Net` without dropout; other modules may read
        ``self.training`` in their forward.
        """
        return self._kernel is not None

    def forward(self, X, training):
        """Return every network's output for ``X``, shape (n_networks, n, n_out).

        When ``training``, the output requires grad, and
        :meth:`gradients` takes the gradient of a loss computed from it.
        """
        if self._kernel is not None:
            output = self._kernel.forward(X)
            return output.requires_grad_() if training else output
        self._template.train(training)
        batched = vmap(self._single_forward, in_dims=(0, None), randomness="different")
        try:
            with torch.set_grad_enabled(training):
                return batched(self.params, X)
        except RuntimeError as error:
            raise ValueError(
                f"{type(self._template).__name__}.forward cannot run for many "
                "networks at once under torch.func.vmap, which NetRegressorCV "
                "needs (typical causes: Python branches on tensor values, .item(), "
                "in-place changes of inputs). Search it with "
                f"GridSearchCV(NetRegressor(...)) instead. vmap said: {error}"
            ) from error

    def gradients(self, loss, output):
        """Return the gradient of ``loss`` for every parameter tensor."""
        if self._kernel is not None:
            (output_grad,) = torch.autograd.grad(loss, output)
            return self._kernel.backward(output_grad)
        return list(torch.autograd.grad(loss, self.parameter_list()))

    def parameter_list(self):
        return list(self.params.values())

    def release_buffers(self):
        """Free the memory kept between epochs, once training is over."""
        if self._kernel is not None:
            self._kernel.release()

    def _single_forward(self, params, X):
        return functional_call(self._template, params, (X,))


def _perceptron_layers(module):
    """Describe a :class:`Net` as ``(weight, bias, activation)`` names, or None.

    Only networks of Linear layers and the activations that
    :class:`PerceptronKernel` differentiates qualify; dropout does not.
    """
    if type(module) is not Net:
        return None
    layers = []
    for index, layer in enumerate(module.layers):
        if isinstance(layer, nn.Linear):
            layers.append([f"layers.{index}.weight", f"layers.{index}.bias", None])
        elif type(layer) in _ACTIVATION_NAMES:
            layers[-1][2] = _ACTIVATION_NAMES[type(layer)]
        else:
            return None
    return [tuple(layer) for layer in layers]


_ACTIVATION_NAMES = {
    nn.ReLU: "relu",
    nn.Tanh: "tanh",
    nn.Sigmoid: "logistic",
    nn.Identity: None,
}


class PerceptronKernel:
    """Forward and backward passes of stacked perceptrons, written out.

    Each layer is one batched matrix product over all networks, and every
    intermediate result goes into a buffer kept from one epoch to the next.
    Autograd would allocate these anew at every epoch; for tensors of a few
    megabytes the memory allocator hands them back to the system in
    between, and the page faults of taking them again cost more than the
    arithmetic.
    """

    def __init__(self, networks, layers):
        self.networks = networks
        self.layers = layers
        self.release()

    def forward(self, X):
        params = self.networks.params
        rows = self._with_ones(X)
        activation = rows.expand(self.networks.n_networks, *rows.shape)
        self.inputs = [activation]
        with torch.no_grad():
            for index, (weight_name, bias_name, kind) in enumerate(self.layers):
                weight, bias = params[weight_name], params[bias_name]
                out = self._buffer(
                    ("out", index), (*activation.shape[:2], bias.shape[1])
                )
                if index == 0:
                    # The first layer's bias is the weight of the column of
                    # ones, so the product adds it without a pass of its own.
                    weight = self._first_weight(weight, bias)
                    torch.bmm(activation, weight.transpose(1, 2), out=out)
                else:
                    torch.baddbmm(
                        bias.unsqueeze(1), activation, weight.transpose(1, 2), out=out
                    )
                _ACTIVATE[kind](out)
                activation = out
                self.inputs.append(activation)
        return activation.clone()

    def backward(self, output_grad):
        params = self.networks.params
        grads = {}
        grad = output_grad
        with torch.no_grad():
            for index in reversed(range(len(self.layers))):
                weight_name, bias_name, _ = self.layers[index]
                weight, bias = params[weight_name], params[bias_name]
                bias_grad = self._buffer(("bias", index), bias.shape)
                if index == 0:
                    # Through the column of ones: the last column of the
                    # product is the bias gradient.
                    shape = (*weight.shape[:2], weight.shape[2] + 1)
                    product = self._weight_grad(index, grad, shape)
                    weight_grad = self._buffer(("weight", index), weight.shape)
                    weight_grad.copy_(product[:, :, :-1])
                    bias_grad.copy_(product[:, :, -1])
                else:
                    weight_grad = self._weight_grad(index, grad, weight.shape)
                    torch.sum(grad, dim=1, out=bias_grad)
                grads[weight_name], grads[bias_name] = weight_grad, bias_grad
                if index > 0:
                    grad = self._input_grad(index, grad, weight)
        return [grads[name] for name in params]

    def _with_ones(self, X):
        """Return ``X`` with a column of ones appended, made once per ``X``."""
        if self._rows_of is not X:
            ones = torch.ones(len(X), 1, dtype=X.dtype, device=X.device)
            self._rows, self._rows_of = torch.cat([X, ones], dim=1), X
        return self._rows

    def _first_weight(self, weight, bias):
        combined = self._buffer("first", (*weight.shape[:2], weight.shape[2] + 1))
        return torch.cat([weight, bias.unsqueeze(2)], dim=2, out=combined)

    def _weight_grad(self, index, grad, shape):
        """Return grad^T @ inputs of layer ``index``, a sum over the rows."""
        inputs = self.inputs[index]
        product = self._buffer(("product", index), shape)
        if shape[1] == 1:
            return torch.bmm(grad.transpose(1, 2), inputs, out=product)
        # With several outputs, inputs^T @ grad and a transpose of the small
        # result run about twice as fast on long tables; with one output the
        # direct order is the fast one.
        transposed = self._buffer(("transposed", index), (shape[0], *shape[:0:-1]))
        torch.bmm(inputs.transpose(1, 2), grad, out=transposed)
        return product.copy_(transposed.transpose(1, 2))

    def _input_grad(self, index, grad, weight):
        """Back-propagate through layer ``index`` and the activation before it."""
        below = self.inputs[index]
        input_grad = self._buffer(("input", index), below.shape)
        if weight.shape[1] == 1:
            # One output unit: an outer product, faster as a broadcast product.
            torch.mul(grad, weight, out=input_grad)
        else:
            torch.bmm(grad, weight, out=input_grad)
        kind = self.layers[index - 1][2]
        if kind == "relu":
            # The gradient where the unit was active, in one pass.
            torch.ops.aten.threshold_backward.grad_input(
                input_grad, below, 0, grad_input=input_grad
            )
        elif kind is not None:
            derivative = self._buffer(("derivative", index), below.shape)
            _DERIVATIVE[kind](below, derivative)
            input_grad.mul_(derivative)
        return input_grad

    def release(self):
        self.buffers = {}
        self.inputs = []
        self._rows = self._rows_of = None

    def _buffer(self, key, shape):
        buffer = self.buffers.get(key)
        if buffer is None or buffer.shape != torch.Size(shape):
            reference = self.networks.parameter_list()[0]
            buffer = torch.empty(shape, dtype=reference.dtype, device=reference.device)
            self.buffers[key] = buffer
        return buffer


def _logistic_derivative(activation, out):
    torch.mul(activation, activation, out=out)
    torch.sub(activation, out, out=out)


def _tanh_derivative(activation, out):
    torch.mul(activation, activation, out=out)
    out.neg_().add_(1)


# In-place activations, and their derivatives written from their outputs.
_ACTIVATE = {
    None: lambda out: out,
    "relu": torch.relu_,
    "tanh": torch.tanh_,
    "logistic": torch.sigmoid_,
}
_DERIVATIVE = {
    "tanh": _tanh_derivative,
    "logistic": _logistic_derivative,
}


class StackedSGD:
    """``torch.optim.SGD``'s update, with settings that differ per network.

    :meth:`set_active` names the networks that the next steps update; the
    others keep their weights.
    """

    def __init__(self, params, settings, device, dtype):
        self.weights = [param.detach() for param in params]
        self.lr = _per_network(settings, "lr", device, dtype)
        momentum = _per_network(settings, "momentum", device, dtype)
        # torch ignores dampening where momentum is zero.
        dampening = _per_network(settings, "dampening", device, dtype)
        undamped = torch.where(momentum == 0, 1.0, 1 - dampening)
        nesterov = _per_network(settings, "nesterov", device, dtype)
        weight_decay = _per_network(settings, "weight_decay", device, dtype)
        self.uses_momentum = bool((momentum != 0).any())
        self.decays = bool((weight_decay != 0).any())
        self.momentum = _per_parameter(momentum, params)
        self.undamped = _per_parameter(undamped, params)
        self.nesterov = _per_parameter(nesterov, params)
        self.weight_decay = _per_parameter(weight_decay, params)
        self.buffers = None
        self.rates = None

    def set_active(self, active):
        self.rates = _per_parameter(self.lr * active, self.weights)

    def step(self, grads):
        updates = grads
        if self.decays:
            decay = torch._foreach_mul(self.weights, self.weight_decay)
            updates = torch._foreach_add(updates, decay)
        if self.uses_momentum:
            updates = self._momentum(updates)
        torch._foreach_mul_(updates, self.rates)
        torch._foreach_sub_(self.weights, updates)

    def _momentum(self, updates):
        if self.buffers is None:
            self.buffers = [update.clone() for update in updates]
        else:
            for buffer, update, momentum, undamped in zip(
                self.buffers, updates, self.momentum, self.undamped, strict=True
            ):
                buffer.mul_(momentum).add_(undamped * update)
        return [
            nesterov * (update + momentum * buffer) + (1 - nesterov) * buffer
            for update, buffer, momentum, nesterov in zip(
                updates, self.buffers, self.momentum, self.nesterov, strict=True
            )
        ]


class StackedAdam:
    """``torch.optim.Adam``'s (or AdamW's) update, settings per network."""

    def __init__(self, params, settings, device, dtype, decoupled):
        self.weights = [param.detach() for param in params]
        self.lr = _per_network(settings, "lr", device, dtype)
        self.beta1 = torch.tensor(
            [setting["betas"][0] for setting in settings], device=device, dtype=dtype
        )
        self.beta2 = torch.tensor(
            [setting["betas"][1] for setting in settings], device=device, dtype=dtype
        )
        self.eps = _per_parameter(_per_network(settings, "eps", device, dtype), params)
        weight_decay = _per_network(settings, "weight_decay", device, dtype)
        self.weight_decay = _per_parameter(weight_decay, params)
        self.decoupled = decoupled
        self.steps = torch.zeros(len(settings), device=device, dtype=dtype)
        self.first_moments = [torch.zeros_like(p) for p in params]
        self.second_moments = [torch.zeros_like(p) for p in params]
        self.active = None

    def set_active(self, active):
        self.active = active

    def step(self, grads):
        lr = self.lr * self.active
        self.steps += self.active
        steps = self.steps.clamp_min(1)
        step_sizes = _per_parameter(lr / (1 - self.beta1**steps), self.weights)
        corrections = _per_parameter(torch.sqrt(1 - self.beta2**steps), self.weights)
        rates = _per_parameter(lr, self.weights)
        betas1 = _per_parameter(self.beta1, self.weights)
        betas2 = _per_parameter(self.beta2, self.weights)
        for index, (weight, grad) in enumerate(zip(self.weights, grads, strict=True)):
            first, second = self.first_moments[index], self.second_moments[index]
            weight_decay = self.weight_decay[index]
            if self.decoupled:
                weight.mul_(1 - rates[index] * weight_decay)
            else:
                grad = grad + weight_decay * weight
            first.lerp_(grad, 1 - betas1[index])
            second.mul_(betas2[index]).add_((1 - betas2[index]) * grad * grad)
            denominator = second.sqrt() / corrections[index]
            denominator.add_(self.eps[index])
            weight.sub_(step_sizes[index] * first / denominator)


# Optimizer settings a vectorised run reproduces, and those it cannot.
_UNSUPPORTED_SETTINGS = {"maximize": False, "amsgrad": False}


def stacked_optimizer(optimizers, params, device, dtype):
    """Return the stacked optimizer that applies each network's own optimizer.

    Parameters
    ----------
    optimizers : list of torch.optim.Optimizer
        One optimizer per network, built as :class:`NetRegressor` builds it;
        only their class and settings are read.
    """
    kinds = {type(optimizer) for optimizer in optimizers}
    kind = kinds.pop()
    settings = [optimizer.param_groups[0] for optimizer in optimizers]
    if kinds or any(len(optimizer.param_groups) != 1 for optimizer in optimizers):
        raise ValueError("A vectorised run needs one optimizer class for all networks.")
    for name, supported in _UNSUPPORTED_SETTINGS.items():
        if any(setting.get(name, supported) != supported for setting in settings):
            raise ValueError(
                f"optimizer__{name}={not supported} is not supported by "
                "NetRegressorCV's vectorised training. Drop it, or search with "
                "GridSearchCV(NetRegressor(...))."
            )
    if kind is torch.optim.SGD:
        return StackedSGD(params, settings, device, dtype)
    if kind in (torch.optim.Adam, torch.optim.AdamW):
        decoupled = kind is torch.optim.AdamW
        return StackedAdam(params, settings, device, dtype, decoupled)
    raise ValueError(
        f"NetRegressorCV trains SGD, Adam and AdamW networks side by side, not "
        f"{kind.__name__}. Use one of those optimizers, or search with "
        "GridSearchCV(NetRegressor(...))."
    )


def _per_network(settings, name, device, dtype):
    values = [float(setting[name]) for setting in settings]
    return torch.tensor(values, device=device, dtype=dtype)


def _shaped(values, like):
    """View per-network ``values`` so they broadcast over a stacked tensor."""
    return values.view(-1, *([1] * (like.dim() - 1)))


def _per_parameter(values, params):
    """Per-network ``values`` shaped for each stacked parameter tensor."""
    return [_shaped(values, param) for param in params]


class StackedRun:
    """Train stacked networks epoch by epoch, as NetRegressor trains one.

    Each epoch is one full-batch update per network. The train loss of an
    epoch is taken on the forward pass before the update, and the
    validation loss after it, as in :class:`NetRegressor`. For networks
    that compute the same in train and eval mode, the validation loss of
    an epoch is read from the next epoch's forward pass, which sees the same
    weights, so validation costs no extra pass.

    A network stops for good when it reaches its ``max_epochs``, when early
    stopping ends it, or when its loss stops being finite. The set of
    networks being updated is recomputed only when one of these happens.
    """

    def __init__(self, networks, optimizer, criterion, data, schedule):
        self.networks = networks
        self.optimizer = optimizer
        self.criterion = criterion
        self.data = data
        self.schedule = schedule
        device, dtype = data.X.device, data.X.dtype
        count = networks.n_networks
        self.max_epochs = torch.as_tensor(schedule.max_epochs, device=device)
        self.patience = torch.as_tensor(schedule.patience, device=device)
        self.tol = torch.as_tensor(schedule.tol, device=device, dtype=dtype)
        self.running = torch.ones(count, dtype=torch.bool, device=device)
        self.running_changed = True
        self.diverged = torch.zeros(count, dtype=torch.bool, device=device)
        self.n_epochs = torch.zeros(count, dtype=torch.long, device=device)
        self.misses = torch.zeros(count, dtype=torch.long, device=device)
        self.best_epoch = torch.zeros(count, dtype=torch.long, device=device)
        self.threshold = torch.full((count,), math.inf, device=device, dtype=dtype)
        last = int(schedule.max_epochs.max(initial=0))
        self.losses = torch.full((last, 2, count), math.nan, dtype=dtype, device=device)
        # Where each network's train and validation loss sit among the
        # products of its per-row losses with every fold's weights.
        n_folds = data.fold_weights.shape[1] // 2
        self.loss_columns = torch.stack(
            [data.fold_of_network, data.fold_of_network + n_folds], dim=1
        )
        self.stops_early = torch.isfinite(self.patience)
        self.early_stopping = bool(self.stops_early.any())
        self.best_params = None
        if self.early_stopping:
            self.best_params = [p.detach().clone() for p in networks.parameter_list()]
        self.shared_forward = networks.same_in_training_and_evaluation

    def run(self, on_epoch=None):
        """Train every network; return a :class:`StackedResult`.

        ``on_epoch``, if given, is called with each epoch number as it ends.
        """
        last = self.losses.shape[0]
        epochs_that_end = {int(e) for e in self.schedule.max_epochs}
        active = None
        for epoch in range(1, last + 2):
            training = epoch <= last
            with torch.set_grad_enabled(training):
                losses = self._mean_losses(training=True)
            if self.shared_forward and active is not None:
                self._end_epoch(epoch - 1, active, losses[1].detach())
            if not training:
                break
            if self.running_changed or (epoch - 1) in epochs_that_end:
                active = self.running & (epoch <= self.max_epochs)
                self.running_changed = False
                if not bool(active.any()):
                    break
                self.optimizer.set_active(active.to(self.data.X.dtype))
            active = self._train_step(epoch, active, losses[0])
            if not self.shared_forward:
                with torch.no_grad():
                    valid_loss = self._mean_losses(training=False)[1]
                self._end_epoch(epoch, active, valid_loss)
            if on_epoch is not None:
                on_epoch(epoch)
        self._restore_best()
        self.networks.release_buffers()
        return self._result()

    def _mean_losses(self, training):
        """Return each network's train and validation loss, shape (2, n)."""
        output = self.networks.forward(self.data.X, training)
        expected = (self.networks.n_networks, *self.data.y.shape)
        if output.shape != expected:
            raise ValueError(
                f"The module returned outputs of shape {tuple(output.shape[1:])} "
                f"for targets of shape {tuple(self.data.y.shape)}. Its forward "
                "must return one column per target, shape (n_samples, n_output)."
            )
        self.output = output
        per_entry = self.criterion(output, self.data.y.expand_as(output))
        per_row = per_entry[..., 0] if per_entry.shape[2] == 1 else per_entry.mean(2)
        by_fold = per_row @ self.data.fold_weights
        return by_fold.gather(1, self.loss_columns).T

    def _train_step(self, epoch, active, train_loss):
        self.losses[epoch - 1, 0] = train_loss.detach()
        self.n_epochs += active
        newly_diverged = active & ~torch.isfinite(train_loss)
        if bool(newly_diverged.any()):
            self._stop(newly_diverged, diverged=True)
            active = active & ~newly_diverged
            self.optimizer.set_active(active.to(self.data.X.dtype))
        # Networks that do not train drop out of the sum, so a diverged one
        # gets a zero gradient rather than NaN.
        total = torch.where(active, train_loss, 0.0).sum()
        grads = self.networks.gradients(total, self.output)
        with torch.no_grad():
            self.optimizer.step(grads)
        return active

    def _end_epoch(self, epoch, trained, valid_loss):
        self.losses[epoch - 1, 1] = valid_loss
        newly_diverged = trained & ~torch.isfinite(valid_loss)
        if bool(newly_diverged.any()):
            self._stop(newly_diverged, diverged=True)
            trained = trained & ~newly_diverged
        if self.early_stopping:
            self._early_stopping(epoch, trained, valid_loss)

    def _early_stopping(self, epoch, trained, valid_loss):
        # skorch's EarlyStopping, per network: an epoch improves when its
        # loss is below the best one less a relative tol.
        improved = trained & self.stops_early & (valid_loss < self.threshold)
        missed = trained & ~improved
        self.misses = torch.where(improved, 0, self.misses + missed.long())
        self.threshold = torch.where(
            improved, valid_loss - self.tol * valid_loss, self.threshold
        )
        self.best_epoch = torch.where(improved, epoch, self.best_epoch)
        if bool(improved.any()):
            for best, param in zip(
                self.best_params, self.networks.parameter_list(), strict=True
            ):
                best.copy_(torch.where(_shaped(improved, best), param.detach(), best))
        out_of_patience = self.running & (self.misses >= self.patience)
        if bool(out_of_patience.any()):
            self._stop(out_of_patience)

    def _stop(self, networks, diverged=False):
        if diverged:
            self.diverged |= networks
        self.running &= ~networks
        self.running_changed = True

    def _restore_best(self):
        if not self.early_stopping:
            return
        restore = (self.best_epoch > 0) & ~self.diverged
        with torch.no_grad():
            for best, param in zip(
                self.best_params, self.networks.parameter_list(), strict=True
            ):
                param.copy_(torch.where(_shaped(restore, best), best, param))

    def _result(self):
        losses = self.losses.permute(2, 0, 1).cpu().numpy()
        n_epochs = self.n_epochs.cpu().numpy()
        diverged = self.diverged.cpu().numpy()
        # Nothing was logged for a network after it stopped; a diverged one
        # has no validation loss for the epoch whose training loss failed.
        after_stop = np.arange(losses.shape[1]) >= n_epochs[:, None]
        losses[after_stop] = np.nan
        losses[diverged, n_epochs[diverged] - 1, 1] = np.nan
        return StackedResult(
            losses=losses,
            n_epochs=n_epochs,
            best_epoch=self.best_epoch.cpu().numpy(),
            diverged=diverged,
            params={
                name: value.detach() for name, value in self.networks.params.items()
            },
        )
