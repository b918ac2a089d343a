"""NetRegressor inside scikit-learn's meta-estimators and inspection tools."""

import pickle
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import BaggingRegressor, StackingRegressor, VotingRegressor
from sklearn.inspection import partial_dependence, permutation_importance
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_validate
from sklearn.multioutput import MultiOutputRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknet import NetRegressor

FAST = {"optimizer": "adam", "lr": 0.01, "max_epochs": 30, "random_state": 0}


class TinyNet(torch.nn.Module):
    """A module defined in the calling code rather than in an installed package."""

    def __init__(self, n_input, n_output, width=4):
        super().__init__()
        self.hidden = torch.nn.Linear(n_input, width)
        self.out = torch.nn.Linear(width, n_output)

    def forward(self, X):
        return self.out(torch.tanh(self.hidden(X)))


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(48, 3))
    y = X[:, 0] - 2 * X[:, 1] + 0.5 * X[:, 2] ** 2
    return X, y


def score_columns(results):
    return {
        key: value
        for key, value in results.items()
        if ("score" in key and "time" not in key) or key.startswith("param")
    }


def assert_same_results(first, second):
    first, second = score_columns(first), score_columns(second)
    assert first.keys() == second.keys()
    for key in first:
        if key == "params":
            assert first[key] == second[key]
        else:
            np.testing.assert_array_equal(np.asarray(first[key]), second[key])


def test_grid_search_in_parallel_matches_serial(data):
    X, y = data
    grid = {"lr": [0.003, 0.03], "module__hidden_layer_sizes": [(4,), (8,)]}
    runs = [
        GridSearchCV(NetRegressor(**FAST), grid, cv=3, n_jobs=n_jobs).fit(X, y)
        for n_jobs in (1, 2)
    ]
    assert_same_results(runs[0].cv_results_, runs[1].cv_results_)


def test_randomized_search_in_parallel_matches_serial(data):
    X, y = data
    distributions = {"lr": loguniform(1e-3, 1e-1), "optimizer__weight_decay": [0, 0.1]}
    runs = [
        RandomizedSearchCV(
            NetRegressor(**FAST),
            distributions,
            n_iter=4,
            cv=3,
            n_jobs=n_jobs,
            random_state=0,
        ).fit(X, y)
        for n_jobs in (1, 2)
    ]
    assert_same_results(runs[0].cv_results_, runs[1].cv_results_)


def test_cross_validate_returns_estimators_with_a_local_module(data):
    X, y = data
    reg = NetRegressor(TinyNet, module__width=3, **FAST)
    serial = cross_validate(reg, X, y, cv=3, return_estimator=True)
    parallel = cross_validate(reg, X, y, cv=3, return_estimator=True, n_jobs=2)
    np.testing.assert_array_equal(serial["test_score"], parallel["test_score"])
    for fitted in parallel["estimator"]:
        assert type(fitted.module_).__name__ == "TinyNet"
        assert fitted.predict(X).shape == (48,)


@pytest.mark.parametrize(
    "make_meta",
    [
        lambda reg: make_pipeline(StandardScaler(), reg),
        lambda reg: TransformedTargetRegressor(reg, transformer=StandardScaler()),
        lambda reg: VotingRegressor([("net", reg), ("ridge", Ridge())]),
        lambda reg: StackingRegressor([("net", reg), ("ridge", Ridge())], cv=2),
        lambda reg: BaggingRegressor(reg, n_estimators=3, random_state=0),
    ],
    ids=["pipeline", "transformed-target", "voting", "stacking", "bagging"],
)
def test_meta_estimators_fit_and_predict(data, make_meta):
    X, y = data
    meta = make_meta(NetRegressor(**FAST)).fit(X, y)
    assert meta.predict(X).shape == (48,)
    assert np.isfinite(meta.score(X, y))


def test_multi_output_regressor(data):
    X, y = data
    Y = np.column_stack([y, -y])
    meta = MultiOutputRegressor(NetRegressor(**FAST)).fit(X, Y)
    assert meta.predict(X).shape == (48, 2)


def test_permutation_importance_ranks_the_informative_feature(data):
    X, y = data
    X = np.column_stack([X[:, 1], np.random.default_rng(1).normal(size=48)])
    y = -2 * X[:, 0]
    reg = NetRegressor(**{**FAST, "max_epochs": 200}).fit(X, y)
    result = permutation_importance(reg, X, y, n_repeats=3, random_state=0)
    assert result.importances_mean[0] > result.importances_mean[1]


def test_partial_dependence(data):
    X, y = data
    reg = NetRegressor(**FAST).fit(X, y)
    result = partial_dependence(reg, X, features=[0], grid_resolution=5)
    assert result["average"].shape == (1, 5)


def test_clone_is_unfitted_and_independent(data):
    X, y = data
    reg = NetRegressor(**FAST, module__hidden_layer_sizes=(6,)).fit(X, y)
    copy = clone(reg)
    assert not hasattr(copy, "net_")
    assert copy.get_params() == reg.get_params()
    copy.set_params(module__hidden_layer_sizes=(2,))
    assert reg.module__hidden_layer_sizes == (6,)


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_persistence_round_trips_predict_identically(data, tmp_path, dump):
    X, y = data
    reg = NetRegressor(TinyNet, **FAST).fit(X, y)
    path = tmp_path / "model.bin"
    if dump == "pickle":
        path.write_bytes(pickle.dumps(reg))
        restored = pickle.loads(path.read_bytes())
    else:
        joblib.dump(reg, path)
        restored = joblib.load(path)
    np.testing.assert_array_equal(restored.predict(X), reg.predict(X))
    np.testing.assert_array_equal(restored.loss_log_, reg.loss_log_)


def test_net_beside_ols_in_a_pipeline_grid(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), LinearRegression())
    grid = {"linearregression": [LinearRegression(), NetRegressor(**FAST)]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    assert len(search.cv_results_["mean_test_score"]) == 2


def test_parallel_fits_write_checkpoints_to_separate_folders(data, tmp_path):
    from skorch.callbacks import Checkpoint

    X, y = data
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor="train_loss_best")
    reg = NetRegressor(**FAST, callbacks=[checkpoint])
    results = cross_validate(reg, X, y, cv=3, n_jobs=2, return_estimator=True)
    folders = {fitted.net_.callbacks_[-1][1].dirname for fitted in results["estimator"]}
    assert len(folders) == 3
    for folder in folders:
        assert folder.startswith(str(tmp_path))
        assert (Path(folder) / "params.pt").is_file()
    assert checkpoint.dirname == str(tmp_path)
