"""NetRegressorCV: vectorised cross-validation against fits one by one."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from torch import nn

import sknet._cv
from sknet import (
    CVLossCurveDisplay,
    LossCurveDisplay,
    NetRegressor,
    NetRegressorCV,
    SknetWarning,
    TrainingDivergedError,
)

# Float64 runs agree with separate fits to about 1e-14 in these cases; the
# tolerance leaves room for rounding that grows over the epochs.
RTOL = 1e-9


class TanhNet(nn.Module):
    """A module of the user's own, trained through torch.func.vmap."""

    def __init__(self, n_input, n_output, width=6):
        super().__init__()
        self.hidden = nn.Linear(n_input, width)
        self.out = nn.Linear(width, n_output)

    def forward(self, X):
        return self.out(torch.tanh(self.hidden(X)))


class BranchingNet(nn.Module):
    """Trains alone, but branches on a tensor's value, which vmap refuses."""

    def __init__(self, n_input, n_output):
        super().__init__()
        self.out = nn.Linear(n_input, n_output)

    def forward(self, X):
        output = self.out(X)
        return output if output.sum() > 0 else -output


class FlatNet(nn.Module):
    """Returns shape (n,) instead of (n, 1)."""

    def __init__(self, n_input, n_output):
        super().__init__()
        self.out = nn.Linear(n_input, n_output)

    def forward(self, X):
        return self.out(X)[:, 0]


class NormedNet(nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.norm = nn.BatchNorm1d(n_input)
        self.out = nn.Linear(n_input, n_output)

    def forward(self, X):
        return self.out(self.norm(X))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = X @ [1.0, -2.0, 0.5] + np.sin(X[:, 0]) + 0.1 * rng.standard_normal(60)
    return X, y


def separate_fit(settings, X, y, train, test, sample_weight=None):
    weights = None if sample_weight is None else sample_weight[train]
    return NetRegressor(**settings).fit(
        X[train], y[train], weights, X_val=X[test], y_val=y[test]
    )


def assert_matches_separate_fits(search, base, X, y, cv, sample_weight=None):
    """Every fold x candidate log equals a NetRegressor fitted on that fold."""
    for candidate, params in enumerate(search.cv_results_["params"]):
        for fold, (train, test) in enumerate(cv.split(X, y)):
            reference = separate_fit(
                {**base, **params}, X, y, train, test, sample_weight
            )
            log = search.cv_loss_log_[candidate, fold]
            n_epochs = len(reference.loss_log_)
            np.testing.assert_allclose(log[:n_epochs], reference.loss_log_, rtol=RTOL)
            assert np.isnan(log[n_epochs:, 1:]).all()
            # The default score is minus the validation loss of the weights
            # the network ended with: the best epoch's under early stopping.
            score = search.cv_results_[f"split{fold}_test_score"][candidate]
            kept = getattr(reference, "best_epoch_", n_epochs)
            np.testing.assert_allclose(
                -score, reference.loss_log_[kept - 1, 2], rtol=RTOL
            )


@pytest.mark.parametrize(
    ("base", "grid"),
    [
        ({"lr": 0.05}, {"lr": [0.01, 0.05], "optimizer__momentum": [0.0, 0.9]}),
        (
            {"optimizer": "sgd", "lr": 0.02, "optimizer__momentum": 0.5},
            {"optimizer__nesterov": [True, False], "optimizer__weight_decay": [0, 0.1]},
        ),
        (
            {"optimizer": "adam"},
            {"lr": [0.003, 0.01], "optimizer__betas": [(0.8, 0.99)]},
        ),
        ({"optimizer": "adamw", "lr": 0.01}, {"optimizer__weight_decay": [0.0, 0.3]}),
        ({"lr": 0.05}, {"max_epochs": [20, 60], "random_state": [1, 2]}),
        (
            {"lr": 0.03, "module__activation": "tanh"},
            {"module__hidden_layer_sizes": [(4,), (4, 3)], "lr": [0.03, 0.05]},
        ),
        ({"module__hidden_layer_sizes": ()}, {"lr": [0.01, 0.05]}),
        ({"module": TanhNet, "lr": 0.05}, {"module__width": [3, 6]}),
        ({"criterion": "huber", "lr": 0.05}, {"criterion__delta": [0.5, 2.0]}),
    ],
    ids=[
        "sgd",
        "momentum",
        "adam",
        "adamw",
        "epochs",
        "shapes",
        "linear",
        "vmap",
        "huber",
    ],
)
def test_each_network_equals_a_separate_fit(data, base, grid):
    X, y = data
    base = {"max_epochs": 60, "random_state": 0, **base}
    search = NetRegressorCV(grid, cv=3, **base).fit(X, y)
    assert_matches_separate_fits(search, base, X, y, KFold(3))


def test_early_stopping_per_network_matches_separate_fits(data):
    X, y = data
    base = {
        "max_epochs": 200,
        "random_state": 0,
        "early_stopping": True,
        "n_iter_no_change": 5,
        "tol": 0.01,
    }
    search = NetRegressorCV({"lr": [0.05, 0.3]}, cv=3, **base).fit(X, y)
    stopped = np.isnan(search.cv_loss_log_[:, :, -1, 1])
    assert stopped.any(), "the case should stop some networks early"
    assert_matches_separate_fits(search, base, X, y, KFold(3))
    for candidate, params in enumerate(search.cv_results_["params"]):
        for fold, (train, test) in enumerate(KFold(3).split(X)):
            reference = separate_fit({**base, **params}, X, y, train, test)
            recorded = search.cv_results_[f"split{fold}_best_epoch"][candidate]
            assert recorded == reference.best_epoch_
    best = search.cv_results_["mean_best_epoch"][search.best_index_]
    assert search.refit_epochs_ == max(1, round(best))
    assert search.n_iter_ == search.refit_epochs_
    assert search.best_estimator_.early_stopping is False


def test_sample_weight_and_multi_output(data):
    X, y = data
    Y = np.c_[y, np.cos(X[:, 1])]
    weights = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    base = {"max_epochs": 40, "random_state": 0}
    search = NetRegressorCV({"lr": [0.02, 0.05]}, cv=3, **base)
    search.fit(X, Y, sample_weight=weights)
    assert_matches_separate_fits(search, base, X, Y, KFold(3), weights)
    assert search.predict(X).shape == Y.shape


def test_float32_stays_float32_and_agrees_loosely(data):
    X, y = (array.astype(np.float32) for array in data)
    base = {"max_epochs": 40, "random_state": 0, "lr": 0.05}
    search = NetRegressorCV(None, cv=3, **base).fit(X, y)
    assert search.predict(X).dtype == np.float32
    train, test = next(KFold(3).split(X))
    reference = separate_fit(base, X, y, train, test)
    np.testing.assert_allclose(
        search.cv_loss_log_[0, 0], reference.loss_log_, rtol=1e-4
    )


def test_splitting_into_several_runs_changes_nothing(data, monkeypatch):
    X, y = data
    settings = {"max_epochs": 30, "random_state": 0}
    whole = NetRegressorCV({"lr": [0.01, 0.05]}, cv=3, **settings).fit(X, y)
    # Room for the activations of one network per run only.
    monkeypatch.setattr(sknet._cv, "ELEMENTS_PER_RUN", 1)
    split = NetRegressorCV({"lr": [0.01, 0.05]}, cv=3, **settings).fit(X, y)
    np.testing.assert_allclose(split.cv_loss_log_, whole.cv_loss_log_, rtol=1e-12)


def test_runs_in_worker_processes_give_the_same_results(data, monkeypatch):
    X, y = data
    settings = {"cv": 3, "max_epochs": 20, "random_state": 0, "scoring": "r2"}
    monkeypatch.setattr(sknet._cv, "ELEMENTS_PER_RUN", 1)
    alone = NetRegressorCV({"lr": [0.01, 0.05]}, **settings).fit(X, y)
    parallel = NetRegressorCV({"lr": [0.01, 0.05]}, n_jobs=2, **settings).fit(X, y)
    np.testing.assert_array_equal(parallel.cv_loss_log_, alone.cv_loss_log_)
    for key in ("mean_test_score", "rank_test_score"):
        np.testing.assert_array_equal(parallel.cv_results_[key], alone.cv_results_[key])
    np.testing.assert_array_equal(parallel.predict(X), alone.predict(X))


def test_cv_results_have_grid_search_layout(data):
    X, y = data
    grid = {"lr": [0.01, 0.05], "optimizer__momentum": [0.0, 0.9]}
    settings = {"max_epochs": 30, "random_state": 0}
    search = NetRegressorCV(grid, cv=3, **settings).fit(X, y)
    reference = GridSearchCV(
        NetRegressor(**settings), grid, cv=3, scoring="neg_mean_squared_error"
    ).fit(X, y)
    ours, theirs = search.cv_results_, reference.cv_results_
    timing = {"mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time"}
    assert set(theirs) - timing == set(ours)
    assert ours["params"] == theirs["params"]
    for key in ours:
        if key.startswith(("split", "mean_test", "std_test")):
            np.testing.assert_allclose(ours[key], theirs[key], rtol=RTOL)
        elif key.startswith("param_"):
            assert list(ours[key]) == list(theirs[key])
    np.testing.assert_array_equal(ours["rank_test_score"], theirs["rank_test_score"])
    assert search.best_params_ == reference.best_params_
    assert search.best_index_ == reference.best_index_
    np.testing.assert_allclose(search.best_score_, reference.best_score_, rtol=RTOL)


def test_scorer_and_refit(data):
    X, y = data
    settings = {"max_epochs": 60, "random_state": 0}
    search = NetRegressorCV({"lr": [0.01, 0.05]}, cv=3, scoring="r2", **settings)
    search.fit(X, y)
    for candidate, params in enumerate(search.cv_results_["params"]):
        for fold, (train, test) in enumerate(KFold(3).split(X)):
            reference = separate_fit({**settings, **params}, X, y, train, test)
            score = search.cv_results_[f"split{fold}_test_score"][candidate]
            np.testing.assert_allclose(score, reference.score(X[test], y[test]))
    refit = NetRegressor(**settings, **search.best_params_).fit(X, y)
    np.testing.assert_array_equal(search.predict(X), refit.predict(X))
    np.testing.assert_array_equal(search.loss_log_, refit.loss_log_)
    assert search.score(X, y) == refit.score(X, y)
    assert search.n_features_in_ == 3


def test_groups_reach_the_splitter(data):
    X, y = data
    groups = np.repeat(np.arange(6), 10)
    search = NetRegressorCV(None, cv=GroupKFold(3), max_epochs=5, random_state=0)
    search.fit(X, y, groups=groups)
    assert search.n_splits_ == 3


def test_diverging_candidates_rank_last_and_warn(data):
    X, y = data
    search = NetRegressorCV({"lr": [0.01, 1e3]}, cv=3, max_epochs=30, random_state=0)
    with pytest.warns(SknetWarning, match="diverged") as record:
        search.fit(X, y)
    assert record[0].filename == __file__
    assert np.isnan(search.cv_results_["mean_test_score"][1])
    assert search.cv_results_["rank_test_score"].tolist() == [1, 2]
    assert search.best_params_ == {"lr": 0.01}
    diverged = search.cv_loss_log_[1, 0]
    assert not np.isfinite(diverged[:, 1]).all()


def test_all_candidates_diverging_raises(data):
    X, y = data
    search = NetRegressorCV({"lr": [1e3, 1e4]}, cv=3, max_epochs=30, random_state=0)
    with pytest.raises(TrainingDivergedError, match="every candidate"):
        search.fit(X, y)
    # Kept for inspection, but not a fitted model.
    assert search.cv_loss_log_.shape == (2, 3, 30, 3)
    assert not hasattr(search, "best_estimator_")


def test_a_failed_refit_keeps_the_previous_model(data):
    X, y = data
    search = NetRegressorCV({"lr": [0.01]}, cv=3, max_epochs=20, random_state=0)
    search.fit(X, y)
    before = search.predict(X)
    results = search.cv_results_
    search.set_params(param_grid={"lr": [1e4]})
    with pytest.raises(TrainingDivergedError):
        search.fit(X[:, :2], y)
    np.testing.assert_array_equal(search.predict(X), before)
    assert search.cv_results_ is results
    assert search.n_features_in_ == 3


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"param_grid": {"batch_size": [16]}}, "trains full batch"),
        ({"param_grid": {"data_parallel": [True]}}, "side by side"),
        ({"param_grid": {"lrr": [0.1]}}, "did you mean 'lr'"),
        ({"param_grid": {"lr": [-1.0]}}, "lr must be"),
        ({"param_grid": {"lr": 0.1}}, "param_grid must be"),
        ({"optimizer": "rmsprop"}, "SGD, Adam and AdamW"),
        ({"optimizer": "adam", "optimizer__amsgrad": True}, "amsgrad"),
        ({"max_epochs": -1}, "max_epochs must be"),
        ({"module__hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"module": NormedNet}, "buffers"),
        ({"n_jobs": 0}, "n_jobs must be"),
        ({"batch_size": 16}, "NetRegressorCV\\(...\\) sets 'batch_size'"),
        ({"param_grid": {"n_jobs": [1, 2]}}, "setting of the search itself"),
        ({"param_grid": []}, "holds no candidate"),
        ({"param_grid": {"max_epochs": [0, 5]}}, "at least 1"),
        ({"scoring": ["r2", "neg_mean_absolute_error"]}, "one score"),
        (
            {"param_grid": {"optimizer__nesterov": [True]}, "optimizer__momentum": 0},
            "could not be built",
        ),
        ({"module": BranchingNet}, "vmap"),
        ({"module": FlatNet}, "one column per target"),
    ],
)
def test_bad_settings_are_explained(data, params, message):
    X, y = data
    search = NetRegressorCV(**{"max_epochs": 5, **params})
    with pytest.raises(ValueError, match=message):
        search.fit(X, y)


def test_boolean_masks_as_folds(data):
    X, y = data
    first = np.arange(len(y)) < 30
    search = NetRegressorCV(None, cv=[(first, ~first)], max_epochs=20, random_state=0)
    search.fit(X, y)
    reference = separate_fit({"max_epochs": 20, "random_state": 0}, X, y, first, ~first)
    np.testing.assert_allclose(
        search.cv_loss_log_[0, 0], reference.loss_log_, rtol=RTOL
    )


def test_fold_without_weighted_training_rows(data):
    X, y = data
    weights = np.zeros(len(y))
    weights[:20] = 1.0
    with pytest.raises(ValueError, match="fold 0 has sample_weight 0"):
        NetRegressorCV(None, cv=3, max_epochs=2).fit(X, y, sample_weight=weights)


def test_scores_undefined_on_a_fold_are_not_called_divergence(data):
    X, y = data
    search = NetRegressorCV(None, cv=3, max_epochs=2, scoring=lambda *_: np.nan)
    with pytest.raises(ValueError, match="returned NaN for 3 fold networks"):
        search.fit(X, y)


def test_a_scorer_sees_the_candidate_and_its_network(data):
    X, y = data

    def learning_rate_times_epochs(estimator, X, y):
        return estimator.lr * estimator.n_iter_ + 0 * estimator.loss_log_[-1, 1]

    search = NetRegressorCV(
        {"lr": [0.01, 0.02]}, cv=3, max_epochs=5, scoring=learning_rate_times_epochs
    ).fit(X, y)
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], [0.05, 0.1])


def test_random_state_instance_is_drawn_once(data):
    X, y = data
    search = NetRegressorCV(
        {"lr": [0.01, 0.02]},
        cv=3,
        max_epochs=10,
        random_state=np.random.RandomState(0),
    ).fit(X, y)
    seed = search.best_estimator_.random_state
    assert isinstance(seed, int)
    train, test = next(KFold(3).split(X))
    reference = separate_fit(
        {"max_epochs": 10, "random_state": seed, "lr": 0.01}, X, y, train, test
    )
    np.testing.assert_allclose(
        search.cv_loss_log_[0, 0], reference.loss_log_, rtol=RTOL
    )


def test_best_epoch_is_the_last_without_early_stopping(data):
    X, y = data
    search = NetRegressorCV(
        {"early_stopping": [True, False]},
        cv=3,
        max_epochs=30,
        n_iter_no_change=3,
        lr=0.3,
        random_state=0,
    ).fit(X, y)
    assert search.cv_results_["mean_best_epoch"][1] == 30


def test_too_few_rows_for_the_folds():
    with pytest.raises(ValueError, match="cv=5 folds need at least 5 rows"):
        NetRegressorCV(max_epochs=2).fit(np.zeros((3, 2)), np.arange(3.0))


def test_works_in_pipeline_clone_and_pickle(data):
    X, y = data
    pipeline = make_pipeline(
        StandardScaler(),
        NetRegressorCV({"lr": [0.01, 0.05]}, cv=3, max_epochs=20, random_state=0),
    ).fit(X, y)
    restored = pickle.loads(pickle.dumps(pipeline))
    np.testing.assert_array_equal(restored.predict(X), pipeline.predict(X))
    fresh = clone(pipeline[-1])
    assert not hasattr(fresh, "cv_results_")
    assert fresh.get_params()["param_grid"] == {"lr": [0.01, 0.05]}


def test_feature_names_are_kept(data):
    pandas = pytest.importorskip("pandas")
    X, y = data
    frame = pandas.DataFrame(X, columns=["a", "b", "c"])
    search = NetRegressorCV(None, cv=3, max_epochs=5, random_state=0).fit(frame, y)
    assert list(search.feature_names_in_) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="feature names"):
        search.predict(frame.rename(columns={"a": "z"}))


def test_displays(data):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    X, y = data
    search = NetRegressorCV({"lr": [0.01, 0.05]}, cv=3, max_epochs=20, random_state=0)
    search.fit(X, y)
    ax = Figure().subplots()
    display = CVLossCurveDisplay.from_estimator(search, ax=ax, log_scale=True)
    assert set(display.lines_) == {
        (search.best_index_, fold, kind)
        for fold in range(3)
        for kind in ("train", "validation")
    }
    np.testing.assert_array_equal(
        display.lines_[search.best_index_, 1, "validation"].get_ydata(),
        search.cv_loss_log_[search.best_index_, 1, :, 2],
    )
    both = CVLossCurveDisplay.from_estimator(
        search, candidates=[0, 1], train=False, ax=Figure().subplots()
    )
    assert len(both.lines_) == 6
    for wrong in (5, [], [0, 0], True):
        with pytest.raises(ValueError, match="candidates must be"):
            CVLossCurveDisplay.from_estimator(search, candidates=wrong, ax=ax)
    with pytest.raises(ValueError, match="one label per candidate"):
        CVLossCurveDisplay(
            cv_loss_log=search.cv_loss_log_, candidates=[0, 1], labels=["a"]
        ).plot(ax=ax)
    # The refitted network's own curve, as for a NetRegressor.
    LossCurveDisplay.from_estimator(search, ax=Figure().subplots())


def test_random_state_none_gives_every_candidate_the_same_start(data):
    X, y = data
    search = NetRegressorCV({"lr": [0.01, 0.02]}, cv=3, max_epochs=1).fit(X, y)
    first_losses = search.cv_loss_log_[:, :, 0, 1]
    np.testing.assert_array_equal(first_losses[0], first_losses[1])


def test_global_random_state_untouched(data):
    X, y = data
    torch_state = torch.random.get_rng_state()
    numpy_state = np.random.get_state()[1].copy()
    NetRegressorCV({"lr": [0.01]}, cv=3, max_epochs=3).fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)


@parametrize_with_checks(
    [
        NetRegressorCV(
            {"lr": [0.01, 0.03]}, cv=3, optimizer="adam", max_epochs=60, random_state=0
        )
    ]
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
