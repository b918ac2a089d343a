"""The data of the benchmark scenarios."""

import math
from dataclasses import dataclass

import numpy as np

# The workflow tests on its latest fifth, as the command line does.
TEST_FRACTION = 0.2


@dataclass
class Split:
    """Training rows and the held-out rows evaluated after every epoch."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def workflow_split():
    """Return the workflow's data: quarterly US unemployment changes.

    The 202 quarters of :func:`sknet.datasets.load_unemployment_changes`,
    split in time order with the latest fifth as the test set, and the
    features standardised with the training rows' mean and scale.
    """
    from sknet.datasets import load_unemployment_changes

    X, y = load_unemployment_changes(return_X_y=True)
    n_train = len(y) - math.ceil(TEST_FRACTION * len(y))
    mean, scale = X[:n_train].mean(axis=0), X[:n_train].std(axis=0)
    X = (X - mean) / scale
    return Split(X[:n_train], y[:n_train], X[n_train:], y[n_train:])


def synthetic(n_rows, n_features, dtype=np.float64, seed=0):
    """Return standard normal features and a smooth non-linear target.

    Both are C-contiguous arrays of ``dtype``; the features are drawn in
    that dtype directly, so no float64 copy exists even for a moment.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_features), dtype=dtype)
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] - 0.5 * X[:, 3]
    return X, y.astype(dtype, copy=False)


def megabytes(*arrays):
    return sum(array.nbytes for array in arrays) / 2**20
