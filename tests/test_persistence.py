"""Saving and loading models as weights plus parameters, and ONNX export."""

import importlib.util
import json
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import safetensors
import safetensors.torch
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from skorch.callbacks import Callback
from torch import nn

from sknet import NetRegressor, SknetWarning, export_onnx, load_model, save_model
from sknet._persistence import CHECKSUM_KEY, DESCRIPTION_KEY, _checksum

FAST = {"optimizer": "adam", "lr": 0.01, "max_epochs": 15, "random_state": 0}


class Bottleneck(nn.Module):
    """A module of the calling code, with a tuple and a class among its arguments."""

    def __init__(self, n_input, n_output, widths=(6, 3), activation=nn.Tanh):
        super().__init__()
        layers = []
        for width in widths:
            layers += [nn.Linear(n_input, width), activation()]
            n_input = width
        self.body = nn.Sequential(*layers, nn.Linear(n_input, n_output))
        self.register_buffer("calls", torch.zeros((), dtype=torch.int64))

    def forward(self, X):
        return self.body(X)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    Y = np.column_stack([X @ [1.0, -2.0, 0.5], np.sin(X[:, 0])])
    return X, Y


@pytest.fixture
def path(tmp_path):
    return tmp_path / "model.safetensors"


class Quiet(Callback):
    """A callback that does nothing, with one argument to route to it."""

    def __init__(self, level=0):
        self.level = level


def _assert_same_fitted_model(loaded, original, X):
    np.testing.assert_array_equal(loaded.predict(X), original.predict(X))
    np.testing.assert_array_equal(loaded.loss_log_, original.loss_log_)
    for name in ["n_iter_", "n_outputs_", "n_features_in_", "_dtype"]:
        assert getattr(loaded, name) == getattr(original, name)
    assert loaded.get_params() == original.get_params()


def _rewrite(path, change):
    """Edit the description of a saved file, keeping its checksum valid."""
    with safetensors.safe_open(path, framework="pt") as file:
        metadata = file.metadata()
        keys = file.keys()
        tensors = {key: file.get_tensor(key) for key in keys}
    description = json.loads(metadata[DESCRIPTION_KEY])
    change(description)
    text = json.dumps(description)
    metadata = {DESCRIPTION_KEY: text, CHECKSUM_KEY: _checksum(text, tensors)}
    path.write_bytes(safetensors.torch.save(tensors, metadata=metadata))


def _leftovers(directory):
    return [p.name for p in directory.iterdir() if p.name.endswith(".partial")]


# -- round trips ---------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("two_targets", [False, True])
def test_round_trip_predicts_identically(dtype, two_targets, data, path):
    X, Y = data
    y = Y if two_targets else Y[:, 0]
    reg = NetRegressor(**FAST, dtype=dtype, module__hidden_layer_sizes=(8, 4))
    reg.fit(X, y)

    reg.save(path)
    loaded = NetRegressor.load(path)

    _assert_same_fitted_model(loaded, reg, X)
    assert loaded.predict(X).shape == y.shape
    assert loaded.predict(X).dtype == np.dtype(dtype)
    assert loaded.score(X, y) == reg.score(X, y)


def test_custom_module_class_and_component_arguments(data, path):
    X, Y = data
    reg = NetRegressor(
        Bottleneck,
        **{**FAST, "optimizer": torch.optim.AdamW},
        module__widths=(5, 2),
        module__activation=nn.ReLU,
        criterion=nn.HuberLoss,
        criterion__delta=0.5,
        optimizer__weight_decay=0.01,
    ).fit(X, Y)

    save_model(reg, path)
    loaded = load_model(path)

    _assert_same_fitted_model(loaded, reg, X)
    assert loaded.module is Bottleneck
    assert loaded.module__widths == (5, 2)
    assert loaded.module__activation is nn.ReLU
    assert isinstance(loaded.module_.body[1], nn.ReLU)


def test_feature_names_come_back(data, path):
    X, Y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    reg = NetRegressor(**FAST).fit(frame, Y[:, 0])

    save_model(reg, path)
    loaded = load_model(path)

    assert loaded.feature_names_in_.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(loaded.predict(frame), reg.predict(frame))
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(frame.rename(columns={"a": "z"}))


def test_early_stopping_keeps_best_epoch(data, path):
    X, Y = data
    reg = NetRegressor(
        **{**FAST, "max_epochs": 200},
        early_stopping=True,
        validation_fraction=0.25,
        n_iter_no_change=3,
    ).fit(X, Y[:, 0])

    save_model(reg, path)
    loaded = load_model(path)

    assert loaded.best_epoch_ == reg.best_epoch_
    _assert_same_fitted_model(loaded, reg, X)


@pytest.mark.parametrize("with_mean", [True, False])
def test_pipeline_with_scalers_predicts_from_raw_features(with_mean, data, path):
    X, Y = data
    pipe = make_pipeline(
        StandardScaler(with_mean=with_mean),
        StandardScaler(with_std=False),
        NetRegressor(**FAST),
    ).fit(100 * X + 5, Y[:, 0])

    save_model(pipe, path)
    loaded = load_model(path)

    assert [name for name, _ in loaded.steps] == [name for name, _ in pipe.steps]
    np.testing.assert_array_equal(
        loaded.predict(100 * X + 5), pipe.predict(100 * X + 5)
    )
    assert loaded[0].get_params() == pipe[0].get_params()
    np.testing.assert_array_equal(loaded[0].scale_, pipe[0].scale_)


def test_loaded_model_can_be_refitted_but_not_trained_further(data, path):
    X, Y = data
    reg = NetRegressor(**FAST).fit(X, Y[:, 0])
    reg.save(path)
    loaded = NetRegressor.load(path)
    before = loaded.predict(X)

    with pytest.raises(RuntimeError, match="cannot continue training"):
        loaded.partial_fit(X, Y[:, 0])
    with pytest.raises(RuntimeError, match="warm_start=False"):
        loaded.set_params(warm_start=True).fit(X, Y[:, 0])
    np.testing.assert_array_equal(loaded.predict(X), before)
    assert loaded.n_iter_ == FAST["max_epochs"]

    pickle.loads(pickle.dumps(loaded)).predict(X)
    refit = loaded.set_params(warm_start=False).fit(X, Y[:, 0])
    np.testing.assert_array_equal(refit.predict(X), reg.predict(X))
    clone(loaded).fit(X, Y[:, 0])


def test_loading_leaves_global_random_state_alone(data, path):
    X, Y = data
    NetRegressor(**FAST).fit(X, Y[:, 0]).save(path)
    state = torch.random.get_rng_state()

    load_model(path)

    assert torch.equal(torch.random.get_rng_state(), state)


def test_untrained_model_with_no_epochs_round_trips(data, path):
    X, Y = data
    reg = NetRegressor(**{**FAST, "max_epochs": 0}).fit(X, Y[:, 0])

    save_model(reg, path)

    assert load_model(path).loss_log_.shape == (0, 3)


def test_file_loads_in_a_fresh_process(data, path, tmp_path):
    X, Y = data
    reg = NetRegressor(**FAST).fit(X, Y[:, 0])
    reg.save(path)
    np.save(tmp_path / "X.npy", X)
    script = (
        "import sys, numpy as np, sknet;"
        "model = sknet.load_model(sys.argv[1]);"
        "np.save(sys.argv[3], model.predict(np.load(sys.argv[2])))"
    )

    subprocess.run(
        [sys.executable, "-c", script, path, tmp_path / "X.npy", tmp_path / "y.npy"],
        check=True,
        timeout=120,
    )

    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), reg.predict(X))


# -- what cannot be saved ------------------------------------------------


def test_unfitted_estimator_is_refused(path):
    with pytest.raises(NotFittedError, match=r"nothing to save. Call fit"):
        save_model(NetRegressor(), path)
    assert not path.exists()


@pytest.mark.parametrize(
    "estimator",
    [
        LinearRegression(),
        make_pipeline(MinMaxScaler(), NetRegressor(**FAST)),
        make_pipeline(StandardScaler(), LinearRegression()),
    ],
)
def test_other_estimators_are_refused_with_the_alternative(estimator, data, path):
    X, Y = data
    estimator.fit(X, Y[:, 0])
    with pytest.raises(TypeError, match="Save other estimators with joblib"):
        save_model(estimator, path)


def test_class_defined_in_a_function_is_refused_at_save(data, path):
    class Local(nn.Module):
        def __init__(self, n_input, n_output):
            super().__init__()
            self.linear = nn.Linear(n_input, n_output)

        def forward(self, X):
            return self.linear(X)

    X, Y = data
    reg = NetRegressor(Local, **FAST).fit(X, Y[:, 0])

    with pytest.raises(ValueError, match="defined inside a function"):
        reg.save(path)
    assert not path.exists()


def test_class_from_main_warns_and_loads_where_it_is_defined(data, path, monkeypatch):
    main_class = type("MainNet", (Bottleneck,), {"__module__": "__main__"})
    monkeypatch.setattr(sys.modules["__main__"], "MainNet", main_class, raising=False)
    X, Y = data
    reg = NetRegressor(main_class, **FAST).fit(X, Y[:, 0])

    with pytest.warns(SknetWarning, match=r"defined in the script.*\(__main__\)"):
        reg.save(path)
    np.testing.assert_array_equal(load_model(path).predict(X), reg.predict(X))

    monkeypatch.delattr(sys.modules["__main__"], "MainNet")
    with pytest.raises(ImportError, match="Define the class in the script"):
        load_model(path)


def test_function_argument_is_refused(data, path):
    X, Y = data
    reg = NetRegressor(Bottleneck, **FAST).fit(X, Y[:, 0])
    # Set after fit: only the stored description is at stake here.
    reg.set_params(module__activation=torch.relu)

    with pytest.raises(TypeError, match="Cannot save module__activation=<built-in"):
        save_model(reg, path)
    assert not path.exists()


def test_training_only_parameters_are_dropped_with_a_warning(data, path):
    X, Y = data
    reg = NetRegressor(
        **{**FAST, "random_state": np.random.RandomState(0)},
        callbacks=[("quiet", Quiet())],
        callbacks__quiet__level=2,
    )
    reg.fit(X, Y[:, 0])

    with pytest.warns(SknetWarning, match="callbacks, .*random_state cannot"):
        save_model(reg, path)
    loaded = load_model(path)

    assert loaded.callbacks is None and loaded.random_state is None
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


def test_warnings_point_at_the_caller(data, path):
    X, Y = data
    reg = NetRegressor(**FAST, callbacks=[Quiet()]).fit(X, Y[:, 0])

    with pytest.warns(SknetWarning) as record:
        reg.save(path)

    assert record[0].filename == __file__


# -- damaged and foreign files -------------------------------------------


@pytest.fixture
def saved(data, path):
    X, Y = data
    NetRegressor(**FAST).fit(X, Y[:, 0]).save(path)
    return path


@pytest.mark.parametrize(
    "content",
    [b"", b"date,y\n2001-01-01,3\n", pickle.dumps({"a": 1})],
    ids=["empty", "csv", "pickle"],
)
def test_file_of_another_kind_is_not_an_sknet_model(content, path):
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"not an sknet model file: .* safetensors"):
        load_model(path)


def test_plain_safetensors_file_is_not_an_sknet_model(path):
    safetensors.torch.save_file({"weight": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="without sknet's description"):
        load_model(path)


def test_truncated_file_is_refused(saved):
    saved.write_bytes(saved.read_bytes()[:-10])
    with pytest.raises(ValueError, match="not an sknet model file"):
        load_model(saved)


def test_changed_byte_in_the_weights_is_detected(saved):
    content = bytearray(saved.read_bytes())
    content[-5] ^= 0x10
    saved.write_bytes(bytes(content))
    with pytest.raises(ValueError, match="is damaged"):
        load_model(saved)


def test_newer_format_version_asks_for_an_upgrade(saved):
    def bump(description):
        description["format_version"] = 99
        description["saved_by"]["sknet"] = "9.0"

    _rewrite(saved, bump)
    with pytest.raises(ValueError, match=r"version 99, written by sknet 9.0.*Upgrade"):
        load_model(saved)


@pytest.mark.parametrize(
    ("class_path", "error", "message"),
    [
        ("no_such_package.nets:Net", ImportError, "no_such_package.nets:Net.*Install"),
        ("sknet:NoSuchNet", ImportError, "sknet:NoSuchNet"),
        ("collections:OrderedDict", TypeError, "not a torch.nn.Module.*refusing"),
        ("os:system", TypeError, "refusing"),
        ("os; import x", TypeError, "not a class path"),
    ],
)
def test_module_class_that_cannot_be_used_is_named(saved, class_path, error, message):
    def point_elsewhere(description):
        description["steps"][0]["params"]["module"] = {"class": class_path}

    _rewrite(saved, point_elsewhere)
    with pytest.raises(error, match=message):
        load_model(saved)


def test_weights_that_do_not_fit_the_module_are_explained(saved):
    def widen(description):
        description["steps"][0]["params"]["module__hidden_layer_sizes"] = {"tuple": [7]}

    _rewrite(saved, widen)
    with pytest.raises(ValueError, match="do not fit Net built with the stored"):
        load_model(saved)


def test_missing_file_and_pipeline_file_given_to_the_method(data, tmp_path, path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_model(tmp_path / "absent.safetensors")
    X, Y = data
    save_model(make_pipeline(StandardScaler(), NetRegressor(**FAST)).fit(X, Y), path)
    with pytest.raises(TypeError, match=r"holds a Pipeline .*sknet.load_model"):
        NetRegressor.load(path)


@pytest.mark.parametrize(
    "value", [{"tuple": 3}, {"dict": [1]}, {"set": [1]}, {"tuple": [], "dict": {}}]
)
def test_malformed_value_is_refused(saved, value):
    def spoil(description):
        description["steps"][0]["params"]["module__hidden_layer_sizes"] = value

    _rewrite(saved, spoil)
    with pytest.raises(ValueError, match="holds a malformed value"):
        load_model(saved)


# -- writing atomically --------------------------------------------------


def test_failed_write_keeps_the_previous_file(saved, data, monkeypatch):
    before = saved.read_bytes()

    def fail(descriptor):
        raise OSError("disk full")

    monkeypatch.setattr("sknet._persistence.os.fsync", fail)
    X, Y = data
    other = NetRegressor(**FAST).fit(X, Y[:, 1])
    with pytest.raises(OSError, match="disk full"):
        other.save(saved)

    assert saved.read_bytes() == before
    assert _leftovers(saved.parent) == []


def test_refused_parameter_keeps_the_previous_file(saved, data):
    before = saved.read_bytes()
    X, Y = data
    reg = NetRegressor(**FAST).fit(X, Y[:, 0])
    reg.set_params(module__hidden_layer_sizes=object())

    with pytest.raises(TypeError, match="Cannot save module__hidden_layer_sizes"):
        reg.save(saved)
    assert saved.read_bytes() == before


def test_save_to_a_missing_directory_or_onto_a_directory(saved, tmp_path):
    reg = NetRegressor.load(saved)
    with pytest.raises(FileNotFoundError, match=r"does not exist. Create it"):
        reg.save(tmp_path / "absent" / "model.safetensors")
    with pytest.raises(IsADirectoryError, match="it is a directory"):
        reg.save(tmp_path)
    assert _leftovers(tmp_path) == []


def test_load_on_an_unavailable_device_is_explained(saved):
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(ValueError, match="device='cuda' was requested"):
        load_model(saved, device="cuda")


# -- ONNX ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "two_targets", "scaled"),
    [("float32", False, False), ("float64", True, False), ("float64", False, True)],
)
def test_onnx_export_predicts_like_the_estimator(
    dtype, two_targets, scaled, data, tmp_path
):
    onnxruntime = pytest.importorskip("onnxruntime")
    X, Y = data
    y = Y if two_targets else Y[:, 0]
    reg = NetRegressor(**FAST, dtype=dtype)
    model = make_pipeline(StandardScaler(), reg) if scaled else reg
    frame = pd.DataFrame(10 * X + 3, columns=["a", "b", "c"])
    model.fit(frame, y)
    path = tmp_path / "model.onnx"

    export_onnx(model, path)

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    for rows in [frame, frame.iloc[:1]]:
        inputs = rows.to_numpy().astype(dtype)
        (output,) = session.run(["y"], {"X": inputs})
        tolerance = 1e-5 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(
            output, model.predict(rows), rtol=tolerance, atol=tolerance
        )
    names = session.get_modelmeta().custom_metadata_map["feature_names_in"]
    assert json.loads(names) == ["a", "b", "c"]
    assert _leftovers(tmp_path) == []


def test_onnx_export_of_an_unfitted_estimator_is_refused(tmp_path):
    with pytest.raises(NotFittedError):
        export_onnx(NetRegressor(), tmp_path / "model.onnx")


def test_onnx_export_without_the_extra_says_how_to_install(
    saved, tmp_path, monkeypatch
):
    find_spec = importlib.util.find_spec

    def hide(name, *args):
        return None if name == "onnxscript" else find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", hide)
    with pytest.raises(ImportError, match=r"pip install 'sknet\[onnx\]'"):
        export_onnx(load_model(saved), tmp_path / "model.onnx")
