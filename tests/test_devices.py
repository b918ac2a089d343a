"""Models trained on a GPU load and predict on a machine without one.

This machine has no GPU, so a GPU-trained model is simulated: a model
fitted here is pickled with its estimator and net saying "cuda" and with
torch writing every tensor's location as "cuda:0", which is what a pickle
made on a GPU holds. Loading such a pickle with plain torch fails on a
CPU-only machine (checked below), so these tests exercise the real path.
The tests at the end run on a real GPU and skip elsewhere.
"""

import contextlib
import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
import torch.serialization
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import LRScheduler
from skorch.exceptions import DeviceWarning
from torch.optim.lr_scheduler import StepLR

from sknet import DeviceFallbackWarning, NetRegressor, load_model

needs_no_gpu = pytest.mark.skipif(
    torch.cuda.is_available(), reason="simulates a machine without a GPU"
)
needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = np.column_stack([X[:, 0] - X[:, 1], X[:, 2] ** 2])
    return X, y


def _fit(X, y, **params):
    settings = {"optimizer": "adam", "lr": 0.01, "max_epochs": 20, "random_state": 0}
    return NetRegressor(**{**settings, **params}).fit(X, y)


@contextlib.contextmanager
def _as_if_on_cuda(*regressors):
    """Make pickles written in this block look as if made on a GPU."""
    original_tag = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: "cuda:0"
    for regressor in regressors:
        regressor.device = regressor.net_.device = "cuda"
    try:
        yield
    finally:
        torch.serialization.location_tag = original_tag
        for regressor in regressors:
            regressor.device = regressor.net_.device = "cpu"


def _load_recording(load):
    """Return what ``load()`` returns and the sknet and skorch warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = load()
    kinds = (DeviceFallbackWarning, DeviceWarning)
    return loaded, [w for w in caught if issubclass(w.category, kinds)]


@needs_no_gpu
def test_the_simulated_gpu_pickle_fails_without_the_fallback():
    with _as_if_on_cuda():
        payload = pickle.dumps(torch.ones(3))
    with pytest.raises(RuntimeError, match="CUDA"):
        pickle.loads(payload)


@needs_no_gpu
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pickled_gpu_model_predicts_on_cpu_with_one_warning(data, dtype):
    X, y = data
    reg = _fit(X, y, dtype=dtype)
    with _as_if_on_cuda(reg):
        payload = pickle.dumps(reg)

    loaded, caught = _load_recording(lambda: pickle.loads(payload))

    assert [w.category for w in caught] == [DeviceFallbackWarning]
    assert "trained on device 'cuda'" in str(caught[0].message)
    assert loaded.net_.device == "cpu"
    assert loaded.device == "cuda"  # the parameter as the user set it
    assert loaded.module_ is loaded.net_.module_
    assert {p.device.type for p in loaded.module_.parameters()} == {"cpu"}
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


@needs_no_gpu
def test_joblib_pipeline_from_gpu_warns_once_and_trains_on_after_device_change(
    data, tmp_path
):
    X, y = data
    net = NetRegressor(
        optimizer="adam",
        lr=0.01,
        max_epochs=20,
        callbacks=[("schedule", LRScheduler(StepLR, step_size=5))],
        random_state=0,
    )
    pipeline = make_pipeline(StandardScaler(), net).fit(X, y)
    reg = pipeline[-1]
    with _as_if_on_cuda(reg):
        joblib.dump(pipeline, tmp_path / "model.joblib")

    loaded, caught = _load_recording(lambda: joblib.load(tmp_path / "model.joblib"))

    assert [w.category for w in caught] == [DeviceFallbackWarning]
    np.testing.assert_array_equal(loaded.predict(X), pipeline.predict(X))
    # The scheduler, whose optimizer holds GPU tensors, came across too,
    # still bound to the net's optimizer.
    scheduler = dict(loaded[-1].net_.callbacks_)["schedule"].lr_scheduler_
    assert scheduler.optimizer is loaded[-1].net_.optimizer_
    with pytest.raises(ValueError, match="device='cuda' was requested"):
        loaded[-1].partial_fit(loaded[0].transform(X), y)
    loaded[-1].set_params(device="cpu").partial_fit(loaded[0].transform(X), y)
    assert loaded[-1].n_iter_ == reg.n_iter_ + 1


@needs_no_gpu
@pytest.mark.parametrize("load", ["load_model", "NetRegressor.load"])
def test_model_file_saved_from_gpu_loads_on_cpu_with_one_warning(data, tmp_path, load):
    X, y = data
    reg = _fit(X, y)
    path = tmp_path / "model.safetensors"
    reg.set_params(device="cuda").save(path)
    loader = load_model if load == "load_model" else NetRegressor.load

    loaded, caught = _load_recording(lambda: loader(path))

    assert [w.category for w in caught] == [DeviceFallbackWarning]
    assert loaded.device == "cuda"
    assert loaded.net_.device == "cpu"
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


def test_model_file_loads_silently_on_an_explicit_or_automatic_device(data, tmp_path):
    X, y = data
    reg = _fit(X, y)
    path = tmp_path / "model.safetensors"
    reg.set_params(device="cuda").save(path)
    loaded, caught = _load_recording(lambda: load_model(path, device="cpu"))
    assert caught == []
    assert loaded.device == "cpu"

    reg.set_params(device="auto").save(path)
    loaded, caught = _load_recording(lambda: load_model(path))
    assert caught == []
    assert loaded.device == "auto"


def test_cpu_pickles_load_without_device_warnings(data):
    X, y = data
    reg = _fit(X, y)
    loaded, caught = _load_recording(lambda: pickle.loads(pickle.dumps(reg)))
    assert caught == []
    assert loaded.module_ is loaded.net_.module_
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


# -- on a real GPU -------------------------------------------------------


@needs_gpu
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gpu_fit_predict_partial_fit(data, dtype):
    X, y = data
    reg = _fit(X, y, dtype=dtype, device="cuda", batch_size=16)
    assert next(reg.module_.parameters()).device.type == "cuda"
    assert next(reg.module_.parameters()).dtype == getattr(torch, dtype)
    predictions = reg.predict(X)
    assert isinstance(predictions, np.ndarray)
    assert predictions.dtype == np.dtype(dtype)
    cpu = _fit(X, y, dtype=dtype, device="cpu", batch_size=16)
    tolerance = 1e-3 if dtype == "float32" else 1e-8
    np.testing.assert_allclose(predictions, cpu.predict(X), atol=tolerance)
    reg.partial_fit(X, y)
    assert reg.n_iter_ == 21


@needs_gpu
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gpu_save_load_and_pickle(data, dtype, tmp_path):
    X, y = data
    reg = _fit(X, y, dtype=dtype, device="cuda")
    path = tmp_path / "model.safetensors"
    reg.save(path)
    on_gpu = load_model(path)
    on_cpu = load_model(path, device="cpu")
    assert on_gpu.net_.device == "cuda"
    np.testing.assert_array_equal(on_gpu.predict(X), reg.predict(X))
    np.testing.assert_allclose(on_cpu.predict(X), reg.predict(X), atol=1e-5)
    buffer = io.BytesIO()
    joblib.dump(reg, buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(joblib.load(buffer).predict(X), reg.predict(X))
