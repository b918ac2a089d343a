import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import SelectKBest, f_regression
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from skorch.callbacks import Callback
from torch import nn

from sknet import (
    ConstantPredictionWarning,
    NetRegressor,
    TrainingDivergedError,
)

FAST = {"optimizer": "adam", "lr": 0.01, "max_epochs": 20, "random_state": 0}


class Linear(nn.Module):
    """One linear layer, optionally initialised to y = slope * x + intercept."""

    def __init__(self, n_input, n_output, slope=None, intercept=0.0):
        super().__init__()
        self.linear = nn.Linear(n_input, n_output)
        if slope is not None:
            with torch.no_grad():
                self.linear.weight.fill_(slope)
                self.linear.bias.fill_(intercept)

    def forward(self, X):
        return self.linear(X)


class RecordValidationTargets(Callback):
    def initialize(self):
        self.targets = None
        return self

    def on_epoch_begin(self, net, dataset_valid=None, **kwargs):
        self.targets = dataset_valid.y.numpy().ravel().copy()


def test_defaults_reproduce_the_workflow():
    reg = NetRegressor()
    assert reg.criterion is nn.MSELoss
    assert reg.optimizer is torch.optim.SGD
    assert reg.lr == 0.001
    assert reg.max_epochs == 10000
    assert reg.batch_size is None
    assert reg.validation_fraction is None


def test_small_float64_input_fits_in_two_epochs():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(8, 3)), rng.normal(size=8)
    reg = NetRegressor(max_epochs=2, random_state=0).fit(X, y)
    assert reg.loss_log_.shape == (2, 3)
    assert reg.predict(X).dtype == np.float64
    assert np.isnan(reg.loss_log_[:, 2]).all()


def test_one_hot_encoded_float32_category_in_pipeline_fits():
    category = np.array([0, 1, 2, 1, 0, 2, 1, 0], dtype=np.float32).reshape(-1, 1)
    y = np.array([1.0, 2.0, 3.0, 2.0, 1.0, 3.0, 2.0, 1.0])
    pipe = make_pipeline(OneHotEncoder(), NetRegressor(**FAST))
    pipe.fit(category, y)
    assert pipe.predict(category).shape == (8,)


def test_logged_train_loss_compares_column_to_column():
    # A loss computed between (n, 1) outputs and (n,) targets broadcasts to an
    # n x n matrix and would log 2.5 here instead of 0.
    X = np.arange(4.0).reshape(-1, 1)
    y = np.arange(4.0)
    reg = NetRegressor(Linear, module__slope=1.0, lr=1e-12, max_epochs=3)
    reg.fit(X, y)
    assert np.array_equal(reg.loss_log_[:, 1], np.zeros(3))


def test_prediction_shapes_follow_the_target(linear_data):
    X, y = linear_data
    reg = NetRegressor(**FAST).fit(X, y)
    assert reg.predict(X[:1]).shape == (1,)
    assert (y - reg.predict(X)).shape == y.shape

    y2 = np.column_stack([y, -y])
    reg2 = NetRegressor(**FAST).fit(X, y2)
    assert reg2.predict(X).shape == (len(X), 2)
    assert reg2.n_outputs_ == 2


def test_grid_over_selectkbest_in_pipeline():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(20, 5))
    y = X[:, 0] - X[:, 1]
    pipe = make_pipeline(SelectKBest(f_regression), NetRegressor(**FAST))
    search = GridSearchCV(pipe, {"selectkbest__k": [2, 5]}, cv=2)
    search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_untrained_clone_scores_like_untrained_net():
    X = np.linspace(-1, 1, 20).reshape(-1, 1)
    y = 3 * X.ravel() + 1
    reg = NetRegressor(optimizer="adam", lr=0.05, max_epochs=300, random_state=0)
    assert reg.fit(X, y).score(X, y) > 0.99
    untrained = clone(reg).set_params(max_epochs=0)
    scores = cross_val_score(untrained, X, y, cv=4)
    assert scores.max() < 0.5


def test_divergence_names_the_epoch_and_keeps_the_log():
    X = np.linspace(0, 100, 20).reshape(-1, 1)
    y = 5 * X.ravel()
    reg = NetRegressor(Linear, lr=0.1, max_epochs=100, random_state=0)
    with pytest.raises(TrainingDivergedError, match=r"at epoch \d+") as info:
        reg.fit(X, y)
    epoch = info.value.epoch
    assert 1 < epoch < 100
    assert "lr" in str(info.value) and "StandardScaler" in str(info.value)
    assert reg.loss_log_.shape == (epoch, 3)
    assert np.isfinite(reg.loss_log_[:-1, 1]).all()
    assert not np.isfinite(reg.loss_log_[-1, 1])
    with pytest.raises(Exception, match="not fitted"):
        reg.predict(X)


def test_divergence_keeps_a_previously_fitted_model():
    X = np.linspace(0, 1, 20).reshape(-1, 1)
    y = 5 * X.ravel()
    reg = NetRegressor(Linear, lr=0.1, max_epochs=100, random_state=0).fit(X, y)
    before = reg.predict(X)
    log_before = reg.loss_log_.copy()
    with pytest.raises(TrainingDivergedError):
        reg.fit(X * 100, y * 100)
    np.testing.assert_array_equal(reg.predict(X), before)
    np.testing.assert_array_equal(reg.loss_log_, log_before)


def test_a_failed_refit_on_other_columns_keeps_the_model_usable():
    rng = np.random.default_rng(0)
    X, wider = rng.normal(size=(30, 2)), rng.normal(size=(30, 3))
    y = X[:, 0]
    reg = NetRegressor(Linear, lr=0.1, max_epochs=20, random_state=0).fit(X, y)
    before = reg.predict(X)
    with pytest.raises(TrainingDivergedError):
        reg.set_params(lr=1e6).fit(wider * 100, y * 100)
    # The model still takes the data it was fitted on.
    assert reg.n_features_in_ == 2
    np.testing.assert_array_equal(reg.predict(X), before)


def test_divergence_during_warm_start_restores_the_weights():
    X = np.linspace(0, 1, 20).reshape(-1, 1)
    y = 5 * X.ravel()
    reg = NetRegressor(Linear, lr=0.1, max_epochs=100, random_state=0, warm_start=True)
    reg.fit(X, y)
    before = reg.predict(X)
    with pytest.raises(TrainingDivergedError):
        reg.fit(X * 100, y * 100)
    np.testing.assert_array_equal(reg.predict(X), before)
    assert reg.n_iter_ == 100
    assert len(reg.net_.history) == 100
    assert reg.loss_log_.shape == (100, 3)


def test_dead_relu_network_warns():
    X = np.linspace(0, 100, 20).reshape(-1, 1)
    y = 5 * X.ravel()
    reg = NetRegressor(lr=0.1, max_epochs=200, random_state=0)
    with pytest.warns(ConstantPredictionWarning, match="same value"):
        reg.fit(X, y)


@pytest.mark.parametrize(
    "columns", [["a", "b"], [0, 1]], ids=["string-names", "integer-names"]
)
def test_dataframe_inputs(columns):
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(8, 2)), columns=columns)
    y = pd.DataFrame({"target": rng.normal(size=8)})
    reg = NetRegressor(**FAST).fit(X, y)
    assert reg.n_features_in_ == 2
    assert reg.predict(X).shape == (8, 1)
    if isinstance(columns[0], str):
        assert list(reg.feature_names_in_) == columns
    else:
        assert not hasattr(reg, "feature_names_in_")


def test_series_and_list_inputs():
    X = [[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]]
    y = pd.Series([1.0, 2.0, 3.0, 4.0])
    reg = NetRegressor(**FAST).fit(X, y)
    assert reg.predict(X).shape == (4,)


def held_out_targets(random_state):
    X = np.arange(10.0).reshape(-1, 1)
    y = np.arange(10.0)  # sorted by y
    recorder = RecordValidationTargets()
    reg = NetRegressor(
        validation_fraction=0.2,
        max_epochs=1,
        random_state=random_state,
        callbacks=[recorder],
    )
    reg.fit(X, y)
    assert not np.isnan(reg.loss_log_[:, 2]).any()
    return reg.net_.callbacks_[-1][1].targets


def test_validation_fraction_holds_out_random_rows():
    splits = {tuple(held_out_targets(seed)) for seed in range(6)}
    assert all(len(split) == 2 for split in splits)
    assert len(splits) > 1
    assert (0.0, 1.0) not in splits or (8.0, 9.0) not in splits
    assert held_out_targets(0).tolist() == held_out_targets(0).tolist()
    assert any(split not in {(0.0, 1.0), (8.0, 9.0)} for split in splits)


def test_losses_are_mean_squared_errors(linear_data):
    X, y = linear_data
    X_val, y_val = X[:15] + 0.1, y[:15]
    reg = NetRegressor(**FAST).fit(X, y, X_val=X_val, y_val=y_val)
    assert reg.loss_log_[-1, 2] == pytest.approx(
        mean_squared_error(y_val, reg.predict(X_val)), rel=1e-12
    )
    # The training loss of epoch 1 is taken before the first update.
    untrained = clone(reg).set_params(max_epochs=0).fit(X, y)
    one_epoch = clone(reg).set_params(max_epochs=1).fit(X, y)
    assert one_epoch.loss_log_[0, 1] == pytest.approx(
        mean_squared_error(y, untrained.predict(X)), rel=1e-12
    )


def test_multi_output_loss_is_mean_over_all_entries(linear_data):
    X, y = linear_data
    Y = np.column_stack([y, 2 * y])
    reg = NetRegressor(**FAST).fit(X, Y, X_val=X, y_val=Y)
    assert reg.loss_log_[-1, 2] == pytest.approx(
        mean_squared_error(Y, reg.predict(X)), rel=1e-12
    )


def test_same_seed_same_results_and_global_state_untouched(linear_data):
    X, y = linear_data
    numpy_state = np.random.get_state()[1].copy()
    torch_state = torch.get_rng_state().clone()
    params = {**FAST, "module__dropout": 0.2, "batch_size": 16}
    first = NetRegressor(**params).fit(X, y)
    second = NetRegressor(**params).fit(X, y)
    np.testing.assert_array_equal(first.loss_log_, second.loss_log_)
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)
    assert torch.equal(torch.get_rng_state(), torch_state)
    other = NetRegressor(**{**params, "random_state": 1}).fit(X, y)
    assert not np.array_equal(first.loss_log_, other.loss_log_)


def test_random_state_none_leaves_global_state_untouched(linear_data):
    X, y = linear_data
    numpy_state = np.random.get_state()[1].copy()
    torch_state = torch.get_rng_state().clone()
    NetRegressor(**{**FAST, "random_state": None}).fit(X, y)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_every_fit_starts_from_fresh_weights(linear_data):
    X, y = linear_data
    reg = NetRegressor(**FAST)
    first_log = reg.fit(X, y).loss_log_.copy()
    np.testing.assert_array_equal(reg.fit(X, y).loss_log_, first_log)
    np.testing.assert_array_equal(clone(reg).fit(X, y).loss_log_, first_log)


def test_widths_are_read_at_every_fit(linear_data):
    X, y = linear_data
    reg = NetRegressor(**FAST).fit(X, y)
    reg.fit(X[:, :2], np.column_stack([y, y]))
    assert reg.module_.layers[0].in_features == 2
    assert reg.predict(X[:, :2]).shape == (len(X), 2)


def test_grid_search_tunes_module_and_optimizer_arguments(linear_data):
    X, y = linear_data
    grid = {
        "module__hidden_layer_sizes": [(4,), (8, 4)],
        "optimizer__momentum": [0.0, 0.9],
    }
    reg = NetRegressor(lr=0.01, max_epochs=10, random_state=0)
    search = GridSearchCV(reg, grid, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    best = search.best_estimator_
    expected_layers = 2 * len(best.module__hidden_layer_sizes) + 1
    assert len(best.module_.layers) == expected_layers
    assert best.net_.optimizer_.param_groups[0]["momentum"] in (0.0, 0.9)


def test_modes_train_while_training_eval_otherwise(linear_data):
    X, y = linear_data
    seen = []

    class Probe(Callback):
        def on_batch_begin(self, net, training=False, **kwargs):
            seen.append(training)

        def on_batch_end(self, net, training=False, **kwargs):
            assert net.module_.training == training

    reg = NetRegressor(**FAST, callbacks=[Probe()])
    reg.fit(X, y, X_val=X, y_val=y)
    assert set(seen) == {True, False}
    reg.predict(X)
    assert not reg.module_.training


def test_validation_data_is_evaluated_without_gradients(linear_data):
    X, y = linear_data

    class Probe(Callback):
        def on_batch_end(self, net, training=False, loss=None, **kwargs):
            assert loss.requires_grad == training

    NetRegressor(**FAST, callbacks=[Probe()]).fit(X, y, X_val=X, y_val=y)


def test_float32_input_trains_in_float32(linear_data):
    X, y = linear_data
    reg = NetRegressor(**FAST).fit(X.astype(np.float32), y.astype(np.float32))
    assert next(reg.module_.parameters()).dtype == torch.float32
    assert reg.predict(X).dtype == np.float32
    reg64 = NetRegressor(**FAST, dtype="float64").fit(X.astype(np.float32), y)
    assert next(reg64.module_.parameters()).dtype == torch.float64


def test_sample_weight_of_two_equals_repeating_the_row(linear_data):
    X, y = linear_data
    weights = np.ones(len(X))
    weights[:10] = 2
    X_repeated = np.vstack([X, X[:10]])
    y_repeated = np.concatenate([y, y[:10]])
    weighted = NetRegressor(**FAST).fit(X, y, sample_weight=weights)
    repeated = NetRegressor(**FAST).fit(X_repeated, y_repeated)
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-9)
    np.testing.assert_allclose(
        weighted.loss_log_[:, 1], repeated.loss_log_[:, 1], rtol=1e-9
    )


def test_partial_fit_continues_with_consecutive_epochs(linear_data):
    X, y = linear_data
    reg = NetRegressor(**FAST, partial_fit_epochs=3)
    reg.partial_fit(X, y)
    first_weights = [p.detach().clone() for p in reg.module_.parameters()]
    reg.partial_fit(X, y)
    assert reg.loss_log_[:, 0].tolist() == [1, 2, 3, 4, 5, 6]
    assert reg.n_iter_ == 6
    assert reg.loss_log_[3, 1] < reg.loss_log_[0, 1]
    assert any(
        not torch.equal(a, b)
        for a, b in zip(first_weights, reg.module_.parameters(), strict=True)
    )


def test_warm_start_continues_from_current_weights(linear_data):
    X, y = linear_data
    reg = NetRegressor(**{**FAST, "max_epochs": 5}, warm_start=True)
    reg.fit(X, y)
    end_of_first = reg.loss_log_[-1, 1]
    reg.fit(X, y)
    assert reg.loss_log_.shape == (10, 3)
    assert reg.loss_log_[5, 1] <= end_of_first * 1.01


def test_pickle_round_trip_predicts_identically(linear_data):
    X, y = linear_data
    reg = NetRegressor(**FAST).fit(X, y)
    restored = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(restored.predict(X), reg.predict(X))


def test_column_transformer_and_ols_side_by_side():
    frame = pd.DataFrame(
        {"x": np.linspace(0, 1, 12), "group": ["a", "b", "c"] * 4},
    )
    y = 2 * frame["x"].to_numpy() + (frame["group"] == "b")
    encode = ColumnTransformer(
        [("group", OneHotEncoder(), ["group"])], remainder="passthrough"
    )
    net = make_pipeline(encode, NetRegressor(**FAST)).fit(frame, y)
    ols = make_pipeline(encode, LinearRegression()).fit(frame, y)
    assert net.predict(frame).shape == ols.predict(frame).shape


def test_verbose_shows_progress_and_silence_prints_nothing(linear_data, capsys):
    X, y = linear_data
    NetRegressor(**FAST).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    NetRegressor(**FAST, verbose=1).fit(X, y, X_val=X, y_val=y)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "20/20" in captured.err and "valid_loss" in captured.err


def test_no_warnings_on_a_plain_fit(linear_data):
    X, y = linear_data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        NetRegressor(**FAST).fit(X, y).predict(X)


def test_warm_start_trains_with_the_current_settings(linear_data):
    X, y = linear_data
    reg = NetRegressor(max_epochs=3, random_state=0, warm_start=True).fit(X, y)
    reg.set_params(lr=0.1, optimizer="adam", criterion="l1", batch_size=16)
    reg.fit(X, y)
    assert isinstance(reg.net_.optimizer_, torch.optim.Adam)
    assert reg.net_.optimizer_.param_groups[0]["lr"] == 0.1
    assert isinstance(reg.net_.criterion_, nn.L1Loss)
    assert reg.net_.history[-1, "train_batch_count"] == 4
    assert reg.loss_log_[:, 0].tolist() == [1, 2, 3, 4, 5, 6]


def test_warm_start_keeps_optimizer_state_under_new_settings(linear_data):
    X, y = linear_data
    reg = NetRegressor(**FAST, warm_start=True).fit(X, y)
    reg.set_params(lr=0.001).fit(X, y)
    state = reg.net_.optimizer_.state_dict()
    assert state["param_groups"][0]["lr"] == 0.001
    assert all(entry["step"] == 40 for entry in state["state"].values())


def test_warm_start_cannot_change_the_network_shape(linear_data):
    X, y = linear_data
    reg = NetRegressor(**FAST, warm_start=True).fit(X, y)
    reg.set_params(module__hidden_layer_sizes=(3,))
    with pytest.raises(ValueError, match="cannot change the network's shape"):
        reg.fit(X, y)
    assert reg.n_iter_ == 20


def test_fitting_leaves_the_given_callbacks_untouched(linear_data):
    from skorch.callbacks import EarlyStopping

    X, y = linear_data
    stopper = EarlyStopping(patience=2, sink=lambda message: None)
    reg = NetRegressor(**FAST, callbacks=[stopper]).fit(X, y, X_val=X, y_val=y)
    assert not hasattr(stopper, "best_epoch_")
    assert reg.callbacks[0] is stopper


def test_constant_prediction_warning_points_at_the_caller():
    X = np.linspace(0, 100, 20).reshape(-1, 1)
    with pytest.warns(ConstantPredictionWarning) as record:
        NetRegressor(lr=0.1, max_epochs=200, random_state=0).fit(X, 5 * X.ravel())
    assert record[0].filename == __file__
