"""Run the benchmarks and print one table.

Usage, from the repository root::

    python -m benchmarks              # everything, about ten minutes
    python -m benchmarks --quick      # a smoke run of every scenario
    python -m benchmarks --only workflow predict --no-callgrind
"""

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import sklearn
import skorch
import torch

import sknet

from . import growth
from .measure import ROOT
from .report import format_table
from .scenarios import FULL, QUICK, SCENARIOS

DEFAULT_PLOT = ROOT / "docs" / "performance_growth.png"


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="NetRegressor and NetRegressorCV side by side with a "
        "hand-written PyTorch loop, stock skorch, MLPRegressor and grid searches.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes and one or two repeats: checks that everything runs",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=list(SCENARIOS),
        help="run only these scenarios",
    )
    parser.add_argument(
        "--no-callgrind",
        action="store_true",
        help="skip counting instructions per epoch under valgrind (about a minute)",
    )
    parser.add_argument(
        "--no-growth",
        action="store_true",
        help="skip measuring growth with rows and epochs (about a minute)",
    )
    parser.add_argument(
        "--plot",
        type=Path,
        default=DEFAULT_PLOT,
        help="where to save the growth plot (default: docs/performance_growth.png)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="torch intra-op threads for every contender (default: torch's own)",
    )
    parser.add_argument(
        "--json", type=Path, help="also write every figure to this JSON file"
    )
    return parser.parse_args(argv)


def main(argv=None):
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    settings = QUICK if arguments.quick else FULL
    settings = replace(
        settings,
        callgrind=settings.callgrind and not arguments.no_callgrind,
        growth=settings.growth and not arguments.no_growth,
    )
    if arguments.threads:
        torch.set_num_threads(arguments.threads)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]

    rows, notes = [], []
    for name in arguments.only or SCENARIOS:
        _progress(f"running {name} ...")
        scenario_started = time.perf_counter()
        rows += SCENARIOS[name](settings, notes)
        _progress(f"  {time.perf_counter() - scenario_started:.0f} s")

    growths = None
    if settings.growth:
        _progress("running growth ...")
        growths = growth.against_rows(repeats=3), growth.against_epochs(repeats=3)
        notes += growth.describe(*growths)
        growth.plot(*growths, arguments.plot)
        notes.append(f"growth plot: {_shown(arguments.plot)}")

    print(_machine())
    print()
    print(format_table(rows))
    print()
    for note in notes:
        print(f"- {note}")
    print(
        f"- total benchmark time: {time.perf_counter() - started:.0f} s; load "
        f"average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
        "(above the core count, other processes shared the cores and wall "
        "times swing)"
    )

    if arguments.json:
        _write_json(arguments.json, settings, rows, notes, growths)
    return 0


def _progress(message):
    print(message, file=sys.stderr, flush=True)


def _machine():
    return (
        f"sknet {sknet.__version__}, torch {torch.__version__}, skorch "
        f"{skorch.__version__}, scikit-learn {sklearn.__version__}, Python "
        f"{platform.python_version()}; {os.cpu_count()} cores, torch threads "
        f"{torch.get_num_threads()}. Medians of repeated runs taken in turn; "
        "ratio = sknet / the other (lower is better for time, "
        "instructions and memory, higher for samples/s)."
    )


def _shown(path):
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _write_json(path, settings, rows, notes, growths):
    result = {
        "settings": asdict(settings),
        "rows": [{**asdict(row), "ratio": row.ratio, "met": row.met} for row in rows],
        "notes": notes,
    }
    if growths is not None:
        (row_counts, by_rows), (epoch_counts, by_epochs) = growths
        result["growth"] = {
            "rows": {"sizes": list(row_counts), "seconds": by_rows},
            "epochs": {"sizes": list(epoch_counts), "seconds": by_epochs},
        }
    Path(path).write_text(json.dumps(result, indent=2))
