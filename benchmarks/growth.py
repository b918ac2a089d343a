"""How the cost of a fit grows with rows and with epochs, and its plot."""

from functools import partial

import numpy as np

from .contenders import BATCHES, WORKFLOW
from .data import synthetic, workflow_split
from .measure import alternate, medians

ROW_COUNTS = (1_000, 10_000, 100_000, 1_000_000)
EPOCH_COUNTS = (500, 1_000, 2_000, 4_000, 8_000)
CONTENDERS = ("NetRegressor", "hand loop")


def against_rows(repeats):
    """Seconds of one epoch of mini-batches of 256 over n x 50 float32 rows."""
    seconds = {name: [] for name in CONTENDERS}
    for n_rows in ROW_COUNTS:
        X, y = synthetic(n_rows, 50, np.float32)
        runs = {
            name: partial(BATCHES[name], X, y, epochs=1, batch_size=256)
            for name in CONTENDERS
        }
        for name, value in medians(alternate(runs, repeats)).items():
            seconds[name].append(value)
    return ROW_COUNTS, seconds


def against_epochs(repeats):
    """Seconds of the full-batch workflow for a growing number of epochs."""
    split = workflow_split()
    seconds = {name: [] for name in CONTENDERS}
    for epochs in EPOCH_COUNTS:
        runs = {name: partial(WORKFLOW[name], split, epochs) for name in CONTENDERS}
        warmups = {name: partial(WORKFLOW[name], split, 10) for name in CONTENDERS}
        for name, value in medians(alternate(runs, repeats, warmups)).items():
            seconds[name].append(value)
    return EPOCH_COUNTS, seconds


def straight_line(sizes, seconds):
    """Fit ``seconds = fixed + per_unit * size`` to relative error.

    Returns ``fixed``, ``per_unit`` and the largest relative distance of a
    measured point from the line: small when the cost is linear.
    """
    sizes, seconds = np.asarray(sizes, float), np.asarray(seconds, float)
    per_unit, fixed = np.polyfit(sizes, seconds, 1, w=1 / seconds)
    worst = np.max(np.abs(fixed + per_unit * sizes - seconds) / seconds)
    return fixed, per_unit, worst


def describe(rows, epochs):
    """Return one note per measured growth, with its straight-line fit."""
    notes = []
    for (sizes, seconds), what, scale in (
        (rows, "rows", 1e6),
        (epochs, "epochs", 1e3),
    ):
        for name, values in seconds.items():
            _, per_unit, worst = straight_line(sizes, values)
            notes.append(
                f"growth with {what} ({sizes[0]:,} to {sizes[-1]:,}): {name} "
                f"{per_unit * scale:.3g} s per {scale:,.0f} {what} plus a fixed "
                f"cost; every point within {worst:.0%} of that straight line"
            )
    return notes


def plot(rows, epochs, path):
    """Save both growths to ``path``: time per unit against size, log x."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
    panels = (
        (
            axes[0],
            rows,
            1e6,
            "rows (x 50 float32 features, 1 epoch, batch 256)",
            "seconds per million rows",
        ),
        (
            axes[1],
            epochs,
            1e3,
            "epochs (workflow, 161 x 11 rows, full batch)",
            "seconds per thousand epochs",
        ),
    )
    for ax, (sizes, seconds), scale, xlabel, ylabel in panels:
        grid = np.geomspace(sizes[0], sizes[-1], 100)
        for (name, values), marker in zip(seconds.items(), "os", strict=False):
            fixed, per_unit, _ = straight_line(sizes, values)
            (line,) = ax.semilogx(
                sizes,
                np.asarray(values) / np.asarray(sizes) * scale,
                marker,
                label=name,
            )
            ax.semilogx(
                grid,
                (fixed / grid + per_unit) * scale,
                "--",
                lw=1,
                color=line.get_color(),
            )
        ax.set_xticks(sizes, [f"{size:,}" for size in sizes])
        ax.minorticks_off()
        ax.set_ylim(bottom=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(title="dashed: fixed cost + constant cost per unit")
    figure.suptitle("Wall time per unit levels off: the cost of a fit grows linearly")
    figure.savefig(path, dpi=110)
    plt.close(figure)
