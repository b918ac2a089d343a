"""Data-parallel training through Accelerate, in one process and in two.

The two-process test runs a script under accelerate's ``debug_launcher``:
two CPU processes joined by gloo over the loopback interface, meeting
through a file rather than a network port. The script runs in its own
process group, which is killed if it outlives its timeout.
"""

import os
import pickle
import signal
import subprocess
import sys

import numpy as np
import pytest
from torch import nn

from sknet import NetRegressor

pytest.importorskip("accelerate")

SCRIPT = """
import sys

import numpy as np
from accelerate import debug_launcher
from torch import nn

from sknet import NetRegressor


class CountingNet(nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.hidden = nn.Linear(n_input, 16)
        self.out = nn.Linear(16, n_output)
        self.rows_trained = 0  # a plain attribute: never synchronised

    def forward(self, X):
        if self.training:
            self.rows_trained += len(X)
        return self.out(nn.functional.relu(self.hidden(X)))


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(102, 3))
    y = np.column_stack([X[:, 0] - X[:, 1], X[:, 2] ** 2])
    return X, y


def estimator(**params):
    # 81 training rows in batches of 16: the last batch has one row, so one
    # process has no share of it.
    return NetRegressor(
        CountingNet, optimizer="adam", lr=0.01, max_epochs=15, batch_size=16,
        validation_fraction=0.2, random_state=0, **params,
    )


def train(folder):
    X, y = data()
    reg = estimator(data_parallel=True).fit(X, y)
    accelerator = reg.net_.accelerator
    np.savez(
        f"{folder}/rank{accelerator.process_index}.npz",
        loss_log=reg.loss_log_,
        predictions=reg.predict(X),
        rows=reg.module_.rows_trained,
        world=accelerator.num_processes,
    )


if __name__ == "__main__":
    if sys.argv[2] == "parallel":
        debug_launcher(train, args=(sys.argv[1],), num_processes=2)
    else:
        X, y = data()
        reg = estimator().fit(X, y)
        np.savez(
            f"{sys.argv[1]}/single.npz",
            loss_log=reg.loss_log_,
            predictions=reg.predict(X),
            rows=reg.module_.rows_trained,
        )
"""


def _run(script, *arguments, timeout=240):
    process = subprocess.Popen(
        [sys.executable, str(script), *arguments],
        cwd=script.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, errors = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"{script.name} {' '.join(arguments)} ran past {timeout} s")
    assert process.returncode == 0, errors[-3000:]


@pytest.mark.timeout(300)
def test_two_processes_share_each_batch_and_agree_on_the_loss(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    _run(script, str(tmp_path), "parallel")
    _run(script, str(tmp_path), "single")
    ranks = [np.load(tmp_path / f"rank{index}.npz") for index in (0, 1)]
    single = np.load(tmp_path / "single.npz")

    assert [int(rank["world"]) for rank in ranks] == [2, 2]
    # Every process logs the whole batch's loss, and the weights agree.
    np.testing.assert_array_equal(ranks[0]["loss_log"], ranks[1]["loss_log"])
    np.testing.assert_array_equal(ranks[0]["predictions"], ranks[1]["predictions"])
    # Each trained on its own share of the rows ...
    rows = [int(rank["rows"]) for rank in ranks]
    assert sum(rows) == int(single["rows"]) == 81 * 15
    assert min(rows) > 0
    # ... and together they took the single-process steps.
    np.testing.assert_allclose(ranks[0]["loss_log"], single["loss_log"], rtol=1e-9)
    np.testing.assert_allclose(
        ranks[0]["predictions"], single["predictions"], rtol=1e-9, atol=1e-12
    )


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3))
    return X, X[:, 0] - X[:, 1]


def _estimator(**params):
    settings = {"optimizer": "adam", "lr": 0.01, "max_epochs": 10, "random_state": 0}
    return NetRegressor(batch_size=32, **{**settings, **params})


def test_one_process_trains_as_without_accelerate():
    X, y = _data()
    plain = _estimator().fit(X, y)
    accelerated = _estimator(data_parallel=True).fit(X, y)
    np.testing.assert_array_equal(accelerated.loss_log_, plain.loss_log_)
    np.testing.assert_array_equal(accelerated.predict(X), plain.predict(X))
    assert isinstance(accelerated.net_.criterion_, nn.MSELoss)
    accelerated.partial_fit(X, y)
    assert accelerated.n_iter_ == 11


def test_a_copy_predicts_but_does_not_continue_training():
    X, y = _data()
    reg = _estimator(data_parallel=True).fit(X, y)
    copy = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(copy.predict(X), reg.predict(X))
    with pytest.raises(RuntimeError, match="trained data-parallel"):
        copy.partial_fit(X, y)
    copy.fit(X, y)  # a fresh fit is fine
    np.testing.assert_array_equal(copy.loss_log_, reg.loss_log_)


def test_data_parallel_is_checked_like_every_parameter():
    X, y = _data()
    with pytest.raises(ValueError, match="data_parallel must be True or False"):
        _estimator(data_parallel="yes").fit(X, y)
