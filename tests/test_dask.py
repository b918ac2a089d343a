"""NetRegressor on a Dask cluster: searches, estimators coming back, Incremental.

One local cluster of two worker processes serves the whole module; it
listens on 127.0.0.1 only and has no dashboard. Every test has a timeout,
so a transport that stops answering fails the test instead of hanging.
"""

import importlib.util
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from torch import nn

from sknet import NetRegressor

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

ROOT = Path(__file__).resolve().parents[1]


class TinyNet(nn.Module):
    """A module class defined in the test module, as a user's would be."""

    def __init__(self, n_input, n_output):
        super().__init__()
        self.linear = nn.Linear(n_input, n_output)

    def forward(self, X):
        return self.linear(X)


def _add_to_path(folder):
    if folder not in sys.path:
        sys.path.insert(0, folder)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.CRITICAL,
    )
    client = distributed.Client(cluster, timeout=60)
    # pytest imports this file as ``tests.test_dask``; the workers find it by
    # that name from the repository root, whatever folder pytest ran in.
    client.run(_add_to_path, str(ROOT))
    try:
        yield client
    finally:
        client.close(timeout=30)
        cluster.close(timeout=30)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3))
    y = X[:, 0] - 0.5 * X[:, 1] ** 2 + 0.1 * rng.normal(size=90)
    return X, y


def _fast(**params):
    settings = {"optimizer": "adam", "lr": 0.01, "max_epochs": 30, "random_state": 0}
    return NetRegressor(**{**settings, **params})


@pytest.mark.timeout(180)
def test_cluster_listens_on_loopback_only(client):
    addresses = [client.scheduler.address, *client.scheduler_info()["workers"]]
    assert all(address.startswith("tcp://127.0.0.1:") for address in addresses)


@pytest.mark.timeout(180)
def test_grid_search_on_dask_equals_the_serial_search(client, data):
    X, y = data
    search = GridSearchCV(
        _fast(),
        {"lr": [0.003, 0.03], "module__hidden_layer_sizes": [(8,), (16, 8)]},
        cv=3,
    )
    serial = clone(search).fit(X, y)
    with joblib.parallel_backend("dask"):
        on_cluster = clone(search).fit(X, y)

    for key in serial.cv_results_:
        if "test_score" in key or key.startswith(("param", "rank")):
            np.testing.assert_array_equal(
                on_cluster.cv_results_[key], serial.cv_results_[key], err_msg=key
            )
    assert on_cluster.best_params_ == serial.best_params_
    np.testing.assert_array_equal(on_cluster.predict(X), serial.predict(X))


@pytest.mark.timeout(180)
def test_fitted_estimators_with_a_test_module_class_come_back(client, data):
    X, y = data
    reg = _fast(module=TinyNet)
    with joblib.parallel_backend("dask"):
        result = cross_validate(
            reg, X, y, cv=KFold(3), return_estimator=True, error_score="raise"
        )

    for (train, _), fitted in zip(KFold(3).split(X), result["estimator"], strict=True):
        assert fitted.module is TinyNet
        assert type(fitted.module_) is TinyNet
        local = clone(reg).fit(X[train], y[train])
        np.testing.assert_array_equal(fitted.predict(X), local.predict(X))


def _module_from_file(folder, name):
    """Import ``folder/name.py`` under ``name`` without putting it on sys.path."""
    source = Path(folder, f"{name}.py")
    source.write_text(
        textwrap.dedent(
            """
            from torch import nn


            class HiddenNet(nn.Module):
                def __init__(self, n_input, n_output):
                    super().__init__()
                    self.linear = nn.Linear(n_input, n_output)

                def forward(self, X):
                    return self.linear(X)
            """
        )
    )
    spec = importlib.util.spec_from_file_location(name, source)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def unimportable(tmp_path):
    name = "sknet_test_module_the_workers_cannot_import"
    yield _module_from_file(tmp_path, name)
    del sys.modules[name]


@pytest.mark.timeout(180)
def test_a_class_the_workers_cannot_import_fails_at_once_and_clearly(
    client, data, unimportable
):
    X, y = data
    reg = _fast(module=unimportable.HiddenNet)
    with (
        pytest.raises(ImportError, match=r"cannot import its class HiddenNet"),
        joblib.parallel_backend("dask"),
    ):
        cross_validate(reg, X, y, cv=2, error_score="raise")


@pytest.mark.timeout(180)
def test_a_class_registered_with_cloudpickle_travels_by_value(
    client, data, unimportable
):
    cloudpickle = pytest.importorskip("cloudpickle")
    X, y = data
    reg = _fast(module=unimportable.HiddenNet)
    cloudpickle.register_pickle_by_value(unimportable)
    try:
        with joblib.parallel_backend("dask"):
            result = cross_validate(
                reg, X, y, cv=2, return_estimator=True, error_score="raise"
            )
    finally:
        cloudpickle.unregister_pickle_by_value(unimportable)
    fitted = result["estimator"][0]
    assert fitted.module is unimportable.HiddenNet
    assert np.isfinite(fitted.predict(X)).all()


SCRIPT = """
import joblib
import numpy as np
from dask.distributed import Client, LocalCluster
from sklearn.base import clone
from sklearn.model_selection import KFold, cross_validate
from torch import nn

from sknet import NetRegressor


class ScriptNet(nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.linear = nn.Linear(n_input, n_output)

    def forward(self, X):
        return self.linear(X)


if __name__ == "__main__":
    X = np.random.default_rng(0).normal(size=(60, 3))
    y = X[:, 0] - X[:, 1]
    reg = NetRegressor(ScriptNet, optimizer="adam", max_epochs=10, random_state=0)
    cluster = LocalCluster(
        n_workers=1, processes=True, threads_per_worker=1, host="127.0.0.1",
        dashboard_address=None,
    )
    with cluster, Client(cluster, timeout=60):
        with joblib.parallel_backend("dask"):
            result = cross_validate(
                reg, X, y, cv=KFold(2), return_estimator=True, error_score="raise"
            )
    for (train, _), fitted in zip(KFold(2).split(X), result["estimator"]):
        assert fitted.module is ScriptNet
        local = clone(reg).fit(X[train], y[train])
        assert (fitted.predict(X) == local.predict(X)).all()
    print("estimators came back")
"""


@pytest.mark.timeout(240)
def test_a_class_defined_in_the_calling_script_comes_back(tmp_path):
    script = tmp_path / "search.py"
    script.write_text(SCRIPT)
    finished = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=200,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "estimators came back" in finished.stdout


# -- out-of-core training through dask-ml's Incremental ---------------------


@pytest.fixture(scope="module")
def blocks():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3))
    Y = np.column_stack([X[:, 0] - X[:, 1], X[:, 2] ** 2])
    return da.from_array(X, chunks=(100, 3)), da.from_array(Y, chunks=(100, 2))


@pytest.mark.timeout(180)
def test_incremental_trains_block_by_block_on_the_cluster(client, blocks):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, Y = blocks
    y = Y[:, 0]
    reg = _fast(partial_fit_epochs=5)
    incremental = wrappers.Incremental(reg, shuffle_blocks=False).fit(X, y)

    local = clone(reg)
    for index in range(X.numblocks[0]):
        local.partial_fit(X.blocks[index].compute(), y.blocks[index].compute())
    fitted = incremental.estimator_
    assert fitted.n_iter_ == 4 * 5
    np.testing.assert_array_equal(fitted.loss_log_, local.loss_log_)
    predictions = incremental.predict(X)
    assert isinstance(predictions, da.Array)
    np.testing.assert_array_equal(predictions.compute(), local.predict(X.compute()))


@pytest.mark.timeout(180)
def test_incremental_with_several_targets_says_what_to_do(client, blocks):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, Y = blocks
    incremental = wrappers.Incremental(_fast(), shuffle_blocks=False)
    with pytest.raises(ValueError, match="Dask task key rather than targets"):
        incremental.fit(X, Y)


@pytest.mark.timeout(180)
def test_block_loop_trains_on_several_targets(client, blocks):
    import dask

    X, Y = blocks
    reg = _fast(partial_fit_epochs=2)
    for index in range(X.numblocks[0]):
        reg.partial_fit(*dask.compute(X.blocks[index], Y.blocks[index]))
    assert reg.n_iter_ == 4 * 2
    assert reg.predict(X[:5].compute()).shape == (5, 2)
