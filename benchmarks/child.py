"""Measurements that need a process of their own.

``python -m benchmarks.child memory CONTENDER N_ROWS EPOCHS`` trains one
contender in mini-batches of 256 on ``N_ROWS`` x 50 float32 rows and
prints, as JSON, its peak resident memory and the baseline it rose from.

``python -m benchmarks.child cv-memory NetRegressorCV N_ROWS N_FOLDS
N_CANDIDATES`` fits NetRegressorCV for 3 epochs on ``N_ROWS`` x 10 rows
and prints its peak resident memory the same way.

``python -m benchmarks.child instructions CONTENDER LOW HIGH`` must run
under ``valgrind --tool=callgrind --instr-atstart=no``. It fits the
workflow for ``LOW`` and then ``HIGH`` epochs, with callgrind counting
only during each fit and dumping its count after it.
"""

import json
import os
import subprocess
import sys

import numpy as np
import torch
from skorch.callbacks import Callback

from .contenders import BATCHES, WORKFLOW
from .data import megabytes, synthetic, workflow_split

MINI_BATCH = 256
N_FEATURES = 50


class SharesMemory(Callback):
    """Record whether NetRegressor trains on X itself rather than a copy.

    It keeps only the address of X's data: NetRegressor trains with a copy
    of each callback, and a copy of X would be a copy of the data.
    """

    def __init__(self, address):
        self.address = address

    def on_train_begin(self, net, X=None, **kwargs):
        self.shares_ = X.train.X.data_ptr() == self.address


def memory(contender, n_rows, epochs):
    # The baseline is the interpreter with torch, scikit-learn, skorch and
    # sknet imported and warmed up by a fit on a few rows (torch allocates
    # its thread pools and caches once per process), but without the data.
    # Importing peaks above where it settles, so the peak starts again here.
    options = {"epochs": epochs, "batch_size": MINI_BATCH}
    BATCHES[contender](*synthetic(1000, N_FEATURES, np.float32), **options)
    _reset_peak_rss()
    baseline = _status_mb("VmRSS")

    X, y = synthetic(n_rows, N_FEATURES, np.float32)
    if contender == "NetRegressor":
        options["callbacks"] = [SharesMemory(X.ctypes.data)]
    fitted = BATCHES[contender](X, y, **options)
    shares = None
    if contender == "NetRegressor":
        probes = [c for _, c in fitted.net_.callbacks_ if isinstance(c, SharesMemory)]
        shares = probes[0].shares_
    return {
        "baseline_mb": baseline,
        "peak_mb": _status_mb("VmHWM"),
        "data_mb": megabytes(X, y),
        "shares_memory": shares,
    }


def cv_memory(contender, n_rows, n_folds, n_candidates):
    """Peak memory of one NetRegressorCV fit, above the level before the data."""
    from .cv import memory_child

    memory_child(200, n_folds, n_candidates)  # one-off allocations first
    _reset_peak_rss()
    baseline = _status_mb("VmRSS")
    _, data = memory_child(n_rows, n_folds, n_candidates)
    return {
        "baseline_mb": baseline,
        "peak_mb": _status_mb("VmHWM"),
        "data_mb": megabytes(*data),
    }


def instructions(contender, low, high):
    # Callgrind runs threads one at a time and would count a spinning
    # thread pool's waiting as work.
    torch.set_num_threads(1)
    split = workflow_split()
    fit = WORKFLOW[contender]
    fit(split, epochs=20)  # first-call costs stay out of the counts
    for epochs in (low, high):
        _callgrind_control("--instr=on")
        fit(split, epochs=epochs)
        _callgrind_control("--instr=off")
        _callgrind_control("--dump")
    return {"epochs": [low, high]}


def _callgrind_control(option):
    subprocess.run(
        ["callgrind_control", option, str(os.getpid())],
        check=True,
        capture_output=True,
    )


def _reset_peak_rss():
    """Make the kernel's peak resident size (VmHWM) start again from now."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def _status_mb(field):
    """Return a memory figure of /proc/self/status (VmRSS, VmHWM) in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field} line.")


def main(arguments):
    task, contender, *numbers = arguments
    tasks = {"memory": memory, "instructions": instructions, "cv-memory": cv_memory}
    result = tasks[task](contender, *map(int, numbers))
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
