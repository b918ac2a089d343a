import numpy as np
import pytest
from skorch.callbacks import EarlyStopping

from sknet import NetRegressor

PARAMS = {"optimizer": "adam", "lr": 0.05, "max_epochs": 500, "random_state": 0}


@pytest.fixture
def noisy_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5))
    y = X[:, 0] + rng.normal(scale=1.0, size=40)
    X_val = rng.normal(size=(40, 5))
    y_val = X_val[:, 0] + rng.normal(scale=1.0, size=40)
    return X, y, X_val, y_val


def test_stops_and_keeps_the_best_epoch(noisy_data):
    X, y, X_val, y_val = noisy_data
    reg = NetRegressor(**PARAMS, early_stopping=True, n_iter_no_change=5)
    reg.fit(X, y, X_val=X_val, y_val=y_val)
    assert reg.n_iter_ < 500
    assert reg.n_iter_ == reg.best_epoch_ + 5
    best_row = reg.loss_log_[reg.best_epoch_ - 1]
    assert best_row[2] == reg.loss_log_[:, 2].min()
    # The returned weights are those of the best epoch.
    from sklearn.metrics import mean_squared_error

    assert mean_squared_error(y_val, reg.predict(X_val)) == pytest.approx(
        best_row[2], rel=1e-10
    )


def test_works_with_validation_fraction(noisy_data):
    X, y, _, _ = noisy_data
    reg = NetRegressor(**PARAMS, early_stopping=True, validation_fraction=0.25)
    reg.fit(X, y)
    assert 1 <= reg.best_epoch_ <= reg.n_iter_


def test_needs_validation_data(noisy_data):
    X, y, _, _ = noisy_data
    reg = NetRegressor(**PARAMS, early_stopping=True)
    with pytest.raises(ValueError, match=r"no validation data.*validation_fraction"):
        reg.fit(X, y)
    assert not hasattr(reg, "loss_log_")


def test_without_early_stopping_there_is_no_best_epoch(noisy_data):
    X, y, X_val, y_val = noisy_data
    reg = NetRegressor(**{**PARAMS, "max_epochs": 5})
    reg.fit(X, y, X_val=X_val, y_val=y_val)
    assert not hasattr(reg, "best_epoch_")


def test_skorch_early_stopping_callback_also_stops_cleanly(noisy_data):
    X, y, X_val, y_val = noisy_data
    stopper = EarlyStopping(patience=3, sink=lambda message: None)
    reg = NetRegressor(**PARAMS, callbacks=[stopper])
    reg.fit(X, y, X_val=X_val, y_val=y_val)
    assert reg.n_iter_ < 500


def test_history_reads_match_skorch(noisy_data):
    from skorch.history import History

    X, y, X_val, y_val = noisy_data
    reg = NetRegressor(**{**PARAMS, "max_epochs": 4})
    reg.fit(X, y, X_val=X_val, y_val=y_val)
    fast = reg.net_.history
    plain = History(list(fast))
    for index in [(-1, "valid_loss"), (0, "train_loss"), (-1, "epoch"), -1]:
        assert fast[index] == plain[index]
    assert fast[:, "valid_loss"] == plain[:, "valid_loss"]
    with pytest.raises(KeyError):
        fast[-1, "missing"]
