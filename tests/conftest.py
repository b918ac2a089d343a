import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _seed_global_generators():
    """Make the data that tests draw from global generators repeatable."""
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture
def linear_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = X @ np.array([1.5, -2.0, 0.5, 0.0]) + 0.3
    return X, y
