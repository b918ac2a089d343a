import importlib.util

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.linear_model import LinearRegression
from sklearn.metrics import PredictionErrorDisplay
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknet import LossCurveDisplay, NetRegressor, TimeSeriesPredictionDisplay

matplotlib.use("Agg")


def _axes():
    return Figure().subplots()


def _loss_log(n_epochs=5, validation=True):
    epochs = np.arange(1, n_epochs + 1, dtype=float)
    val = 1 / epochs + 0.1 if validation else np.full(n_epochs, np.nan)
    return np.column_stack([epochs, 1 / epochs, val])


@pytest.fixture(scope="module")
def regression_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = X @ np.array([1.0, -2.0]) + 0.1 * rng.normal(size=40)
    return X, y


@pytest.fixture(scope="module")
def fitted_net(regression_data):
    X, y = regression_data
    net = NetRegressor(max_epochs=15, random_state=0)
    return net.fit(X[:30], y[:30], X_val=X[30:], y_val=y[30:])


def test_loss_curve_draws_train_and_validation():
    display = LossCurveDisplay(loss_log=_loss_log(), estimator_name="net")
    display.plot(ax=_axes())

    assert sorted(display.lines_) == ["train", "validation"]
    np.testing.assert_array_equal(display.lines_["train"].get_xdata(), [1, 2, 3, 4, 5])
    assert display.ax_.get_title() == "net"
    assert display.ax_.get_xlabel() == "epoch"
    assert display.figure_ is display.ax_.figure


def test_loss_curve_skips_validation_without_validation_data():
    display = LossCurveDisplay(loss_log=_loss_log(validation=False)).plot(ax=_axes())

    assert list(display.lines_) == ["train"]


@pytest.mark.parametrize(("log_scale", "scale"), [(False, "linear"), (True, "log")])
def test_loss_curve_log_scale(log_scale, scale):
    display = LossCurveDisplay(loss_log=_loss_log()).plot(
        ax=_axes(), log_scale=log_scale
    )

    assert display.ax_.get_yscale() == scale


def test_loss_curve_marks_best_epoch():
    display = LossCurveDisplay(loss_log=_loss_log(), best_epoch=3).plot(ax=_axes())

    np.testing.assert_array_equal(display.lines_["best_epoch"].get_xdata(), [3, 3])
    assert "best epoch (3)" in [t.get_text() for t in display.ax_.get_legend().texts]


def test_loss_curve_line_keywords_override_labels():
    display = LossCurveDisplay(loss_log=_loss_log()).plot(
        ax=_axes(), val_kwargs={"label": "test", "color": "red"}
    )

    assert display.lines_["validation"].get_label() == "test"
    assert display.lines_["validation"].get_color() == "red"


def test_loss_curve_from_estimator(fitted_net):
    display = LossCurveDisplay.from_estimator(fitted_net, ax=_axes())

    np.testing.assert_array_equal(
        display.lines_["validation"].get_ydata(), fitted_net.loss_log_[:, 2]
    )
    assert display.ax_.get_title() == "NetRegressor"
    assert "best_epoch" not in display.lines_


def test_loss_curve_from_pipeline_and_best_epoch_attribute(regression_data):
    X, y = regression_data
    pipe = make_pipeline(StandardScaler(), NetRegressor(max_epochs=5, random_state=0))
    pipe.fit(X, y)
    # Early stopping will record the epoch it kept in best_epoch_.
    pipe[-1].best_epoch_ = 4

    display = LossCurveDisplay.from_estimator(pipe, ax=_axes(), name="scaled")

    assert list(display.lines_) == ["train", "best_epoch"]
    assert display.ax_.get_title() == "scaled"


def test_loss_curve_needs_a_loss_log():
    with pytest.raises(ValueError, match="no loss_log_"):
        LossCurveDisplay.from_estimator(LinearRegression(), ax=_axes())
    with pytest.raises(ValueError, match=r"shape \(n_epochs, 3\)"):
        LossCurveDisplay(loss_log=np.zeros((4, 2))).plot(ax=_axes())


def test_loss_curve_without_axes_uses_pyplot():
    import matplotlib.pyplot as plt

    display = LossCurveDisplay(loss_log=_loss_log()).plot()

    assert display.figure_ in map(plt.figure, plt.get_fignums())
    plt.close(display.figure_)


def test_time_series_from_predictions_puts_dates_on_the_x_axis():
    dates = pd.date_range("2001-01-01", periods=6, freq="QS")
    y_true = pd.Series(np.arange(6.0), index=dates, name="unemp_change")

    display = TimeSeriesPredictionDisplay.from_predictions(
        y_true, y_true + 0.5, ax=_axes()
    )

    assert sorted(display.lines_) == ["actual", "predicted"]
    assert np.issubdtype(np.asarray(display.index).dtype, np.datetime64)
    assert display.ax_.get_xlabel() == "date"
    assert display.ax_.get_ylabel() == "unemp_change"
    np.testing.assert_array_equal(display.lines_["predicted"].get_ydata(), y_true + 0.5)


def test_time_series_without_index_numbers_rows():
    display = TimeSeriesPredictionDisplay.from_predictions(
        [1.0, 2.0, 3.0], [1.5, 2.5, 2.0], ax=_axes(), name="net"
    )

    np.testing.assert_array_equal(display.lines_["actual"].get_xdata(), [0, 1, 2])
    assert display.lines_["predicted"].get_label() == "net"
    assert display.ax_.get_xlabel() == "row"


def test_time_series_from_estimator_uses_the_index_of_x(regression_data):
    X, y = regression_data
    dates = pd.date_range("1990-01-01", periods=len(X), freq="MS", name="month")
    frame = pd.DataFrame(X, index=dates, columns=["a", "b"])
    model = LinearRegression().fit(frame, y)

    display = TimeSeriesPredictionDisplay.from_estimator(model, frame, y, ax=_axes())

    assert display.index.equals(dates)
    assert display.ax_.get_xlabel() == "month"
    assert display.lines_["predicted"].get_label() == "LinearRegression"


@pytest.mark.parametrize(
    ("y_true", "y_pred", "index", "message"),
    [
        ([1.0, 2.0], [1.0], None, "one entry per row"),
        ([1.0, 2.0], [1.0, 2.0], [0, 1, 2], "one entry per row"),
        (np.ones((3, 2)), np.ones(3), None, "1d array"),
    ],
)
def test_time_series_rejects_mismatched_data(y_true, y_pred, index, message):
    display = TimeSeriesPredictionDisplay(y_true=y_true, y_pred=y_pred, index=index)

    with pytest.raises(ValueError, match=message):
        display.plot(ax=_axes())


def test_scikit_learn_prediction_error_display_works_with_netregressor(fitted_net):
    X = np.random.default_rng(1).normal(size=(10, 2))

    display = PredictionErrorDisplay.from_estimator(
        fitted_net, X, X.sum(axis=1), kind="actual_vs_predicted", ax=_axes()
    )

    assert display.y_pred.shape == (10,)


@pytest.mark.parametrize(
    "draw",
    [
        lambda: LossCurveDisplay(loss_log=_loss_log()).plot(),
        lambda: TimeSeriesPredictionDisplay(y_true=[1.0], y_pred=[1.0]).plot(),
    ],
)
def test_missing_matplotlib_says_how_to_install(draw, monkeypatch):
    find_spec = importlib.util.find_spec

    def hide_matplotlib(name, *args):
        return None if name == "matplotlib" else find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", hide_matplotlib)

    with pytest.raises(ImportError, match=r"needs matplotlib.*pip install"):
        draw()
