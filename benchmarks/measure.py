"""Wall time, peak memory and instruction counts."""

import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def alternate(runs, repeats, warmups=None):
    """Time each run in turn, round after round; return seconds per run.

    ``runs`` maps a name to a callable. ``repeats`` is the number of rounds,
    or a mapping from name to the number of rounds that run takes part in
    (slow contenders can sit out the later rounds). Each callable in
    ``warmups`` (by default ``runs`` itself) is called once first, so that
    first-call costs (thread pools, lazy imports, allocator growth) stay out
    of the timings. The rounds rotate which run goes first.
    """
    if not isinstance(repeats, dict):
        repeats = dict.fromkeys(runs, repeats)
    for warmup in (warmups or runs).values():
        warmup()
    seconds = {name: [] for name in runs}
    for round_number in range(max(repeats.values())):
        names = [name for name in runs if repeats[name] > round_number]
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            start = time.perf_counter()
            runs[name]()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def medians(seconds):
    return {name: statistics.median(values) for name, values in seconds.items()}


def run_child(*arguments):
    """Run ``python -m benchmarks.child ARGUMENTS``; return the JSON it prints."""
    command = [sys.executable, "-m", "benchmarks.child", *map(str, arguments)]
    finished = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if finished.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed with exit code {finished.returncode}:\n"
            f"{finished.stderr[-3000:]}"
        )
    return json.loads(finished.stdout.strip().splitlines()[-1])


def callgrind_available():
    return shutil.which("valgrind") is not None and (
        shutil.which("callgrind_control") is not None
    )


def instructions_per_epoch(contenders, epoch_counts):
    """Count the instructions of one epoch of the workflow, per contender.

    Each contender runs in its own process under callgrind, with the
    counting switched on only around two fits of ``low`` and ``high``
    epochs; the difference of the two counts divided by ``high - low`` is
    one epoch, free of set-up costs. Callgrind counts exactly, so the result
    repeats to within a few instructions, unlike wall time.

    ``epoch_counts`` maps each contender to its ``(low, high)``. Two
    processes run at a time.
    """
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(_count_under_callgrind, name, *epoch_counts[name])
            for name in contenders
        }
        return {name: future.result() for name, future in futures.items()}


def _count_under_callgrind(contender, low, high):
    with tempfile.TemporaryDirectory() as directory:
        out = os.path.join(directory, "callgrind.out")
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "benchmarks.child",
            "instructions",
            contender,
            str(low),
            str(high),
        ]
        finished = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, check=False
        )
        if finished.returncode != 0:
            raise RuntimeError(
                f"callgrind run of {contender!r} failed:\n{finished.stderr[-3000:]}"
            )
        # The child dumps the counts after each of its two fits.
        low_count, high_count = (_total_instructions(f"{out}.{i}") for i in (1, 2))
    return (high_count - low_count) / (high - low)


def _total_instructions(path):
    with open(path) as dump:
        for line in dump:
            if line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError(f"No 'totals:' line in the callgrind dump {path}.")
