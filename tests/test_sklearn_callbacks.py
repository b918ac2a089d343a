"""scikit-learn's callback protocol (sklearn.callback, new in 1.9)."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from sknet import NetRegressor

callback = pytest.importorskip("sklearn.callback")

FAST = {"optimizer": "adam", "lr": 0.01, "max_epochs": 6, "random_state": 0}
X = np.random.default_rng(0).normal(size=(30, 3))
y = X.sum(axis=1)


class Recorder:
    """A minimal callback that records the tasks it is told about."""

    def __init__(self, stop_after=None):
        self.stop_after = stop_after

    def setup(self, estimator, context):
        self.ended = []
        self.predictions = []

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator):
        self.ended.append(context.task_name)
        if context.task_name == "epoch":
            self.predictions.append(fitted_estimator.predict(X[:2]))
            n_epochs = self.ended.count("epoch")
            return self.stop_after is not None and n_epochs >= self.stop_after
        return False

    def teardown(self, estimator, context):
        pass


def test_every_epoch_is_a_task_of_the_fit():
    recorder = Recorder()
    reg = NetRegressor(**FAST).set_callbacks(recorder).fit(X, y)
    assert recorder.ended == ["epoch"] * 6 + ["fit"]
    # Each epoch's fitted estimator predicts with the weights of that epoch.
    assert not np.array_equal(recorder.predictions[0], recorder.predictions[-1])
    np.testing.assert_array_equal(recorder.predictions[-1], reg.predict(X[:2]))


def test_a_callback_can_stop_training():
    reg = NetRegressor(**FAST).set_callbacks(Recorder(stop_after=2)).fit(X, y)
    assert reg.n_iter_ == 2


def test_progress_bar_runs_on_a_fit_and_a_search(capsys):
    pytest.importorskip("rich")
    NetRegressor(**FAST).set_callbacks(callback.ProgressBar()).fit(X, y)
    search = GridSearchCV(NetRegressor(**FAST), {"lr": [0.01, 0.1]}, cv=2)
    search.set_callbacks(callback.ProgressBar()).fit(X, y)
    assert len(search.cv_results_["params"]) == 2


def test_callbacks_do_not_change_the_result():
    plain = NetRegressor(**FAST).fit(X, y)
    observed = NetRegressor(**FAST).set_callbacks(Recorder()).fit(X, y)
    np.testing.assert_array_equal(plain.loss_log_, observed.loss_log_)
