"""The scenarios: each runs its contenders and returns table rows.

Every scenario function takes the :class:`Settings` and a list to which it
appends notes for below the table, and returns a list of
:class:`~benchmarks.report.Row`.
"""

import os
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from sklearn.model_selection import GridSearchCV

from sknet import NetRegressor

from .contenders import BATCHES, WORKFLOW, raw_forward
from .cv import SCENARIOS as CV_SCENARIOS
from .data import synthetic, workflow_split
from .measure import (
    alternate,
    callgrind_available,
    instructions_per_epoch,
    medians,
    run_child,
)
from .report import Row

HAND = "hand loop"
SKNET = "NetRegressor"
FLOAT32 = "NetRegressor float32"


@dataclass
class Settings:
    """How long each scenario runs."""

    repeats: int  # of the fast contenders on small data
    large_repeats: int  # of the fast contenders on a million rows
    skorch_repeats: int  # of stock skorch, the slowest contender
    workflow_epochs: int
    mini_batch_rows: int
    predict_rows: int
    grid_epochs: int
    grid_repeats: int
    cv_epochs: int
    cv_repeats: int  # of NetRegressorCV and the MLPRegressor search
    cv_large_rows: int
    cv_large_epochs: int
    cv_memory_rows: int
    callgrind: bool
    growth: bool


FULL = Settings(
    repeats=9,
    large_repeats=5,
    skorch_repeats=2,
    workflow_epochs=2000,
    mini_batch_rows=1_000_000,
    predict_rows=1_000_000,
    grid_epochs=2000,
    grid_repeats=2,
    cv_epochs=2000,
    cv_repeats=3,
    cv_large_rows=20_000,
    cv_large_epochs=50,
    cv_memory_rows=200_000,
    callgrind=True,
    growth=True,
)
QUICK = Settings(
    repeats=2,
    large_repeats=2,
    skorch_repeats=1,
    workflow_epochs=200,
    mini_batch_rows=50_000,
    predict_rows=100_000,
    grid_epochs=50,
    grid_repeats=1,
    cv_epochs=100,
    cv_repeats=1,
    cv_large_rows=5_000,
    cv_large_epochs=5,
    cv_memory_rows=20_000,
    callgrind=False,
    growth=False,
)

# Instructions are counted over these (low, high) epoch counts; stock skorch
# spends about ten times as many per epoch, so it gets fewer.
CALLGRIND_EPOCHS = {SKNET: (200, 400), HAND: (200, 400), "skorch": (50, 100)}


def workflow(settings, notes):
    """The full-batch workflow on the economic data, testing every epoch."""
    split = workflow_split()
    epochs = settings.workflow_epochs
    runs = {name: partial(fit, split, epochs) for name, fit in WORKFLOW.items()}
    warmups = {name: partial(fit, split, 20) for name, fit in WORKFLOW.items()}
    repeats = _repeats(runs, settings.repeats, settings)
    seconds = medians(alternate(runs, repeats, warmups))

    n_train, n_features = split.X_train.shape
    label = f"workflow {n_train}x{n_features}, {epochs} epochs"
    targets = {HAND: ("<=", 1.1), "skorch": ("<=", 0.25), "MLPRegressor": None}
    rows = [
        Row(label, "wall time", "s", seconds[SKNET], name, seconds[name], target)
        for name, target in targets.items()
    ]
    notes.append(
        f"workflow: {len(split.X_test)} test rows evaluated after every epoch by "
        "all but MLPRegressor, which cannot; its time covers training alone."
    )

    if not settings.callgrind:
        return rows
    if not callgrind_available():
        notes.append("instructions per epoch: skipped, valgrind is not installed.")
        return rows
    counts = instructions_per_epoch([SKNET, HAND, "skorch"], CALLGRIND_EPOCHS)
    for name, target in ((HAND, ("<=", 0.9)), ("skorch", None)):
        rows.append(
            Row(
                label,
                "instructions/epoch",
                "instructions",
                counts[SKNET],
                name,
                counts[name],
                target,
            )
        )
    notes.append(
        "instructions/epoch: callgrind, one torch thread, the count of "
        "(high - low) epochs over their number: "
        + ", ".join(
            f"{name} {low}->{high}" for name, (low, high) in CALLGRIND_EPOCHS.items()
        )
        + "."
    )
    return rows


def full_batch(settings, notes):
    """20,000 x 10 rows, 16 hidden units, 30 full-batch epochs, no test rows."""
    X, y = synthetic(20_000, 10)
    options = {"batch_size": None, "hidden": 16}
    contenders = {**BATCHES, FLOAT32: partial(BATCHES[SKNET], dtype="float32")}
    runs = {
        name: partial(fit, X, y, epochs=30, **options)
        for name, fit in contenders.items()
    }
    warmups = {
        name: partial(fit, X, y, epochs=2, **options)
        for name, fit in contenders.items()
    }
    repeats = _repeats(runs, settings.repeats, settings)
    seconds = medians(alternate(runs, repeats, warmups))
    label = "full batch 20000x10, 30 epochs"
    targets = {HAND: ("<=", 1.2), "skorch": None, "MLPRegressor": None, FLOAT32: None}
    notes.append(
        f"full batch: '{FLOAT32}' is NetRegressor with dtype='float32' on the "
        "same float64 data; every other contender computes in float64 there."
    )
    return [
        Row(label, "wall time", "s", seconds[SKNET], name, seconds[name], target)
        for name, target in targets.items()
    ]


def mini_batch(settings, notes):
    """One epoch of mini-batches of 256 over float32 rows, and its memory."""
    n_rows = settings.mini_batch_rows
    X, y = synthetic(n_rows, 50, np.float32)
    runs = {
        name: partial(fit, X, y, epochs=1, batch_size=256)
        for name, fit in BATCHES.items()
    }
    warmups = {
        name: partial(fit, X[:5000], y[:5000], epochs=1, batch_size=256)
        for name, fit in BATCHES.items()
    }
    repeats = _repeats(runs, settings.large_repeats, settings)
    seconds = medians(alternate(runs, repeats, warmups))
    rate = {name: n_rows / value for name, value in seconds.items()}
    label = f"mini-batch {n_rows}x50 float32, batch 256, 1 epoch"
    targets = {HAND: (">=", 0.9), "skorch": (">=", 3.0), "MLPRegressor": None}
    rows = [
        Row(label, "samples/s", "samples/s", rate[SKNET], name, rate[name], target)
        for name, target in targets.items()
    ]
    del X, y
    return rows + _memory_rows(label, n_rows, notes)


def _memory_rows(label, n_rows, notes):
    measured = {name: run_child("memory", name, n_rows, 1) for name in BATCHES}
    three_epochs = run_child("memory", SKNET, n_rows, 3)
    rise = {name: m["peak_mb"] - m["baseline_mb"] for name, m in measured.items()}
    data_mb = measured[SKNET]["data_mb"]

    measure = "peak memory rise"
    rows = [Row(label, measure, "MiB", rise[SKNET], "data size", data_mb, ("<=", 2.0))]
    rows += [
        Row(label, measure, "MiB", rise[SKNET], name, rise[name])
        for name in (HAND, "skorch", "MLPRegressor")
    ]
    rows.append(
        Row(
            label,
            "memory rise, 3 epochs",
            "MiB",
            three_epochs["peak_mb"] - three_epochs["baseline_mb"],
            "NetRegressor, 1 epoch",
            rise[SKNET],
            ("<=", 1.05),
        )
    )
    shares = measured[SKNET]["shares_memory"] and three_epochs["shares_memory"]
    notes.append(
        "memory: peak resident memory of a fresh process per contender, above "
        "its own level once Python, torch, scikit-learn, skorch and sknet are "
        "imported and before the data exist (so the data count once). "
        "NetRegressor trains on the caller's X itself, not a copy: "
        f"{'yes' if shares else 'NO'}."
    )
    return rows


def predict(settings, notes):
    """Predicting float32 rows with a fitted model, against a bare forward."""
    n_rows = settings.predict_rows
    X, y = synthetic(n_rows, 50, np.float32)
    fitted = {
        name: fit(X[:10_000], y[:10_000], epochs=5)
        for name, fit in BATCHES.items()
        if name != HAND
    }
    module = fitted[SKNET].module_
    runs = {
        SKNET: partial(fitted[SKNET].predict, X),
        "module forward": partial(raw_forward, module, X),
        "skorch": partial(fitted["skorch"].predict, X),
        "MLPRegressor": partial(fitted["MLPRegressor"].predict, X),
    }
    few = X[:1000]
    warmups = {
        SKNET: partial(fitted[SKNET].predict, few),
        "module forward": partial(raw_forward, module, few),
        "skorch": partial(fitted["skorch"].predict, few),
        "MLPRegressor": partial(fitted["MLPRegressor"].predict, few),
    }
    repeats = _repeats(runs, settings.large_repeats, settings)
    seconds = medians(alternate(runs, repeats, warmups))
    rate = {name: n_rows / value for name, value in seconds.items()}
    label = f"predict {n_rows}x50 float32"
    targets = {"module forward": (">=", 0.9), "skorch": None, "MLPRegressor": None}
    notes.append(
        "predict: 'module forward' is the fitted module called once on all "
        "rows under torch.inference_mode, from NumPy array to NumPy array."
    )
    return [
        Row(label, "samples/s", "samples/s", rate[SKNET], name, rate[name], target)
        for name, target in targets.items()
    ]


def _repeats(runs, fast, settings):
    """Rounds per contender: ``fast`` for all but stock skorch."""
    return {
        name: settings.skorch_repeats if name == "skorch" else fast for name in runs
    }


GRID = {
    "lr": [0.0005, 0.001, 0.002, 0.005],
    "module__hidden_layer_sizes": [(16,), (32,)],
}


def grid_search(settings, notes):
    """GridSearchCV over 8 candidates x 3 folds of the workflow, 1 or 2 jobs."""
    split = workflow_split()
    fit_data = (split.X_train, split.y_train)
    validation = {"X_val": split.X_test, "y_val": split.y_test}

    def search(n_jobs, epochs, **options):
        estimator = NetRegressor(max_epochs=epochs, random_state=0)
        searcher = GridSearchCV(estimator, GRID, cv=3, n_jobs=n_jobs, **options)
        return searcher.fit(*fit_data, **validation)

    # joblib keeps its worker processes between calls; start them first.
    threads = search(2, 1, scoring=_torch_threads, refit=False)
    worker_threads = float(np.max(threads.cv_results_["mean_test_score"]))
    runs = {
        "n_jobs=2": partial(search, 2, settings.grid_epochs),
        "n_jobs=1": partial(search, 1, settings.grid_epochs),
    }
    warmups = {"n_jobs=2": partial(search, 2, 1), "n_jobs=1": partial(search, 1, 1)}
    seconds = medians(alternate(runs, settings.grid_repeats, warmups))

    cores = os.cpu_count()
    label = f"GridSearchCV 8x3 folds, {settings.grid_epochs} epochs"
    notes.append(
        f"grid search: {cores} cores; torch uses {torch.get_num_threads()} threads "
        f"in this process and {worker_threads:g} in each joblib worker (joblib "
        "caps a worker's threads at cores // n_jobs). Timed with the workers "
        "already started; the final refit runs in this process alone."
    )
    return [
        Row(
            label,
            "wall time",
            "s",
            seconds["n_jobs=2"],
            "n_jobs=1",
            seconds["n_jobs=1"],
            ("<=", 1 / 1.6),
        ),
        Row(
            label,
            "torch threads/worker",
            "count",
            worker_threads,
            "cores / n_jobs",
            cores / 2,
            ("<=", 1.0),
        ),
    ]


def _torch_threads(estimator, X, y):
    """A scorer that reports how many threads torch uses where it runs."""
    return float(torch.get_num_threads())


SCENARIOS = {
    "workflow": workflow,
    "full-batch": full_batch,
    "mini-batch": mini_batch,
    "predict": predict,
    "grid": grid_search,
    **CV_SCENARIOS,
}
