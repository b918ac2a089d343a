"""Plots of a fitted network: its loss curves and its predictions over time.

For predicted against actual values, use scikit-learn's
:class:`sklearn.metrics.PredictionErrorDisplay` with
``kind="actual_vs_predicted"``; it works with sknet estimators as they are.
"""

import importlib.util

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import column_or_1d


class LossCurveDisplay:
    """Training and validation loss against the epoch.

    Build it with :meth:`from_estimator` from a fitted :class:`NetRegressor`,
    or directly from a loss log and then call :meth:`plot`.

    Parameters
    ----------
    loss_log : array-like of shape (n_epochs, 3)
        One row per epoch: the epoch number, the training loss and the
        validation loss (NaN without validation data), as in
        ``NetRegressor.loss_log_``.
    best_epoch : int, default=None
        An epoch to mark with a vertical line, such as the one early
        stopping kept. None marks nothing.
    estimator_name : str, default=None
        Title of the plot. None leaves it untitled.

    Attributes
    ----------
    lines_ : dict of str to matplotlib Artist
        ``"train"``, ``"validation"`` when the log holds any validation loss,
        and ``"best_epoch"`` when ``best_epoch`` is set.
    ax_ : matplotlib Axes
        The axes drawn on.
    figure_ : matplotlib Figure
        The figure holding ``ax_``.

    See Also
    --------
    NetRegressor : Records the losses in ``loss_log_``.
    TimeSeriesPredictionDisplay : Actual and predicted values over time.

    Examples
    --------
    >>> import numpy as np
    >>> from matplotlib.figure import Figure
    >>> from sknet import LossCurveDisplay, NetRegressor
    >>> X = np.linspace(-1, 1, 30).reshape(-1, 1)
    >>> y = 2 * X.ravel()
    >>> reg = NetRegressor(max_epochs=20, random_state=0)
    >>> reg = reg.fit(X[:20], y[:20], X_val=X[20:], y_val=y[20:])
    >>> ax = Figure().subplots()
    >>> display = LossCurveDisplay.from_estimator(reg, ax=ax, log_scale=True)
    >>> sorted(display.lines_)
    ['train', 'validation']
    """

    def __init__(self, *, loss_log, best_epoch=None, estimator_name=None):
        self.loss_log = loss_log
        self.best_epoch = best_epoch
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        ax=None,
        log_scale=False,
        name=None,
        train_kwargs=None,
        val_kwargs=None,
    ):
        """Plot the loss curves of a fitted network.

        Parameters
        ----------
        estimator : NetRegressor or Pipeline ending in one
            An estimator with a ``loss_log_`` attribute. A ``best_epoch_``
            attribute, when present, is marked.
        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a figure with pyplot.
        log_scale : bool, default=False
            Draw the loss on a logarithmic axis, which shows both the early
            fall and the late changes.
        name : str, default=None
            Title of the plot. None uses the estimator's class name.
        train_kwargs, val_kwargs : dict, default=None
            Keyword arguments for ``ax.plot`` of the training and the
            validation curve, such as ``{"label": "test"}``.

        Returns
        -------
        display : LossCurveDisplay
        """
        net = _final_step(estimator)
        if not hasattr(net, "loss_log_"):
            raise ValueError(
                f"{type(net).__name__} has no loss_log_ to plot. Fit a "
                "NetRegressor (or a Pipeline ending in one) first."
            )
        display = cls(
            loss_log=net.loss_log_,
            best_epoch=getattr(net, "best_epoch_", None),
            estimator_name=name or type(net).__name__,
        )
        return display.plot(
            ax=ax, log_scale=log_scale, train_kwargs=train_kwargs, val_kwargs=val_kwargs
        )

    def plot(
        self, ax=None, *, log_scale=False, name=None, train_kwargs=None, val_kwargs=None
    ):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a figure with pyplot.
        log_scale : bool, default=False
            Draw the loss on a logarithmic axis.
        name : str, default=None
            Title of the plot; None uses ``estimator_name``.
        train_kwargs, val_kwargs : dict, default=None
            Keyword arguments for ``ax.plot`` of each curve.

        Returns
        -------
        display : LossCurveDisplay
            This object, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        log = np.asarray(self.loss_log, dtype=float)
        if log.ndim != 2 or log.shape[1] != 3:
            raise ValueError(
                "loss_log must have shape (n_epochs, 3) with columns epoch, "
                f"train_loss, val_loss; got shape {log.shape}."
            )
        ax = _axes(ax, type(self).__name__)

        epochs = log[:, 0]
        lines = {}
        (lines["train"],) = ax.plot(
            epochs, log[:, 1], **{"label": "train", **(train_kwargs or {})}
        )
        # A log without validation data holds only NaN there; draw no curve.
        if not np.isnan(log[:, 2]).all():
            (lines["validation"],) = ax.plot(
                epochs, log[:, 2], **{"label": "validation", **(val_kwargs or {})}
            )
        if self.best_epoch is not None:
            lines["best_epoch"] = ax.axvline(
                self.best_epoch,
                color="0.3",
                linestyle=":",
                label=f"best epoch ({self.best_epoch})",
            )

        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        if log_scale:
            ax.set_yscale("log")
        title = name or self.estimator_name
        if title:
            ax.set_title(title)
        ax.legend()
        self.ax_, self.figure_, self.lines_ = ax, ax.figure, lines
        return self


class CVLossCurveDisplay:
    """Training and validation loss of every fold of a cross-validated search.

    One colour per candidate; each fold's validation curve is drawn solid
    and its training curve dashed, so the spread between folds shows how
    much the learning curve depends on the rows held out.

    Parameters
    ----------
    cv_loss_log : array-like of shape (n_candidates, n_splits, n_epochs, 3)
        ``[epoch, train_loss, val_loss]`` rows per candidate and fold, as in
        ``NetRegressorCV.cv_loss_log_``.
    candidates : list of int
        The candidates to draw.
    labels : list of str, default=None
        A legend label per drawn candidate. None labels them by index.

    Attributes
    ----------
    lines_ : dict of (int, int, str) to matplotlib Line2D
        Keyed by ``(candidate, fold, "train" or "validation")``.
    ax_ : matplotlib Axes
        The axes drawn on.
    figure_ : matplotlib Figure
        The figure holding ``ax_``.

    See Also
    --------
    NetRegressorCV : Records the curves in ``cv_loss_log_``.
    LossCurveDisplay : The curves of one fitted network.

    Examples
    --------
    >>> import numpy as np
    >>> from matplotlib.figure import Figure
    >>> from sknet import CVLossCurveDisplay, NetRegressorCV
    >>> X = np.linspace(-1, 1, 60).reshape(-1, 1)
    >>> search = NetRegressorCV(
    ...     {"lr": [0.01, 0.1]}, cv=3, max_epochs=30, random_state=0
    ... ).fit(X, 2 * X.ravel())
    >>> display = CVLossCurveDisplay.from_estimator(
    ...     search, candidates="all", ax=Figure().subplots()
    ... )
    >>> len(display.lines_)
    12
    """

    def __init__(self, *, cv_loss_log, candidates, labels=None):
        self.cv_loss_log = cv_loss_log
        self.candidates = candidates
        self.labels = labels

    @classmethod
    def from_estimator(
        cls, estimator, *, candidates="best", ax=None, log_scale=False, train=True
    ):
        """Plot the per-fold curves of a fitted :class:`NetRegressorCV`.

        Parameters
        ----------
        estimator : NetRegressorCV
            A fitted search, or a Pipeline ending in one.
        candidates : "best", "all", int or list of int, default="best"
            Which candidates to draw, by their index in ``cv_results_``.
        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a figure with pyplot.
        log_scale : bool, default=False
            Draw the loss on a logarithmic axis.
        train : bool, default=True
            Also draw the training curves.

        Returns
        -------
        display : CVLossCurveDisplay
        """
        search = _final_step(estimator)
        if not hasattr(search, "cv_loss_log_"):
            raise ValueError(
                f"{type(search).__name__} has no cv_loss_log_ to plot. Fit a "
                "NetRegressorCV first."
            )
        params = search.cv_results_["params"]
        if isinstance(candidates, str) and candidates in ("best", "all"):
            every = range(len(params))
            candidates = [search.best_index_] if candidates == "best" else every
        chosen = _checked_candidates(candidates, len(params))
        labels = [_describe_params(params[index]) or "candidate" for index in chosen]
        display = cls(cv_loss_log=search.cv_loss_log_, candidates=chosen, labels=labels)
        return display.plot(ax=ax, log_scale=log_scale, train=train)

    def plot(self, ax=None, *, log_scale=False, train=True):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a figure with pyplot.
        log_scale : bool, default=False
            Draw the loss on a logarithmic axis.
        train : bool, default=True
            Also draw the training curves.

        Returns
        -------
        display : CVLossCurveDisplay
            This object, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        log = np.asarray(self.cv_loss_log, dtype=float)
        if log.ndim != 4 or log.shape[3] != 3:
            raise ValueError(
                "cv_loss_log must have shape (n_candidates, n_splits, n_epochs, "
                f"3); got shape {log.shape}."
            )
        candidates = _checked_candidates(self.candidates, log.shape[0])
        labels = self.labels or [f"candidate {index}" for index in candidates]
        if len(labels) != len(candidates):
            raise ValueError(
                f"labels has {len(labels)} entries for {len(candidates)} "
                "candidates; give one label per candidate, or None."
            )
        ax = _axes(ax, type(self).__name__)
        lines = {}
        for colour, (candidate, label) in enumerate(
            zip(candidates, labels, strict=True)
        ):
            for fold, fold_log in enumerate(log[candidate]):
                style = {"color": f"C{colour % 10}", "alpha": 0.8}
                first = fold == 0
                (lines[candidate, fold, "validation"],) = ax.plot(
                    fold_log[:, 0],
                    fold_log[:, 2],
                    label=f"{label}, validation" if first else None,
                    **style,
                )
                if train:
                    (lines[candidate, fold, "train"],) = ax.plot(
                        fold_log[:, 0],
                        fold_log[:, 1],
                        linestyle="--",
                        linewidth=0.8,
                        label=f"{label}, train" if first else None,
                        **style,
                    )
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        if log_scale:
            ax.set_yscale("log")
        ax.set_title(f"Learning curves of {log.shape[1]} folds")
        ax.legend()
        self.ax_, self.figure_, self.lines_ = ax, ax.figure, lines
        return self


def _checked_candidates(candidates, n_candidates):
    """Return ``candidates`` as a list of distinct indices in range, or raise."""
    chosen = [candidates] if np.ndim(candidates) == 0 else list(candidates)
    valid = chosen and all(
        isinstance(index, (int, np.integer))
        and not isinstance(index, (bool, np.bool_))
        and 0 <= index < n_candidates
        for index in chosen
    )
    if not valid or len(set(chosen)) != len(chosen):
        raise ValueError(
            f"candidates must be 'best', 'all', or distinct indices in "
            f"[0, {n_candidates}) of cv_results_; got {candidates!r}."
        )
    return [int(index) for index in chosen]


def _describe_params(params):
    return ", ".join(f"{name}={value!r}" for name, value in params.items())


class TimeSeriesPredictionDisplay:
    """Actual and predicted values of one target in time order.

    Time runs along the x-axis: dates when an index of dates is given or
    found on the data, row positions otherwise.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Actual values, in time order.
    y_pred : array-like of shape (n_samples,)
        Predicted values for the same rows.
    index : array-like of shape (n_samples,), default=None
        The time of each row, for example a pandas ``DatetimeIndex``. None
        numbers the rows from 0.
    estimator_name : str, default=None
        Label of the predicted curve. None labels it "predicted".

    Attributes
    ----------
    lines_ : dict of str to matplotlib Line2D
        ``"actual"`` and ``"predicted"``.
    ax_ : matplotlib Axes
        The axes drawn on.
    figure_ : matplotlib Figure
        The figure holding ``ax_``.

    See Also
    --------
    sklearn.metrics.PredictionErrorDisplay : Predicted against actual values.
    LossCurveDisplay : Loss against the epoch.

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from sknet import TimeSeriesPredictionDisplay
    >>> quarters = pd.date_range("2000-01-01", periods=4, freq="QS")
    >>> y_true = pd.Series([0.1, 0.3, -0.2, 0.0], index=quarters)
    >>> display = TimeSeriesPredictionDisplay.from_predictions(
    ...     y_true, [0.0, 0.2, -0.1, 0.1], ax=Figure().subplots()
    ... )
    >>> sorted(display.lines_)
    ['actual', 'predicted']
    """

    def __init__(self, *, y_true, y_pred, index=None, estimator_name=None):
        self.y_true = y_true
        self.y_pred = y_pred
        self.index = index
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        index=None,
        ax=None,
        name=None,
        actual_kwargs=None,
        predicted_kwargs=None,
    ):
        """Predict ``X`` with a fitted estimator and plot against ``y``.

        Parameters
        ----------
        estimator : fitted regressor
            Any scikit-learn regressor with one target, such as a
            :class:`NetRegressor` or a Pipeline ending in one.
        X : array-like of shape (n_samples, n_features)
            Inputs, in time order.
        y : array-like of shape (n_samples,)
            Actual values.
        index : array-like of shape (n_samples,), default=None
            The time of each row. None uses the index of ``X`` or ``y``
            when they are pandas objects, and row positions otherwise.
        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a figure with pyplot.
        name : str, default=None
            Label of the predicted curve. None uses the estimator's class
            name.
        actual_kwargs, predicted_kwargs : dict, default=None
            Keyword arguments for ``ax.plot`` of each curve.

        Returns
        -------
        display : TimeSeriesPredictionDisplay
        """
        if index is None:
            index = _pandas_index(X)
        return cls.from_predictions(
            y,
            estimator.predict(X),
            index=index,
            ax=ax,
            name=name or type(_final_step(estimator)).__name__,
            actual_kwargs=actual_kwargs,
            predicted_kwargs=predicted_kwargs,
        )

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_pred,
        *,
        index=None,
        ax=None,
        name=None,
        actual_kwargs=None,
        predicted_kwargs=None,
    ):
        """Plot actual against predicted values over time.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Actual values, in time order.
        y_pred : array-like of shape (n_samples,)
            Predicted values for the same rows.
        index : array-like of shape (n_samples,), default=None
            The time of each row. None uses the index of ``y_true`` when it
            is a pandas Series, and row positions otherwise.
        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a figure with pyplot.
        name : str, default=None
            Label of the predicted curve. None labels it "predicted".
        actual_kwargs, predicted_kwargs : dict, default=None
            Keyword arguments for ``ax.plot`` of each curve.

        Returns
        -------
        display : TimeSeriesPredictionDisplay
        """
        if index is None:
            index = _pandas_index(y_true)
        display = cls(y_true=y_true, y_pred=y_pred, index=index, estimator_name=name)
        return display.plot(
            ax=ax, actual_kwargs=actual_kwargs, predicted_kwargs=predicted_kwargs
        )

    def plot(self, ax=None, *, name=None, actual_kwargs=None, predicted_kwargs=None):
        """Draw the two curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on. None creates a figure with pyplot.
        name : str, default=None
            Label of the predicted curve; None uses ``estimator_name``.
        actual_kwargs, predicted_kwargs : dict, default=None
            Keyword arguments for ``ax.plot`` of each curve.

        Returns
        -------
        display : TimeSeriesPredictionDisplay
            This object, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        y_true, y_pred, index = self._checked_data()
        ax = _axes(ax, type(self).__name__)

        label = name or self.estimator_name or "predicted"
        lines = {}
        (lines["actual"],) = ax.plot(
            index, y_true, **{"label": "actual", "marker": ".", **(actual_kwargs or {})}
        )
        (lines["predicted"],) = ax.plot(
            index, y_pred, **{"label": label, "marker": ".", **(predicted_kwargs or {})}
        )

        holds_dates = _holds_dates(index)
        if holds_dates:
            _format_date_axis(ax)
        default_xlabel = "date" if holds_dates else "row"
        ax.set_xlabel(getattr(self.index, "name", None) or default_xlabel)
        ax.set_ylabel(getattr(self.y_true, "name", None) or "target")
        ax.legend()
        self.ax_, self.figure_, self.lines_ = ax, ax.figure, lines
        return self

    def _checked_data(self):
        y_true = column_or_1d(self.y_true)
        y_pred = column_or_1d(self.y_pred)
        index = np.arange(len(y_true)) if self.index is None else self.index
        if not len(y_true) == len(y_pred) == len(index):
            raise ValueError(
                f"y_true, y_pred and index must have one entry per row; got "
                f"{len(y_true)}, {len(y_pred)} and {len(index)}."
            )
        return y_true, y_pred, index


def _final_step(estimator):
    """Return the last step of a Pipeline, or the estimator itself."""
    return estimator[-1] if isinstance(estimator, Pipeline) else estimator


def _pandas_index(data):
    """Return the index of a pandas Series or DataFrame, None for anything else."""
    return data.index if hasattr(data, "iloc") else None


def _axes(ax, caller):
    """Return ``ax``, or new pyplot axes when it is None."""
    if importlib.util.find_spec("matplotlib") is None:
        raise ImportError(
            f"{caller} needs matplotlib, which is not installed. Install it "
            "with: pip install matplotlib (or pip install 'sknet[cli]')"
        )
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _holds_dates(index):
    # The kind "M" covers NumPy datetime64 and time-zone aware pandas dates.
    return getattr(getattr(index, "dtype", None), "kind", "") == "M"


def _format_date_axis(ax):
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
