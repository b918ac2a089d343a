"""NetRegressorCV against grid searches that train one network at a time.

Every contender searches the same 8 learning rates over the same 5 folds,
trains the same network (:class:`sknet.Net`, one hidden ReLU layer of 32)
with plain full-batch SGD for the same number of epochs, scores by mean
squared error on the held-out fold and refits the best candidate on all
rows.
"""

import warnings
from functools import partial

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.neural_network import MLPRegressor

from sknet import NetRegressor, NetRegressorCV

from .data import synthetic, workflow_split
from .measure import alternate, medians, run_child
from .report import Row

LEARNING_RATES = [0.0001, 0.0003, 0.001, 0.002, 0.003, 0.005, 0.01, 0.02]
N_FOLDS = 5
CV = KFold(N_FOLDS)
SCORING = "neg_mean_squared_error"


def vectorised(X, y, epochs, n_jobs=None):
    search = NetRegressorCV(
        {"lr": LEARNING_RATES},
        cv=CV,
        max_epochs=epochs,
        random_state=0,
        n_jobs=n_jobs,
    )
    return search.fit(X, y)


def grid_of_networks(X, y, epochs, n_jobs=1):
    estimator = NetRegressor(max_epochs=epochs, random_state=0)
    search = GridSearchCV(
        estimator, {"lr": LEARNING_RATES}, cv=CV, scoring=SCORING, n_jobs=n_jobs
    )
    return search.fit(X, y)


def grid_of_mlps(X, y, epochs, n_jobs=1):
    # The same training as the others: plain full-batch SGD (batch_size
    # "auto" is the whole fold below 200 rows), no L2 penalty, no shuffling
    # and no stopping before max_iter.
    estimator = MLPRegressor(
        hidden_layer_sizes=(32,),
        solver="sgd",
        momentum=0.0,
        alpha=0.0,
        shuffle=False,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    search = GridSearchCV(
        estimator,
        {"learning_rate_init": LEARNING_RATES},
        cv=CV,
        scoring=SCORING,
        n_jobs=n_jobs,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return search.fit(X, y)


def workflow_search(settings, notes):
    """The workflow's rows: 5 folds x 8 learning rates, full batch."""
    split = workflow_split()
    X, y = split.X_train, split.y_train
    epochs = settings.cv_epochs
    runs = {
        "NetRegressorCV": partial(vectorised, X, y, epochs),
        "GridSearchCV(NetRegressor)": partial(grid_of_networks, X, y, epochs),
        "GridSearchCV(MLPRegressor)": partial(grid_of_mlps, X, y, epochs),
    }
    repeats = {
        "NetRegressorCV": settings.cv_repeats,
        "GridSearchCV(NetRegressor)": settings.grid_repeats,
        "GridSearchCV(MLPRegressor)": settings.cv_repeats,
    }
    warmups = {name: partial(run.func, X, y, 5) for name, run in runs.items()}
    seconds = medians(alternate(runs, repeats, warmups))

    n_rows, n_features = X.shape
    label = f"CV {n_rows}x{n_features}, 5 folds x 8 lr, {epochs} epochs"
    mine = seconds["NetRegressorCV"]
    notes.append(
        f"CV {n_rows}x{n_features}: {N_FOLDS * len(LEARNING_RATES)} networks, "
        f"{mine / epochs / 40 * 1e6:.0f} us per network and epoch in "
        "NetRegressorCV, refit included; every contender refits the best "
        "candidate on all rows, n_jobs=1."
    )
    return [
        Row(
            label,
            "wall time",
            "s",
            mine,
            "GridSearchCV(NetRegressor)",
            seconds["GridSearchCV(NetRegressor)"],
            ("<=", 0.25),
        ),
        Row(
            label,
            "wall time",
            "s",
            mine,
            "GridSearchCV(MLPRegressor)",
            seconds["GridSearchCV(MLPRegressor)"],
            ("<=", 0.5),
        ),
    ]


def large_search(settings, notes):
    """20,000 x 10: both searches with two joblib workers."""
    X, y = synthetic(settings.cv_large_rows, 10)
    epochs = settings.cv_large_epochs
    mine, theirs = "NetRegressorCV(n_jobs=2)", "GridSearchCV(NetRegressor, n_jobs=2)"
    runs = {
        mine: partial(vectorised, X, y, epochs, 2),
        theirs: partial(grid_of_networks, X, y, epochs, 2),
    }
    # joblib keeps its worker processes between calls; start them first.
    warmups = {
        mine: partial(vectorised, X, y, 1, 2),
        theirs: partial(grid_of_networks, X, y, 1, 2),
    }
    seconds = medians(alternate(runs, settings.grid_repeats, warmups))
    label = f"CV {len(X)}x10, 5 folds x 8 lr, {epochs} epochs"
    notes.append(
        f"CV {len(X)}x10: NetRegressorCV splits its 40 networks into vectorised "
        "runs that keep activations bounded and trains the runs in two joblib "
        "workers, as GridSearchCV trains its fits; it also evaluates every "
        "network's held-out rows after every epoch, which GridSearchCV does not."
    )
    return [
        Row(
            label, "wall time", "s", seconds[mine], theirs, seconds[theirs], ("<=", 1.0)
        )
    ]


def memory(settings, notes):
    """Peak memory against the number of folds and of candidates."""
    n_rows = settings.cv_memory_rows
    base = run_child("cv-memory", "NetRegressorCV", n_rows, N_FOLDS, 8)
    more_folds = run_child("cv-memory", "NetRegressorCV", n_rows, 2 * N_FOLDS, 8)
    more_candidates = run_child("cv-memory", "NetRegressorCV", n_rows, N_FOLDS, 16)

    def rise(measured):
        return measured["peak_mb"] - measured["baseline_mb"]

    data_mb = base["data_mb"]
    label = f"CV memory, {n_rows}x10 float64"
    notes.append(
        "CV memory: peak resident memory of a fresh process above its level "
        f"before the data exist; X and y take {data_mb:.0f} MiB. A fold costs two "
        "weight columns on the rows (and scikit-learn's index arrays), about a "
        "fifth of a copy of these 10 columns; doubling the candidates adds their "
        "weights and losses, while activations stay bounded per vectorised run. "
        "Peak memory swings by about 20 MiB between identical runs."
    )
    return [
        Row(label, "peak memory rise", "MiB", rise(base), "data size", data_mb),
        Row(
            label,
            "added by 5 more folds",
            "MiB",
            rise(more_folds) - rise(base),
            "5 copies of X",
            N_FOLDS * data_mb,
            ("<=", 1.0),
        ),
        Row(
            label,
            "added by 8 more candidates",
            "MiB",
            rise(more_candidates) - rise(base),
            "1 copy of X",
            data_mb,
            ("<=", 1.0),
        ),
    ]


def memory_child(n_rows, n_folds, n_candidates):
    """Fit NetRegressorCV once on ``n_rows`` x 10 rows (in a child process)."""
    X, y = synthetic(n_rows, 10)
    rates = np.geomspace(1e-4, 1e-2, n_candidates).tolist()
    search = NetRegressorCV(
        {"lr": rates}, cv=KFold(n_folds), max_epochs=3, random_state=0
    )
    return search.fit(X, y), (X, y)


SCENARIOS = {
    "cv": workflow_search,
    "cv-large": large_search,
    "cv-memory": memory,
}
