"""The fast epoch loop of TrainingNet gives what a plain PyTorch loop gives.

NetRegressor trains through shortcuts (tensor batches, a fused loss, flags
set without walking the module tree, callbacks called only for the hooks
they override). These tests hold each shortcut to the straightforward path.
"""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from torch import nn

from sknet import Net, NetRegressor

SEED = 7


@pytest.fixture
def split_data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 5))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=90)
    return X[:70], y[:70], X[70:], y[70:]


def _reference_fit(X, y, X_val, y_val, *, epochs, lr, batch_size, dtype):
    """Train the default network by hand, seeded as NetRegressor seeds it.

    Returns the ``[epoch, train_loss, valid_loss]`` rows and the trained
    module. Each epoch loss is the row-weighted mean of the batch losses.
    """
    torch_seed = int(np.random.SeedSequence([SEED, 0]).generate_state(1)[0])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(torch_seed)
        module = Net(X.shape[1], 1).to(dtype)
    optimizer = torch.optim.SGD(module.parameters(), lr=lr)
    criterion = nn.MSELoss()

    def tensors(A, b):
        return torch.tensor(A, dtype=dtype), torch.tensor(b, dtype=dtype)[:, None]

    train, valid = tensors(X, y), tensors(X_val, y_val)
    size = batch_size or len(X)
    rows = []
    for epoch in range(1, epochs + 1):
        module.train()
        train_sums = [0.0, 0.0]
        for start in range(0, len(X), size):
            inputs, targets = (t[start : start + size] for t in train)
            optimizer.zero_grad()
            loss = criterion(module(inputs), targets)
            loss.backward()
            optimizer.step()
            train_sums[0] += loss.item() * float(len(inputs))
            train_sums[1] += float(len(inputs))
        module.eval()
        valid_sums = [0.0, 0.0]
        with torch.no_grad():
            for start in range(0, len(X_val), size):
                inputs, targets = (t[start : start + size] for t in valid)
                loss = criterion(module(inputs), targets)
                valid_sums[0] += loss.item() * float(len(inputs))
                valid_sums[1] += float(len(inputs))
        rows.append(
            (epoch, train_sums[0] / train_sums[1], valid_sums[0] / valid_sums[1])
        )
    return np.array(rows), module


@pytest.mark.parametrize(
    ("batch_size", "dtype"),
    [(None, "float64"), (None, "float32"), (16, "float64"), (16, "float32")],
)
def test_fit_matches_a_plain_pytorch_loop(split_data, batch_size, dtype):
    X, y, X_val, y_val = (array.astype(dtype) for array in split_data)
    reg = NetRegressor(
        lr=0.01,
        max_epochs=25,
        batch_size=batch_size,
        shuffle=False,
        random_state=SEED,
    ).fit(X, y, X_val=X_val, y_val=y_val)

    expected_log, module = _reference_fit(
        X,
        y,
        X_val,
        y_val,
        epochs=25,
        lr=0.01,
        batch_size=batch_size,
        dtype=getattr(torch, dtype),
    )
    with torch.no_grad():
        expected_predictions = module(torch.from_numpy(X_val)).numpy().ravel()

    np.testing.assert_array_equal(reg.loss_log_, expected_log)
    np.testing.assert_array_equal(reg.predict(X_val), expected_predictions)


@pytest.mark.parametrize(
    "criterion",
    [
        nn.MSELoss(),
        nn.L1Loss(),
        nn.HuberLoss(delta=0.7),
        nn.SmoothL1Loss(beta=0.3),
    ],
    ids=lambda criterion: type(criterion).__name__,
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(1, 1), (7, 1), (160, 1), (1000, 3)])
def test_fused_mean_loss_equals_mean_of_unreduced_loss(criterion, dtype, shape):
    # TrainingNet computes an unweighted loss with reduction="mean" instead
    # of reduction="none" followed by .mean(); both must agree to the bit,
    # in the loss and in the gradient.
    generator = torch.Generator().manual_seed(shape[0])
    y_pred = torch.randn(shape, dtype=dtype, generator=generator, requires_grad=True)
    y = torch.randn(shape, dtype=dtype, generator=generator)
    unreduced = type(criterion)(**_loss_arguments(criterion), reduction="none")

    fused = criterion(y_pred, y)
    (fused_grad,) = torch.autograd.grad(fused, y_pred)
    two_step = unreduced(y_pred, y).mean()
    (two_step_grad,) = torch.autograd.grad(two_step, y_pred)

    assert torch.equal(fused, two_step)
    assert torch.equal(fused_grad, two_step_grad)


def _loss_arguments(criterion):
    if isinstance(criterion, nn.HuberLoss):
        return {"delta": criterion.delta}
    if isinstance(criterion, nn.SmoothL1Loss):
        return {"beta": criterion.beta}
    return {}


class HookCounter(Callback):
    """Count the calls of every per-epoch and per-batch hook."""

    def initialize(self):
        self.counts_ = dict.fromkeys(
            [
                "on_epoch_begin",
                "on_epoch_end",
                "on_batch_begin",
                "on_batch_end",
                "on_grad_computed",
                "parameters_seen",
            ],
            0,
        )
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.counts_["on_epoch_begin"] += 1

    def on_epoch_end(self, net, **kwargs):
        self.counts_["on_epoch_end"] += 1

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        self.counts_["on_batch_begin"] += 1

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        assert loss.dim() == 0
        self.counts_["on_batch_end"] += 1

    def on_grad_computed(self, net, named_parameters, **kwargs):
        self.counts_["on_grad_computed"] += 1
        self.counts_["parameters_seen"] += len(list(named_parameters))


def test_callbacks_get_every_hook_they_override(split_data):
    X, y, X_val, y_val = split_data
    reg = NetRegressor(max_epochs=3, batch_size=32, callbacks=[HookCounter()])
    reg.fit(X, y, X_val=X_val, y_val=y_val)
    # The net trains with a copy of each callback passed to the estimator.
    counter = reg.net_.callbacks_[-1][1]
    train_batches, valid_batches = 3, 1  # 70 rows and 20 rows, 32 a batch
    assert counter.counts_ == {
        "on_epoch_begin": 3,
        "on_epoch_end": 3,
        "on_batch_begin": 3 * (train_batches + valid_batches),
        "on_batch_end": 3 * (train_batches + valid_batches),
        "on_grad_computed": 3 * train_batches,
        "parameters_seen": 3 * train_batches * 4,  # two weights, two biases
    }


def test_history_records_every_batch(split_data):
    X, y, X_val, y_val = split_data
    reg = NetRegressor(max_epochs=2, batch_size=32).fit(X, y, X_val=X_val, y_val=y_val)
    history = reg.net_.history
    assert history[:, "epoch"] == [1, 2]
    assert history[-1, "train_batch_count"] == 3
    assert history[-1, "valid_batch_count"] == 1
    assert history[-1, "batches", :, "train_batch_size"] == [32, 32, 6]
    assert history[-1, "batches", :, "valid_batch_size"] == [20]
    assert all(isinstance(loss, float) for loss in history[:, "valid_loss"])


class FlagRecorder(nn.Module):
    """The default network, remembering the training flags of each forward."""

    def __init__(self, n_input, n_output):
        super().__init__()
        self.net = Net(n_input, n_output)
        self.flags = []

    def forward(self, X):
        flags = {module.training for module in self.modules()}
        self.flags.append((torch.is_grad_enabled(), flags))
        return self.net(X)


def test_every_module_is_in_train_mode_to_train_and_eval_mode_to_validate(
    split_data,
):
    X, y, X_val, y_val = split_data
    reg = NetRegressor(FlagRecorder, max_epochs=3).fit(X, y, X_val=X_val, y_val=y_val)
    # Each epoch: one training forward with gradients, one validation
    # forward without; then the constant-prediction check.
    epochs = reg.module_.flags[:6]
    assert epochs == [(True, {True}), (False, {False})] * 3
    assert reg.module_.training is False


class AlwaysDropping(nn.Module):
    """A network whose dropout stays on in eval mode, through its own train()."""

    def __init__(self, n_input, n_output):
        super().__init__()
        self.dropout = nn.Dropout(0.5)
        self.linear = nn.Linear(n_input, n_output)
        self.train_calls = 0

    def train(self, mode=True):
        self.train_calls += 1
        super().train(mode)
        self.dropout.train(True)
        return self

    def forward(self, X):
        return self.linear(self.dropout(X))


def test_a_module_with_its_own_train_method_is_switched_through_it(split_data):
    X, y, X_val, y_val = split_data
    reg = NetRegressor(AlwaysDropping, max_epochs=4, random_state=0).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    assert reg.module_.train_calls >= 8  # twice per epoch at least
    assert reg.module_.dropout.training
    # Dropout still active in eval mode: two predictions differ.
    assert not np.array_equal(reg.predict(X_val), reg.predict(X_val))


class CountingSGD(torch.optim.SGD):
    """SGD that counts its zero_grad calls."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.zero_grad_calls = 0

    def zero_grad(self, set_to_none=True):
        self.zero_grad_calls += 1
        super().zero_grad(set_to_none=set_to_none)


def test_an_optimizer_with_its_own_zero_grad_gets_called(split_data):
    X, y, _, _ = split_data
    reg = NetRegressor(optimizer=CountingSGD, max_epochs=3, batch_size=35).fit(X, y)
    assert reg.net_.optimizer_.zero_grad_calls == 3 * 2


def test_gradients_do_not_accumulate_across_batches(split_data):
    # With the fast zero_grad, each batch's update uses that batch's gradient
    # only: the result equals the plain loop, which calls zero_grad itself.
    X, y, X_val, y_val = split_data
    fast = NetRegressor(lr=0.05, max_epochs=5, batch_size=10, shuffle=False)
    counted = NetRegressor(
        optimizer=CountingSGD, lr=0.05, max_epochs=5, batch_size=10, shuffle=False
    )
    for reg in (fast, counted):
        reg.set_params(random_state=SEED).fit(X, y, X_val=X_val, y_val=y_val)
    np.testing.assert_array_equal(fast.loss_log_, counted.loss_log_)
