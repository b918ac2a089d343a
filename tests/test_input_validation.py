"""Every kind of unusual input gets the right result or a clear error."""

import numpy as np
import pytest
import scipy.sparse

from sknet import NetRegressor

FAST = {"optimizer": "adam", "lr": 0.01, "max_epochs": 5, "random_state": 0}
rng = np.random.default_rng(0)
X = rng.normal(size=(12, 3))
y = X.sum(axis=1)


def fit(X, y, **kwargs):
    return NetRegressor(**FAST).fit(X, y, **kwargs)


@pytest.mark.parametrize(
    ("X_bad", "y_bad", "message"),
    [
        (np.empty((0, 3)), np.empty(0), "0 sample"),
        (X, y[:-1], "inconsistent numbers of samples"),
        (X.reshape(12, 3, 1), y, "Found array with dim 3"),
        (X.astype(str).astype(object) + "x", y, "could not convert|dtype object"),
        (X + 1j, y, "Complex data not supported"),
        (X[:, 0], y, "Expected 2D array, got 1D array"),
        (X, np.array(["a"] * 12, dtype=object), "could not convert|numeric"),
    ],
    ids=["empty", "lengths", "3-d", "strings", "complex", "1-d", "string-y"],
)
def test_malformed_input_is_refused(X_bad, y_bad, message):
    with pytest.raises(ValueError, match=message):
        fit(X_bad, y_bad)


@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["nan", "inf"])
def test_non_finite_x_names_row_and_column(value):
    X_bad = X.copy()
    X_bad[4, 2] = value
    with pytest.raises(ValueError, match=r"X contains .* at row 4, column 2\."):
        fit(X_bad, y)


def test_non_finite_x_in_dataframe_names_the_column():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["gdp", "cpi", "rate"])
    frame.loc[7, "cpi"] = np.nan
    with pytest.raises(ValueError, match=r"row 7, column 'cpi'.*SimpleImputer"):
        fit(frame, y)


def test_non_finite_y_names_the_row():
    y_bad = y.copy()
    y_bad[3] = np.nan
    with pytest.raises(ValueError, match=r"y contains NaN at row 3"):
        fit(X, y_bad)


def test_non_finite_input_at_predict_is_refused():
    reg = fit(X, y)
    X_bad = X.copy()
    X_bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="X contains an infinite value at row 0"):
        reg.predict(X_bad)


def test_feature_count_mismatch_names_both_counts():
    reg = fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but NetRegressor is "):
        reg.predict(X[:, :2])


def test_one_sample_and_one_feature_fit():
    assert fit(X[:1], y[:1]).predict(X[:1]).shape == (1,)
    assert fit(X[:, :1], y).predict(X[:, :1]).shape == (12,)


@pytest.mark.parametrize(
    "convert",
    [scipy.sparse.csr_matrix, scipy.sparse.csc_matrix, scipy.sparse.coo_array],
)
def test_sparse_input_is_densified(convert):
    dense = fit(X, y).predict(X)
    sparse = NetRegressor(**FAST).fit(convert(X), y).predict(convert(X))
    np.testing.assert_allclose(sparse, dense)


def test_fortran_ordered_and_read_only_memory_mapped_input(tmp_path):
    expected = fit(X, y).predict(X)
    fortran = np.asfortranarray(X)
    np.testing.assert_array_equal(fit(fortran, y).predict(fortran), expected)
    path = tmp_path / "X.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    np.testing.assert_array_equal(fit(mapped, y).predict(mapped), expected)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, bool])
def test_integer_and_boolean_targets_are_regressed(dtype):
    y_cast = (y > 0).astype(dtype) if dtype is bool else np.round(y).astype(dtype)
    prediction = fit(X, y_cast).predict(X)
    assert prediction.dtype == np.float64


@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.uint16, np.float16, bool])
def test_any_real_input_dtype(dtype):
    X_cast = (X > 0).astype(dtype) if dtype is bool else (X * 10).astype(dtype)
    assert fit(X_cast, y).predict(X_cast).shape == (12,)


def test_plain_lists():
    reg = fit(X.tolist(), y.tolist())
    assert reg.predict(X.tolist()).shape == (12,)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.ones(5), r"sample_weight must have shape \(12,\)"),
        (-np.ones(12), "non-negative"),
        (np.zeros(12), "sums to zero"),
        (np.full(12, np.nan), "sample_weight contains NaN"),
    ],
)
def test_bad_sample_weight(weights, message):
    with pytest.raises(ValueError, match=message):
        fit(X, y, sample_weight=weights)


def test_validation_data_must_come_in_pairs_and_match():
    with pytest.raises(ValueError, match="X_val and y_val together"):
        fit(X, y, X_val=X)
    with pytest.raises(ValueError, match="y_val needs one row per row of X_val"):
        fit(X, y, X_val=X, y_val=y[:3])
    with pytest.raises(ValueError, match="X has 2 features"):
        fit(X, y, X_val=X[:, :2], y_val=y)


def test_validation_fraction_and_explicit_validation_data_conflict():
    reg = NetRegressor(**FAST, validation_fraction=0.2)
    with pytest.raises(ValueError, match="Both validation_fraction and X_val"):
        reg.fit(X, y, X_val=X, y_val=y)


def test_validation_fraction_needs_rows_on_both_sides():
    reg = NetRegressor(**FAST, validation_fraction=0.5)
    with pytest.raises(ValueError, match="both need at least one row"):
        reg.fit(X[:1], y[:1])


def test_missing_target_is_refused():
    with pytest.raises(ValueError, match="requires y to be passed"):
        NetRegressor(**FAST).fit(X, None)


def test_module_with_wrong_output_shape_is_explained():
    import torch

    class Squeezed(torch.nn.Module):
        def __init__(self, n_input, n_output):
            super().__init__()
            self.linear = torch.nn.Linear(n_input, n_output)

        def forward(self, X):
            return self.linear(X).squeeze(-1)

    with pytest.raises(ValueError, match=r"outputs of shape \(12,\) .* \(12, 1\)"):
        NetRegressor(Squeezed, max_epochs=1).fit(X, y)


def test_non_finite_validation_data_is_named():
    X_val = X.copy()
    X_val[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"X_val contains NaN at row 2"):
        fit(X, y, X_val=X_val, y_val=y)
