#!/usr/bin/env bash
# The GPU check behind docs/scale_out.md. Run it on a machine with a CUDA GPU
# and a CUDA build of torch, from a checkout with sknet installed:
#
#   bash benchmarks/gpu_check.sh            # or PYTHON=/path/to/python bash ...
#
# It runs the GPU tests (tests/test_devices.py, which skip without CUDA) and
# a short benchmark, CPU against GPU in float32 and float64, and prints a
# Markdown table to paste into the "GPU" section of docs/scale_out.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}

"$PYTHON" -c 'import sys, torch
if not torch.cuda.is_available():
    sys.exit("gpu_check: PyTorch sees no CUDA device; run this on a GPU machine.")
print("torch", torch.__version__, "on", torch.cuda.get_device_name(0))'

# -rs lists skipped tests: on a GPU machine none of the GPU tests may skip.
"$PYTHON" -m pytest -q -rs -p no:cacheprovider tests/test_devices.py

"$PYTHON" - <<'PYTHON'
import time

import numpy as np

from sknet import NetRegressor

rng = np.random.default_rng(0)
X = rng.normal(size=(50_000, 32))
y = np.sin(X[:, :4]).sum(axis=1) + 0.1 * rng.normal(size=len(X))
CASES = {
    "mini-batch (512 rows, 5 epochs)": {"batch_size": 512, "max_epochs": 5},
    "full-batch (200 epochs)": {"batch_size": None, "max_epochs": 200},
}


def seconds(device, dtype, settings):
    reg = NetRegressor(
        optimizer="adam", lr=1e-3, module__hidden_layer_sizes=(256, 256),
        dtype=dtype, device=device, random_state=0, **settings,
    )
    start = time.perf_counter()
    reg.fit(X, y)  # every batch reads its loss back, so the GPU has finished
    fit = time.perf_counter() - start
    start = time.perf_counter()
    reg.predict(X)
    return fit, time.perf_counter() - start


seconds("cuda", "float32", {"max_epochs": 1})  # CUDA start-up, not timed
print("\n| case | dtype | CPU fit (s) | GPU fit (s) | CPU predict (s) | GPU predict (s) |")
print("|---|---|---|---|---|---|")
for name, settings in CASES.items():
    for dtype in ("float32", "float64"):
        cpu_fit, cpu_predict = seconds("cpu", dtype, settings)
        gpu_fit, gpu_predict = seconds("cuda", dtype, settings)
        print(
            f"| {name} | {dtype} | {cpu_fit:.2f} | {gpu_fit:.2f} "
            f"| {cpu_predict:.3f} | {gpu_predict:.3f} |"
        )
PYTHON
