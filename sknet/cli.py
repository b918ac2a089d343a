"""The ``sknet`` command: fit a network to a table and compare it with OLS.

``sknet fit --out DIR`` answers a built-in question (Okun's law on US
quarterly data); ``sknet fit DATA.csv --target COLUMN --out DIR`` does the
same for a CSV file. Every input is checked before training starts, and the
outputs, the fitted model among them, appear in DIR only once all of them
have been written. ``sknet predict MODEL DATA.csv --out FILE`` predicts the
rows of a CSV file with a saved model.
"""

import argparse
import importlib.util
import math
import os
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._params import did_you_mean
from ._persistence import load_model, save_model, write_file_atomically

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

MODEL_FILE = "model.safetensors"
OUTPUT_FILES = (
    "loss_log.csv",
    "predictions.csv",
    "loss_curve.png",
    "predictions.png",
    MODEL_FILE,
)
# R^2 needs two test rows; scaling and fitting need two training rows.
MIN_ROWS_EACH_SIDE = 2

BUILTIN_QUESTION = (
    "Okun's law: the quarterly change in the US unemployment rate (percentage "
    "points) from the same quarter's growth in output, spending, income, money "
    "and population, inflation and interest rates"
)


class CommandError(Exception):
    """A problem the user can fix, reported as one line with an exit status."""

    def __init__(self, message, status=EXIT_FAILURE):
        super().__init__(message)
        self.status = status


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # argparse would print the usage too; sknet reports one line instead.
        raise CommandError(message, EXIT_USAGE)


@dataclass
class _Table:
    """The rows to learn from, in time order when ``dates`` is set."""

    X: object
    y: object
    dates: object
    row_ids: object
    question: str
    source: str


@dataclass
class _Split:
    train: np.ndarray
    test: np.ndarray
    in_time_order: bool


@dataclass
class _Results:
    net: object
    ols: object
    y_test: np.ndarray
    net_pred: np.ndarray
    ols_pred: np.ndarray
    seconds: float


def main(argv: list[str] | None = None) -> int:
    """Run the ``sknet`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name. None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 1 when the data or the training failed, 2 for bad
        options and 130 when interrupted. Every failure prints one line
        starting with ``sknet: error:`` on standard error.

    Examples
    --------
    >>> import tempfile
    >>> from sknet.cli import main
    >>> with tempfile.TemporaryDirectory() as out:
    ...     status = main(["fit", "--out", out, "--epochs", "20", "--quiet"])
    >>> status
    0
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        return _COMMANDS[args.command](args)
    except CommandError as error:
        print(f"sknet: error: {error}", file=sys.stderr)
        return error.status
    except KeyboardInterrupt:
        print("sknet: error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit as stop:
        # --help and --version print and exit; main reports the status instead.
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE


def _build_parser():
    from . import __version__

    parser = _Parser(
        prog="sknet",
        description="Fit a PyTorch network as a scikit-learn regressor.",
    )
    parser.add_argument("--version", action="version", version=f"sknet {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    fit = commands.add_parser(
        "fit",
        help="fit a network, compare it with least squares, save logs and plots",
        description=(
            "Fit StandardScaler -> NetRegressor on the training rows, report test "
            "R^2 and RMSE beside an ordinary least-squares baseline, and write "
            "loss_log.csv, predictions.csv, loss_curve.png, predictions.png and "
            f"the fitted model, {MODEL_FILE}, to DIR. Without DATA, the built-in "
            f"question is used: {BUILTIN_QUESTION}."
        ),
    )
    _add_fit_arguments(fit)
    predict = commands.add_parser(
        "predict",
        help="predict the rows of a CSV file with a saved model",
        description=(
            "Load MODEL (written by sknet fit or sknet.save_model), predict every "
            "row of DATA from the columns the model was fitted on, and write "
            "FILE: the row's date (or its number) and the prediction."
        ),
    )
    _add_predict_arguments(predict)
    return parser


def _add_fit_arguments(fit):
    fit.add_argument("data", nargs="?", metavar="DATA", help="a CSV file with a header")
    fit.add_argument("--out", required=True, metavar="DIR", help="output directory")
    fit.add_argument("--target", metavar="COLUMN", help="the column to predict")
    fit.add_argument(
        "--features",
        type=_column_list,
        metavar="A,B,...",
        help="feature columns (default: every other numeric column)",
    )
    fit.add_argument(
        "--date-column",
        metavar="COLUMN",
        help="dates that order the rows (default: a column named 'date', if any)",
    )
    fit.add_argument(
        "--test-size",
        type=_fraction,
        default=0.2,
        help="fraction of rows held out for testing, the latest when rows are "
        "dated (default: 0.2)",
    )
    fit.add_argument(
        "--epochs", type=_positive_int, default=10000, help="default: 10000"
    )
    fit.add_argument(
        "--lr", type=_positive_float, default=0.001, help="SGD learning rate"
    )
    fit.add_argument(
        "--hidden",
        type=_layer_sizes,
        default=(32,),
        metavar="N[,N...]",
        help="hidden layer widths, e.g. 64,32 (default: 32)",
    )
    fit.add_argument(
        "--seed",
        type=_non_negative_int,
        default=0,
        help="seeds the weights and the shuffled split (default: 0)",
    )
    fit.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print nothing but warnings and errors",
    )


def _add_predict_arguments(predict):
    predict.add_argument("model", metavar="MODEL", help="a saved model file")
    predict.add_argument("data", metavar="DATA", help="a CSV file with a header")
    predict.add_argument(
        "--out", required=True, metavar="FILE", help="the CSV file to write"
    )
    predict.add_argument(
        "--features",
        type=_column_list,
        metavar="A,B,...",
        help="the feature columns in the model's order, for a model that stores "
        "no feature names (default: every numeric column but the date column)",
    )
    predict.add_argument(
        "--date-column",
        metavar="COLUMN",
        help="a column copied to the output to identify the rows (default: a "
        "column named 'date', if any; otherwise the row number)",
    )
    predict.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing but errors"
    )


# -- option types --------------------------------------------------------


def _fraction(text):
    value = _parse(float, text, "a number between 0 and 1")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"must be a number strictly between 0 and 1, such as 0.2; got {text!r}"
        )
    return value


def _positive_float(text):
    value = _parse(float, text, "a positive number")
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f"must be a positive number, such as 0.001; got {text!r}"
        )
    return value


def _positive_int(text):
    value = _parse(int, text, "a whole number >= 1")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1; got {text!r}")
    return value


def _non_negative_int(text):
    value = _parse(int, text, "a whole number >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0; got {text!r}")
    return value


def _layer_sizes(text):
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            "must be one or more positive whole numbers separated by commas, such "
            f"as 32 or 64,32; got {text!r}"
        )
    return sizes


def _column_list(text):
    names = [name.strip() for name in text.split(",")]
    if "" in names:
        raise argparse.ArgumentTypeError(
            f"must be column names separated by commas, such as a,b,c; got {text!r}"
        )
    if len(set(names)) < len(names):
        raise argparse.ArgumentTypeError(f"names a column twice: {text!r}")
    return names


def _parse(kind, text, allowed):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {allowed}; got {text!r}") from None


# -- the fit command -----------------------------------------------------


def _fit(args):
    _check_option_combination(args)
    _require_extras(
        ["pandas", "matplotlib"] + (["statsmodels"] if args.data is None else [])
    )
    out = _check_out_dir(args.out)
    table = _builtin_table() if args.data is None else _csv_table(args)
    split = _split(table, args.test_size, args.seed)

    show_progress = not args.quiet and sys.stderr.isatty()
    results = _train(table, split, args, show_progress)
    _write_atomically(
        out, lambda staging: _write_outputs(staging, table, split, results)
    )

    if not args.quiet:
        print("\n".join(_summary(table, split, results, args, out)))
    return 0


def _check_option_combination(args):
    if args.data is not None and args.target is None:
        raise CommandError(
            "--target is required with a CSV file: name the column to predict",
            EXIT_USAGE,
        )
    csv_only = {
        "--target": args.target,
        "--features": args.features,
        "--date-column": args.date_column,
    }
    given = [option for option, value in csv_only.items() if value is not None]
    if args.data is None and given:
        raise CommandError(
            f"{', '.join(given)} given without a CSV file; use sknet fit DATA.csv "
            "--target COLUMN ..., or drop these options to answer the built-in "
            "question",
            EXIT_USAGE,
        )


def _require_extras(needed):
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise CommandError(
            f"the command line needs {' and '.join(missing)}, which {verb} not "
            "installed; install it with: pip install 'sknet[cli]'"
        )


def _check_out_dir(text):
    # Path("") would quietly mean the current directory.
    if not text.strip():
        raise CommandError("--out needs a directory name; got an empty string")
    out = Path(text)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} exists and is not a directory")
    existing = _nearest_existing(out)
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise CommandError(f"--out {out}: cannot write in {existing}")
    blocked = [name for name in OUTPUT_FILES if (out / name).is_dir()]
    if blocked:
        raise CommandError(
            f"--out {out} holds directories named {', '.join(blocked)}, where "
            "the output files go; move them or choose another directory"
        )
    return out


def _nearest_existing(path):
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


# -- reading the data ----------------------------------------------------


def _builtin_table():
    from .datasets import load_unemployment_changes

    bunch = load_unemployment_changes(as_frame=True)
    return _Table(
        X=bunch.data,
        y=bunch.target,
        dates=bunch.dates,
        row_ids=bunch.dates,
        question=BUILTIN_QUESTION,
        source="built-in data, sknet.datasets.load_unemployment_changes()",
    )


def _csv_table(args):
    frame = _read_csv(Path(args.data))
    date_column, features = _resolve_columns(frame, args)
    _check_numeric_and_finite(frame, [args.target, *features])

    dates = None
    if date_column is not None:
        frame = frame.assign(**{date_column: _parse_dates(frame[date_column])})
        frame = frame.sort_values(date_column, kind="stable")
        dates = frame[date_column].rename("date")
    row_ids = (frame.index + 1).rename("row")
    return _Table(
        X=frame[features].astype(np.float64),
        y=frame[args.target].astype(np.float64),
        dates=None if dates is None else dates.to_numpy(),
        row_ids=row_ids if dates is None else dates.to_numpy(),
        question=f"predict {args.target!r} from {_name_list(features)}",
        source=f"{args.data}, {len(frame)} rows",
    )


def _name_list(names, shown=6):
    listed = ", ".join(names[:shown])
    return listed if len(names) <= shown else f"{listed} and {len(names) - shown} more"


def _read_csv(path):
    import pandas as pd

    if not path.is_file():
        reason = "is a directory" if path.is_dir() else "no such file"
        raise CommandError(f"cannot read {path}: {reason}")
    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise CommandError(f"cannot read {path} as CSV: {_first_line(error)}") from None


def _resolve_columns(frame, args):
    columns = [str(name) for name in frame.columns]
    date_column = args.date_column
    if date_column is None:
        date_column = next((c for c in columns if c.lower() == "date"), None)

    wanted = [args.target, *(args.features or [])]
    if args.date_column is not None:
        wanted.append(args.date_column)
    _check_columns_exist(wanted, columns, args.data)

    features = args.features
    if features is None:
        features = [
            name
            for name in columns
            if name not in (args.target, date_column) and _is_numeric(frame[name])
        ]
    _check_roles(args.target, features, date_column)
    return date_column, features


def _check_columns_exist(wanted, columns, source):
    problems = [
        f"no column {name!r}{did_you_mean(name, columns)}"
        for name in wanted
        if name not in columns
    ]
    if problems:
        raise CommandError(
            f"{source}: {'; '.join(problems)}; its columns are "
            f"{_name_list(columns, shown=20)}"
        )


def _check_roles(target, features, date_column):
    if not features:
        raise CommandError(
            f"no numeric column besides the target {target!r} to use as a feature; "
            "name the features with --features"
        )
    if target in features:
        raise CommandError(f"--features lists the target {target!r}; remove it")
    if date_column is not None and date_column in (target, *features):
        raise CommandError(
            f"{date_column!r} is the date column and cannot also be the target or "
            "a feature; choose another --date-column"
        )


def _check_numeric_and_finite(frame, columns):
    problems = []
    for name in columns:
        values = frame[name]
        if not _is_numeric(values):
            problems.append(f"column {name!r} is not numeric{_first_text(values)}")
            continue
        bad = ~np.isfinite(values.to_numpy(dtype=np.float64))
        if bad.any():
            count = int(bad.sum())
            problems.append(
                f"column {name!r} has {count} missing or infinite "
                f"{'value' if count == 1 else 'values'} (the first in row "
                f"{_first_row(bad)})"
            )
    if problems:
        raise CommandError(
            "; ".join(problems) + ". Rows are counted from 1 after the header; "
            "clean, drop or fill these values first"
        )


def _is_numeric(values):
    import pandas as pd

    return pd.api.types.is_numeric_dtype(values)


def _first_text(values):
    """Return `` (row N holds 'text')`` for the first entry that is not a number."""
    import pandas as pd

    text = pd.to_numeric(values, errors="coerce").isna() & values.notna()
    if not text.any():
        return ""
    row = _first_row(text)
    return f" (row {row} holds {values.iloc[row - 1]!r})"


def _first_row(mask):
    return int(np.flatnonzero(np.asarray(mask))[0]) + 1


def _parse_dates(values):
    import pandas as pd

    name = values.name
    if _is_numeric(values):
        raise CommandError(
            f"date column {name!r} holds numbers, not dates; write dates such as "
            "2009-07-01, or choose another --date-column"
        )
    if values.isna().any():
        raise CommandError(
            f"date column {name!r} is empty in row {_first_row(values.isna())}"
        )
    try:
        with warnings.catch_warnings():
            # Dates in an unusual format are parsed one by one; that is fine.
            warnings.filterwarnings("ignore", "Could not infer format", UserWarning)
            warnings.filterwarnings("ignore", "Parsing dates in", UserWarning)
            return pd.to_datetime(values)
    except (ValueError, TypeError) as error:
        # pandas names the first value it could not read; its advice on
        # parsing options concerns Python code, not this command.
        reason = _first_line(error).split(". You might want")[0]
        raise CommandError(
            f"cannot read column {name!r} as dates ({reason}); write dates as "
            "YYYY-MM-DD, or choose another --date-column"
        ) from None


def _first_line(error):
    lines = str(error).strip().splitlines()
    return lines[0].rstrip(".;: ") if lines else type(error).__name__


# -- splitting and training ----------------------------------------------


def _split(table, test_size, seed):
    n_rows = len(table.y)
    n_test = math.ceil(test_size * n_rows)
    n_train = n_rows - n_test
    if min(n_train, n_test) < MIN_ROWS_EACH_SIDE:
        raise CommandError(
            f"{n_rows} rows with --test-size {test_size} leave {n_train} for "
            f"training and {n_test} for testing; each needs at least "
            f"{MIN_ROWS_EACH_SIDE}. Use more rows or another --test-size"
        )
    positions = np.arange(n_rows)
    if table.dates is not None:
        # The latest rows are the test set, so the future never trains the past.
        return _Split(positions[:n_train], positions[n_train:], in_time_order=True)
    order = np.random.default_rng(seed).permutation(n_rows)
    return _Split(np.sort(order[n_test:]), np.sort(order[:n_test]), False)


def _train(table, split, args, show_progress):
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from . import NetRegressor, SknetWarning, TrainingDivergedError

    X_train, X_test = table.X.iloc[split.train], table.X.iloc[split.test]
    y_train = table.y.to_numpy()[split.train]
    y_test = table.y.to_numpy()[split.test]
    net = make_pipeline(
        StandardScaler(),
        NetRegressor(
            lr=args.lr,
            max_epochs=args.epochs,
            random_state=args.seed,
            verbose=int(show_progress),
            module__hidden_layer_sizes=args.hidden,
        ),
    )
    ols = make_pipeline(StandardScaler(), LinearRegression()).fit(X_train, y_train)

    # The test rows are the network's validation data. NetRegressor receives
    # them directly, past the pipeline, so the scaler is fitted first and
    # scales them the way the pipeline scales everything it predicts.
    scaler = net[0].fit(X_train)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SknetWarning)
        try:
            net[-1].fit(
                scaler.transform(X_train),
                y_train,
                X_val=scaler.transform(X_test),
                y_val=y_test,
            )
        except TrainingDivergedError as error:
            raise CommandError(
                f"training diverged at epoch {error.epoch}: the loss became NaN "
                f"or infinite. Try a smaller --lr than {args.lr:g}; a target in "
                "the thousands or more may need rescaling first"
            ) from None
    seconds = time.perf_counter() - start
    for warning in caught:
        print(f"sknet: warning: {_first_line(warning.message)}", file=sys.stderr)

    return _Results(net, ols, y_test, net.predict(X_test), ols.predict(X_test), seconds)


# -- writing the outputs -------------------------------------------------


def _write_atomically(out, write):
    """Write into a staging directory beside ``out``; move files in on success."""
    staging = None
    try:
        staging = tempfile.mkdtemp(
            prefix=f".{out.name}-", suffix=".partial", dir=_nearest_existing(out)
        )
        write(Path(staging))
        out.mkdir(parents=True, exist_ok=True)
        for name in OUTPUT_FILES:
            os.replace(Path(staging, name), out / name)
    except OSError as error:
        raise CommandError(f"cannot write the outputs to {out}: {error}") from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _write_outputs(directory, table, split, results):
    import pandas as pd

    log = results.net[-1].loss_log_
    loss_log = pd.DataFrame(
        {
            "epoch": log[:, 0].astype(int),
            "train_loss": log[:, 1],
            "test_loss": log[:, 2],
        }
    )
    loss_log.to_csv(directory / "loss_log.csv", index=False)

    test_ids = np.asarray(table.row_ids)[split.test]
    id_name = "date" if table.dates is not None else "row"
    predictions = pd.DataFrame(
        {id_name: test_ids, "actual": results.y_test, "predicted": results.net_pred}
    )
    predictions.to_csv(directory / "predictions.csv", index=False)

    _save(_loss_figure(results), directory / "loss_curve.png")
    dates = test_ids if table.dates is not None else None
    y_test = pd.Series(results.y_test, name=table.y.name)
    figure = _prediction_figure(y_test, results.net_pred, dates)
    _save(figure, directory / "predictions.png")
    # The whole Pipeline, scaler included, so the model predicts raw features.
    save_model(results.net, directory / MODEL_FILE)


def _loss_figure(results):
    from matplotlib.figure import Figure

    from ._plotting import LossCurveDisplay

    figure = Figure(figsize=(7, 4.5), layout="constrained")
    ax = figure.subplots()
    LossCurveDisplay.from_estimator(
        results.net,
        ax=ax,
        log_scale=True,
        name="Mean squared error per epoch",
        val_kwargs={"label": "test"},
    )
    # The baseline's test loss shows at which epoch, if any, the network beats it.
    ols_mse = float(np.mean((results.y_test - results.ols_pred) ** 2))
    ax.axhline(ols_mse, color="0.5", linestyle="--", label="OLS test")
    ax.legend()
    return figure


def _prediction_figure(y_test, y_pred, dates):
    from matplotlib.figure import Figure
    from sklearn.metrics import PredictionErrorDisplay

    from ._plotting import TimeSeriesPredictionDisplay

    n_panels = 1 if dates is None else 2
    figure = Figure(figsize=(5.5 * n_panels, 4.5), layout="constrained")
    axes = figure.subplots(1, n_panels, squeeze=False)[0]
    PredictionErrorDisplay.from_predictions(
        y_test, y_pred, kind="actual_vs_predicted", ax=axes[0]
    )
    axes[0].set_title("Test rows: network")
    if dates is not None:
        TimeSeriesPredictionDisplay.from_predictions(
            y_test, y_pred, index=dates, ax=axes[1], name="network"
        )
        axes[1].set_title("Test period")
    return figure


def _save(figure, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=110)


# -- the summary ---------------------------------------------------------


def _summary(table, split, results, args, out):
    from sklearn.metrics import r2_score, root_mean_squared_error

    def scores(pred):
        r2 = r2_score(results.y_test, pred)
        rmse = root_mean_squared_error(results.y_test, pred)
        return f"{r2:>9.3f}  {rmse:>10.4g}"

    regressor = results.net[-1]
    hidden = ",".join(str(size) for size in args.hidden)
    return [
        f"question: {table.question}",
        f"target:   {table.y.name}    data: {table.source}",
        f"split:    {_describe_split(table, split)}",
        f"{'':16}{'test R^2':>9}  {'test RMSE':>10}",
        f"  {'network':<14}{scores(results.net_pred)}",
        f"  {'OLS baseline':<14}{scores(results.ols_pred)}",
        f"network:  {regressor.n_iter_} epochs in {results.seconds:.1f} s "
        f"(SGD, lr {args.lr:g}, hidden {hidden}, seed {args.seed})",
        f"wrote:    {', '.join(OUTPUT_FILES)} to {out}",
    ]


def _describe_split(table, split):
    counts = f"{len(split.train)} train / {len(split.test)} test rows"
    if not split.in_time_order:
        return f"{counts}, shuffled (no dates)"
    dates = [_format_time(value) for value in np.asarray(table.dates)]
    train = f"{dates[split.train[0]]} to {dates[split.train[-1]]}"
    test = f"{dates[split.test[0]]} to {dates[split.test[-1]]}"
    return f"{counts} in time order (train {train}, test {test})"


def _format_time(value):
    import pandas as pd

    stamp = pd.Timestamp(value)
    return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else str(stamp)


# -- the predict command -------------------------------------------------


def _predict(args):
    _require_extras(["pandas"])
    out = _check_out_file(Path(args.out), [args.model, args.data])
    model = _load_model(Path(args.model))
    frame = _read_csv(Path(args.data))
    if frame.empty:
        raise CommandError(f"{args.data} has no rows to predict")
    id_column, features = _prediction_columns(frame, model, args)
    _check_numeric_and_finite(frame, features)

    predictions = _prediction_table(frame, model, features, id_column)
    try:
        write_file_atomically(out, predictions.to_csv(index=False).encode("utf-8"))
    except OSError as error:
        raise CommandError(f"cannot write {out}: {error}") from None

    if not args.quiet:
        print(f"predicted {len(frame)} rows of {args.data} with {args.model}")
        print(f"wrote:    {out}")
    return 0


def _check_out_file(out, inputs):
    if out.is_dir():
        raise CommandError(
            f"--out {out} is a directory; give a file name such as "
            f"{out / 'predictions.csv'}"
        )
    directory = out.absolute().parent
    if not directory.is_dir():
        raise CommandError(
            f"--out {out}: the directory {directory} does not exist; create it first"
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise CommandError(f"--out {out}: cannot write in {directory}")
    if any(out.resolve() == Path(path).resolve() for path in inputs):
        raise CommandError(f"--out {out} is one of the inputs; choose another file")
    return out


def _load_model(path):
    if not path.is_file():
        reason = "is a directory" if path.is_dir() else "no such file"
        raise CommandError(f"cannot read {path}: {reason}")
    try:
        return load_model(path)
    except (OSError, ValueError, TypeError, ImportError) as error:
        raise CommandError(_first_line(error)) from None


def _prediction_columns(frame, model, args):
    columns = [str(name) for name in frame.columns]
    id_column = args.date_column
    if id_column is None:
        id_column = next((c for c in columns if c.lower() == "date"), None)

    names = getattr(model, "feature_names_in_", None)
    if names is not None and args.features is not None:
        raise CommandError(
            f"--features is for a model that stores no feature names; this one "
            f"takes {_name_list(list(names))}. Drop --features",
            EXIT_USAGE,
        )
    if names is not None:
        features = [str(name) for name in names]
    elif args.features is not None:
        features = args.features
    else:
        features = [
            name for name in columns if name != id_column and _is_numeric(frame[name])
        ]

    wanted = features + ([args.date_column] if args.date_column is not None else [])
    _check_columns_exist(wanted, columns, args.data)
    if names is None and len(features) != model.n_features_in_:
        given = "--features names" if args.features else f"{args.data} has"
        raise CommandError(
            f"the model takes {model.n_features_in_} features and stores no "
            f"names, but {given} {len(features)} numeric columns "
            f"({_name_list(features)}); name the columns it was fitted on, in "
            "order, with --features"
        )
    return id_column, features


def _prediction_table(frame, model, features, id_column):
    import pandas as pd

    X = frame[features].astype(np.float64)
    if getattr(model, "feature_names_in_", None) is None:
        # A model fitted on plain arrays warns when given named columns.
        X = X.to_numpy()
    try:
        predicted = model.predict(X)
    except ValueError as error:
        raise CommandError(f"cannot predict: {_first_line(error)}") from None

    if id_column is None:
        ids = {"row": np.arange(1, len(frame) + 1)}
    else:
        ids = {"date": frame[id_column].to_numpy()}
    if predicted.ndim == 1:
        return pd.DataFrame({**ids, "predicted": predicted})
    outputs = {f"predicted_{i}": column for i, column in enumerate(predicted.T)}
    return pd.DataFrame({**ids, **outputs})


_COMMANDS = {"fit": _fit, "predict": _predict}


if __name__ == "__main__":
    sys.exit(main())
