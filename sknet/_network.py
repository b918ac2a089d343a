"""The default network: a plain multilayer perceptron."""

import numbers
from collections.abc import Sequence

from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "identity": nn.Identity,
    "elu": nn.ELU,
    "gelu": nn.GELU,
}


class Net(nn.Module):
    """Multilayer perceptron mapping ``n_input`` features to ``n_output`` targets.

    Each hidden layer is a linear map followed by the activation and, when
    ``dropout`` is positive, a dropout layer. The output layer is linear.

    Parameters
    ----------
    n_input : int
        Number of input features. :class:`NetRegressor` sets it from ``X``.
    n_output : int
        Number of targets. :class:`NetRegressor` sets it from ``y``.
    hidden_layer_sizes : sequence of int, default=(32,)
        Width of each hidden layer; an empty sequence gives a linear model.
    activation : {"relu", "tanh", "logistic", "identity", "elu", "gelu"}, \
            default="relu"
        Non-linearity after each hidden layer.
    dropout : float, default=0.0
        Probability of zeroing a hidden unit during training, in [0, 1).

    See Also
    --------
    NetRegressor : The scikit-learn estimator that trains this module.

    Examples
    --------
    >>> import torch
    >>> from sknet import Net
    >>> net = Net(3, 1, hidden_layer_sizes=(8, 4))
    >>> net(torch.zeros(5, 3)).shape
    torch.Size([5, 1])
    """

    def __init__(
        self,
        n_input: int,
        n_output: int,
        hidden_layer_sizes: Sequence[int] = (32,),
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        _check_layer_arguments(hidden_layer_sizes, activation, dropout)
        layers: list[nn.Module] = []
        width = n_input
        for size in map(int, hidden_layer_sizes):
            layers.append(nn.Linear(width, size))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, n_output))
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        return self.layers(X)


def _check_layer_arguments(hidden_layer_sizes, activation, dropout):
    problems = layer_argument_problems(hidden_layer_sizes, activation, dropout)
    if problems:
        raise ValueError("Invalid Net arguments: " + "; ".join(problems) + ".")


def layer_argument_problems(hidden_layer_sizes, activation, dropout):
    """Return a description of each invalid argument of :class:`Net`."""
    problems = []
    if isinstance(hidden_layer_sizes, (numbers.Integral, str)) or not all(
        isinstance(size, numbers.Integral) and not isinstance(size, bool) and size > 0
        for size in hidden_layer_sizes
    ):
        problems.append(
            "hidden_layer_sizes must be a sequence of positive integers such as "
            f"(32,) or (64, 32); got {hidden_layer_sizes!r}"
        )
    if activation not in ACTIVATIONS:
        problems.append(
            f"activation must be one of {sorted(ACTIVATIONS)}; got {activation!r}"
        )
    if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        problems.append(f"dropout must be a number in [0, 1); got {dropout!r}")
    return problems
