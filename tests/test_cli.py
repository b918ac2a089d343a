import importlib.util
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

import sknet
from sknet import NetRegressor, cli, save_model
from sknet.cli import MODEL_FILE, OUTPUT_FILES, main

matplotlib.use("Agg")

EPOCHS = ["--epochs", "50"]


@pytest.fixture
def dated_csv(tmp_path):
    """40 monthly rows, written in shuffled order, with a 'Date' column."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "Date": pd.date_range("2000-01-01", periods=40, freq="MS"),
            "a": rng.normal(size=40),
            "b": rng.normal(size=40),
            "note": ["text"] * 40,
        }
    )
    frame["y"] = 2 * frame["a"] - frame["b"]
    path = tmp_path / "dated.csv"
    frame.sample(frac=1, random_state=1).to_csv(path, index=False)
    return path


@pytest.fixture
def plain_csv(tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=30), "b": rng.normal(size=30)})
    frame["y"] = frame["a"] + frame["b"]
    path = tmp_path / "plain.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def out(tmp_path):
    """An output directory that already holds a file of the user's."""
    directory = tmp_path / "out"
    directory.mkdir()
    (directory / "keep.txt").write_text("mine")
    return directory


def _read_outputs(directory):
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [*OUTPUT_FILES, "keep.txt"]
    )
    return (
        pd.read_csv(directory / "loss_log.csv"),
        pd.read_csv(directory / "predictions.csv"),
    )


def test_builtin_question_runs_in_time_order(out, capsys):
    status = main(["fit", "--out", str(out), *EPOCHS])

    assert status == 0
    loss_log, predictions = _read_outputs(out)
    assert list(loss_log.columns) == ["epoch", "train_loss", "test_loss"]
    assert loss_log["epoch"].tolist() == list(range(1, 51))
    assert loss_log["test_loss"].notna().all()
    assert list(predictions.columns) == ["date", "actual", "predicted"]
    # 202 quarters, the last ceil(0.2 * 202) = 41 of them are the test set.
    assert len(predictions) == 41
    assert predictions["date"].iloc[0] == "1999-07-01"
    assert predictions["date"].iloc[-1] == "2009-07-01"
    assert (out / "keep.txt").read_text() == "mine"

    summary = capsys.readouterr().out
    for text in ["Okun's law", "161 train / 41 test", "OLS baseline", "50 epochs"]:
        assert text in summary


def test_csv_rows_are_sorted_by_date_and_split_in_time_order(dated_csv, out):
    args = ["fit", str(dated_csv), "--target", "y", *EPOCHS, "-q"]
    status = main([*args, "--out", str(out)])

    assert status == 0
    _, predictions = _read_outputs(out)
    expected = pd.date_range("2000-01-01", periods=40, freq="MS")[-8:]
    assert pd.to_datetime(predictions["date"]).tolist() == expected.tolist()


def test_csv_features_and_date_column_options(dated_csv, out, capsys):
    status = main(
        [
            "fit",
            str(dated_csv),
            "--target",
            "y",
            "--features",
            "b",
            "--date-column",
            "Date",
            "--test-size",
            "0.25",
            "--hidden",
            "8,4",
            *EPOCHS,
            "--out",
            str(out),
        ]
    )

    assert status == 0
    assert "predict 'y' from b\n" in capsys.readouterr().out
    _, predictions = _read_outputs(out)
    assert len(predictions) == 10


def test_csv_without_dates_is_split_by_seeded_shuffle(plain_csv, tmp_path):
    runs = {}
    for name, seed in [("first", "0"), ("again", "0"), ("other", "1")]:
        directory = tmp_path / name
        args = ["fit", str(plain_csv), "--target", "y", "--seed", seed, "--quiet"]
        assert main([*args, *EPOCHS, "--out", str(directory)]) == 0
        runs[name] = pd.read_csv(directory / "predictions.csv")

    rows = runs["first"]["row"]
    assert list(runs["first"].columns) == ["row", "actual", "predicted"]
    assert len(rows) == 6
    assert rows.is_monotonic_increasing
    # Rows are not the last six, so the split was shuffled.
    assert rows.tolist() != list(range(25, 31))
    pd.testing.assert_frame_equal(runs["first"], runs["again"])
    assert rows.tolist() != runs["other"]["row"].tolist()


def test_out_directory_and_parents_are_created(plain_csv, tmp_path):
    directory = tmp_path / "new" / "run"

    status = main(
        ["fit", str(plain_csv), "--target", "y", *EPOCHS, "-q", "--out", str(directory)]
    )

    assert status == 0
    assert sorted(p.name for p in directory.iterdir()) == sorted(OUTPUT_FILES)
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["run"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "plain.csv"]


@pytest.mark.parametrize("quiet", [False, True])
def test_progress_bar_only_on_a_terminal_without_quiet(quiet, out, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    args = ["fit", "--out", str(out), *EPOCHS] + (["--quiet"] if quiet else [])

    assert main(args) == 0

    captured = capsys.readouterr()
    assert ("50/50" in captured.err) != quiet
    assert (captured.out == "") == quiet


def test_sknet_warnings_are_reported_as_one_line(out, capsys, monkeypatch):
    fit = sknet.NetRegressor.fit

    def fit_and_warn(self, *args, **kwargs):
        warnings.warn(
            "every unit died\nsecond line",
            sknet.ConstantPredictionWarning,
            stacklevel=2,
        )
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(sknet.NetRegressor, "fit", fit_and_warn)

    assert main(["fit", "--out", str(out), *EPOCHS, "--quiet"]) == 0
    assert capsys.readouterr().err == "sknet: warning: every unit died\n"


# "CSV" stands for the path of the dated CSV file.
ERROR_CASES = [
    (["--test-size", "1.5"], "argument --test-size: must be a number", 2),
    (["--test-size", "0"], "strictly between 0 and 1", 2),
    (["--epochs", "-1"], "argument --epochs: must be a whole number >= 1", 2),
    (["--epochs", "ten"], "argument --epochs", 2),
    (["--hidden", "abc"], "argument --hidden: must be one or more", 2),
    (["--hidden", "32,0"], "argument --hidden", 2),
    (["--lr", "0"], "argument --lr: must be a positive number", 2),
    (["--seed", "-3"], "argument --seed", 2),
    (["--features", "a,,b"], "argument --features", 2),
    (["--target", "y"], "given without a CSV file", 2),
    (["--bogus"], "unrecognized arguments: --bogus", 2),
    (["CSV"], "--target is required with a CSV file", 2),
    (["missing.csv", "--target", "y"], "cannot read missing.csv: no such file", 1),
    (["CSV", "--target", "yy"], "no column 'yy' (did you mean 'y'?)", 1),
    (["CSV", "--target", "y", "--features", "a,c"], "no column 'c'", 1),
    (["CSV", "--target", "y", "--features", "a,note"], "'note' is not numeric", 1),
    (["CSV", "--target", "y", "--features", "a,y"], "lists the target 'y'", 1),
    (["CSV", "--target", "note"], "column 'note' is not numeric", 1),
    (["CSV", "--target", "y", "--date-column", "a"], "holds numbers, not dates", 1),
    (["CSV", "--target", "y", "--date-column", "note"], "as dates", 1),
    (["CSV", "--target", "y", "--test-size", "0.99"], "leave 0 for training", 1),
    (["CSV", "--target", "y", "--lr", "1000"], "training diverged at epoch", 1),
]


def _check_one_error_line(capsys, message, status, expected_status):
    captured = capsys.readouterr()
    assert status == expected_status
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("sknet: error: ")
    assert message in lines[0]
    return lines[0]


@pytest.mark.parametrize(("options", "message", "expected_status"), ERROR_CASES)
def test_bad_input_gives_one_error_line_and_writes_nothing(
    options, message, expected_status, dated_csv, out, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    options = [str(dated_csv) if option == "CSV" else option for option in options]

    status = main(["fit", *options, *EPOCHS, "--out", str(out)])

    _check_one_error_line(capsys, message, status, expected_status)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dated.csv", "out"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("a,y\n1,2\n,3\n4,5\n6,7\n", "column 'a' has 1 missing or infinite value"),
        ("a,y\n1,2\ninf,3\n4,nan\n6,7\n", "'a' has 1 missing"),
        ("a,y\n1,2\n2,3\n3,5\n", "leave 2 for training and 1 for testing"),
        ("", "cannot read"),
        ("Date,a,y\n2001-01-01,1,2\n,2,3\n", "date column 'Date' is empty in row 2"),
    ],
)
def test_bad_csv_content(rows, message, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(rows)
    out = tmp_path / "out"

    status = main(["fit", str(path), "--target", "y", "--out", str(out)])

    _check_one_error_line(capsys, message, status, 1)
    assert not out.exists()


@pytest.mark.parametrize("hidden", [["matplotlib"], ["pandas", "statsmodels"]])
def test_missing_extras_say_how_to_install(hidden, out, capsys, monkeypatch):
    find_spec = importlib.util.find_spec

    def hide(name, *args):
        return None if name in hidden else find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", hide)

    status = main(["fit", "--out", str(out)])

    line = _check_one_error_line(capsys, "pip install 'sknet[cli]'", status, 1)
    assert f"needs {' and '.join(hidden)}, which" in line


def test_out_that_is_a_file_is_an_error(plain_csv, tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("x")

    status = main(["fit", str(plain_csv), "--target", "y", "--out", str(target)])

    _check_one_error_line(capsys, "exists and is not a directory", status, 1)
    assert target.read_text() == "x"


def test_failure_while_writing_leaves_out_untouched(out, tmp_path, capsys, monkeypatch):
    def fail(figure, path):
        raise OSError("disk full")

    monkeypatch.setattr(cli, "_save", fail)

    status = main(["fit", "--out", str(out), *EPOCHS])

    _check_one_error_line(capsys, "cannot write the outputs", status, 1)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_earlier_outputs_are_replaced_only_on_success(plain_csv, out, capsys):
    args = ["fit", str(plain_csv), "--target", "y", *EPOCHS, "-q", "--out", str(out)]
    assert main(args) == 0
    first = (out / "loss_log.csv").read_text()

    assert main([*args, "--lr", "1000"]) == 1
    assert (out / "loss_log.csv").read_text() == first
    assert main([*args, "--seed", "5"]) == 0
    assert (out / "loss_log.csv").read_text() != first


@pytest.mark.parametrize(
    "argv", [["--help"], ["fit", "--help"], ["predict", "--help"], ["--version"]]
)
def test_help_and_version_exit_zero(argv, capsys):
    assert main(argv) == 0
    assert "sknet" in capsys.readouterr().out


def test_installed_console_script(tmp_path):
    script = Path(sys.executable).with_name("sknet")
    out = tmp_path / "run"

    finished = subprocess.run(
        [str(script), "fit", "--out", str(out), "--epochs", "20"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr
    assert "OLS baseline" in finished.stdout
    # stderr is a pipe, not a terminal, so no progress bar is drawn.
    assert "20/20" not in finished.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)


# -- sknet predict ---------------------------------------------------------


@pytest.fixture
def fitted_run(dated_csv, tmp_path):
    """The output directory of a fit on the dated CSV file."""
    run = tmp_path / "run"
    args = ["fit", str(dated_csv), "--target", "y", *EPOCHS, "-q"]
    assert main([*args, "--out", str(run)]) == 0
    return run


def test_fit_saves_a_model_that_predicts_like_the_run(
    fitted_run, dated_csv, tmp_path, capsys
):
    out = tmp_path / "predicted.csv"

    status = main(
        ["predict", str(fitted_run / MODEL_FILE), str(dated_csv), "--out", str(out)]
    )

    assert status == 0
    assert f"wrote:    {out}" in capsys.readouterr().out
    predicted = pd.read_csv(out)
    assert list(predicted.columns) == ["date", "predicted"]
    # Every row, in the file's order, not sorted by date.
    assert predicted["date"].tolist() == pd.read_csv(dated_csv)["Date"].tolist()
    test_rows = pd.read_csv(fitted_run / "predictions.csv")
    merged = test_rows.merge(predicted, on="date", suffixes=("_fit", ""))
    assert len(merged) == 8
    np.testing.assert_allclose(merged["predicted"], merged["predicted_fit"], rtol=1e-12)


def test_predict_numbers_undated_rows(plain_csv, tmp_path):
    run, out = tmp_path / "run", tmp_path / "predicted.csv"
    args = ["fit", str(plain_csv), "--target", "y", *EPOCHS, "-q", "--out", str(run)]
    assert main(args) == 0

    status = main(
        ["predict", str(run / MODEL_FILE), str(plain_csv), "--out", str(out), "-q"]
    )

    assert status == 0
    predicted = pd.read_csv(out)
    assert list(predicted.columns) == ["row", "predicted"]
    assert predicted["row"].tolist() == list(range(1, 31))


def _array_model(path, n_targets=1):
    """Save a network fitted on plain arrays: it knows no feature names."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2))
    y = X @ rng.normal(size=(2, n_targets))
    reg = NetRegressor(max_epochs=5, random_state=0)
    save_model(reg.fit(X, y if n_targets > 1 else y[:, 0]), path)
    return path


def test_model_without_feature_names_takes_the_named_columns(
    plain_csv, tmp_path, capsys
):
    model = _array_model(tmp_path / "m.safetensors")
    out = tmp_path / "predicted.csv"
    args = ["predict", str(model), str(plain_csv), "--out", str(out), "-q"]

    status = main(args)

    line = _check_one_error_line(
        capsys, "takes 2 features and stores no names", status, 1
    )
    assert "has 3 numeric columns (a, b, y)" in line
    assert "--features" in line
    assert not out.exists()
    assert main([*args, "--features", "a,b"]) == 0
    assert len(pd.read_csv(out)) == 30


def test_model_with_several_targets_writes_a_column_each(plain_csv, tmp_path):
    model = _array_model(tmp_path / "m.safetensors", n_targets=2)
    out = tmp_path / "predicted.csv"

    args = ["predict", str(model), str(plain_csv), "--features", "a,b"]
    assert main([*args, "--out", str(out), "-q"]) == 0

    predicted = pd.read_csv(out)
    assert list(predicted.columns) == ["row", "predicted_0", "predicted_1"]


# "MODEL", "CSV" and "OUT" stand for the fitted model, the dated CSV file and
# an output file that already holds an earlier result.
PREDICT_ERRORS = [
    (["missing.safetensors", "CSV"], "cannot read missing.safetensors: no such", 1),
    (["MODEL", "missing.csv"], "cannot read missing.csv: no such file", 1),
    (["CSV", "CSV"], "not an sknet model file", 1),
    (["MODEL", "RENAMED"], "no column 'a' (did you mean 'aa'?)", 1),
    (["MODEL", "TEXT"], "column 'a' is not numeric (row 1 holds 'x')", 1),
    (["MODEL", "HEADER"], "has no rows to predict", 1),
    (["MODEL", "CSV", "--features", "a,b"], "--features is for a model that", 2),
    (["MODEL", "CSV", "--date-column", "when"], "no column 'when'", 1),
    (["MODEL", "CSV", "--out", "."], "is a directory", 1),
    (["MODEL", "CSV", "--out", "absent/p.csv"], "absent does not exist", 1),
    (["MODEL", "CSV", "--out", "CSV"], "is one of the inputs", 1),
]


@pytest.mark.parametrize(("options", "message", "expected_status"), PREDICT_ERRORS)
def test_predict_errors_give_one_line_and_keep_earlier_output(
    options,
    message,
    expected_status,
    fitted_run,
    dated_csv,
    tmp_path,
    capsys,
    monkeypatch,
):
    monkeypatch.chdir(tmp_path)
    frame = pd.read_csv(dated_csv)
    frame.rename(columns={"a": "aa"}).to_csv("renamed.csv", index=False)
    frame.assign(a="x").to_csv("text.csv", index=False)
    frame.iloc[:0].to_csv("header.csv", index=False)
    out = tmp_path / "earlier.csv"
    out.write_text("earlier")
    names = {
        "MODEL": str(fitted_run / MODEL_FILE),
        "CSV": str(dated_csv),
        "RENAMED": "renamed.csv",
        "TEXT": "text.csv",
        "HEADER": "header.csv",
    }
    options = [names.get(option, option) for option in options]
    if "--out" not in options:
        options += ["--out", str(out)]

    status = main(["predict", *options])

    _check_one_error_line(capsys, message, status, expected_status)
    assert out.read_text() == "earlier"
    assert not list(tmp_path.glob("*.partial")) and not Path("absent").exists()


def test_predict_needs_out(fitted_run, dated_csv, capsys):
    status = main(["predict", str(fitted_run / MODEL_FILE), str(dated_csv)])
    _check_one_error_line(capsys, "required: --out", status, 2)


def test_empty_out_is_refused(capsys):
    assert main(["fit", "--out", "", "--epochs", "1"]) != 0
    assert "--out needs a directory name" in capsys.readouterr().err


def test_unreadable_dates_are_explained_in_full(tmp_path, capsys):
    data = tmp_path / "dated.csv"
    rows = ["date,x,y"] + [f"2001-01-{day:02d},{day},{day}" for day in range(1, 9)]
    data.write_text("\n".join([*rows, "notadate,9,9"]) + "\n")
    status = main(["fit", str(data), "--target", "y", "--out", str(tmp_path / "o")])
    assert status != 0
    error = capsys.readouterr().err.strip()
    assert error.startswith("sknet: error: cannot read column 'date' as dates")
    assert error.endswith("write dates as YYYY-MM-DD, or choose another --date-column")
