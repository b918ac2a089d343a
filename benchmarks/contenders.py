"""NetRegressor and the contenders it is measured against.

Every contender trains the same network (:class:`sknet.Net`, one hidden
ReLU layer) with the same loss (mean squared error), optimizer (plain SGD),
learning rate, batches and epochs, starting from NumPy arrays, and returns
what it trained. All computation follows the dtype of the data.
"""

import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from skorch import NeuralNetRegressor
from skorch.dataset import Dataset
from skorch.helper import predefined_split
from torch import nn

from sknet import Net, NetRegressor

LR = 0.001


# -- the workflow: full batch, the test rows evaluated after every epoch --


def hand_workflow(split, epochs, seed=0):
    """Train as the hand-written PyTorch workflow does.

    Each epoch: ``net.train()``, ``zero_grad``, forward, ``MSELoss``,
    backward, ``step`` and ``loss.item()``; then ``net.eval()``, a forward
    of the test rows under ``torch.no_grad`` and a log row made with
    ``np.array``.
    """
    torch.manual_seed(seed)
    inputs_train = torch.from_numpy(split.X_train)
    labels_train = torch.from_numpy(split.y_train).reshape(-1, 1)
    inputs_test = torch.from_numpy(split.X_test)
    labels_test = torch.from_numpy(split.y_test).reshape(-1, 1)
    net = Net(inputs_train.shape[1], 1).to(inputs_train.dtype)
    criterion = nn.MSELoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)

    loss_log = []
    for epoch in range(epochs):
        net.train()
        optimizer.zero_grad()
        outputs_train = net(inputs_train)
        loss = criterion(outputs_train, labels_train)
        loss.backward()
        optimizer.step()
        train_loss = loss.item()

        net.eval()
        with torch.no_grad():
            outputs_test = net(inputs_test)
            loss_test = criterion(outputs_test, labels_test)
            val_loss = loss_test.item()

        item = np.array([epoch, train_loss, val_loss])
        loss_log.append(item)
    return net, np.array(loss_log)


def sknet_workflow(split, epochs, seed=0):
    reg = NetRegressor(lr=LR, max_epochs=epochs, random_state=seed)
    return reg.fit(split.X_train, split.y_train, X_val=split.X_test, y_val=split.y_test)


def skorch_workflow(split, epochs, seed=0):
    test = Dataset(split.X_test, split.y_test.reshape(-1, 1))
    net = NeuralNetRegressor(
        _seeded_net(split.X_train, seed),
        criterion=nn.MSELoss,
        optimizer=torch.optim.SGD,
        lr=LR,
        max_epochs=epochs,
        batch_size=-1,
        train_split=predefined_split(test),
        verbose=0,
    )
    return net.fit(split.X_train, split.y_train.reshape(-1, 1))


def mlp_workflow(split, epochs, seed=0):
    # MLPRegressor has no validation data of its own: it only trains.
    return _mlp(len(split.y_train), epochs, seed).fit(split.X_train, split.y_train)


WORKFLOW = {
    "NetRegressor": sknet_workflow,
    "hand loop": hand_workflow,
    "skorch": skorch_workflow,
    "MLPRegressor": mlp_workflow,
}


# -- training only, in full batch (batch_size=None) or mini-batches ------


def hand_batches(X, y, epochs, batch_size=None, hidden=32, seed=0):
    """Train by hand, reshuffling the rows each epoch for mini-batches.

    As NetRegressor does, a full batch is the tensors themselves and a
    mini-batch gathers its rows through a fresh permutation.
    """
    torch.manual_seed(seed)
    inputs = torch.from_numpy(X)
    labels = torch.from_numpy(y).reshape(-1, 1)
    net = Net(inputs.shape[1], 1, hidden_layer_sizes=(hidden,)).to(inputs.dtype)
    criterion = nn.MSELoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)

    loss_log = []
    for epoch in range(epochs):
        net.train()
        if batch_size is None:
            batches = [(inputs, labels)]
        else:
            order = torch.randperm(len(inputs))
            batches = ((inputs[rows], labels[rows]) for rows in order.split(batch_size))
        total = 0.0
        for inputs_batch, labels_batch in batches:
            optimizer.zero_grad()
            loss = criterion(net(inputs_batch), labels_batch)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(inputs_batch)
        loss_log.append(np.array([epoch, total / len(inputs)]))
    return net, np.array(loss_log)


def sknet_batches(
    X, y, epochs, batch_size=None, hidden=32, seed=0, callbacks=None, dtype=None
):
    reg = NetRegressor(
        lr=LR,
        max_epochs=epochs,
        batch_size=batch_size,
        random_state=seed,
        module__hidden_layer_sizes=(hidden,),
        callbacks=callbacks,
        dtype=dtype,
    )
    return reg.fit(X, y)


def skorch_batches(X, y, epochs, batch_size=None, hidden=32, seed=0):
    net = NeuralNetRegressor(
        _seeded_net(X, seed, hidden),
        criterion=nn.MSELoss,
        optimizer=torch.optim.SGD,
        lr=LR,
        max_epochs=epochs,
        batch_size=-1 if batch_size is None else batch_size,
        iterator_train__shuffle=batch_size is not None,
        train_split=None,
        verbose=0,
    )
    return net.fit(X, y.reshape(-1, 1))


def mlp_batches(X, y, epochs, batch_size=None, hidden=32, seed=0):
    mlp = _mlp(batch_size or len(y), epochs, seed, hidden)
    return mlp.set_params(shuffle=batch_size is not None).fit(X, y)


BATCHES = {
    "NetRegressor": sknet_batches,
    "hand loop": hand_batches,
    "skorch": skorch_batches,
    "MLPRegressor": mlp_batches,
}


# -- prediction ------------------------------------------------------------


def raw_forward(module, X):
    """Predict with the bare module: one forward under inference_mode."""
    with torch.inference_mode():
        return module(torch.from_numpy(X)).numpy().ravel()


# -- helpers ---------------------------------------------------------------


def _seeded_net(X, seed, hidden=32):
    torch.manual_seed(seed)
    return Net(X.shape[1], 1, hidden_layer_sizes=(hidden,)).to(_torch_dtype(X))


def _torch_dtype(X):
    return torch.float32 if X.dtype == np.float32 else torch.float64


def _mlp(batch_size, epochs, seed, hidden=32):
    """MLPRegressor set to run plain SGD for exactly ``epochs`` epochs."""
    return _QuietMLPRegressor(
        hidden_layer_sizes=(hidden,),
        solver="sgd",
        learning_rate="constant",
        learning_rate_init=LR,
        momentum=0.0,
        nesterovs_momentum=False,
        alpha=0.0,
        batch_size=batch_size,
        max_iter=epochs,
        shuffle=False,
        early_stopping=False,
        tol=0.0,
        n_iter_no_change=max(epochs, 1),
        random_state=seed,
    )


class _QuietMLPRegressor(MLPRegressor):
    """MLPRegressor without the warning that it stopped at max_iter."""

    def fit(self, X, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return super().fit(X, y)
