"""Input checks and the conversion of validated arrays to tensors."""

import warnings

import numpy as np
import scipy.sparse
import torch


def densify(X):
    """Return ``X`` as a dense array if it is a scipy sparse matrix or array.

    The network multiplies dense tensors, so sparse input (for example the
    output of ``OneHotEncoder``) is expanded once, before training.
    """
    return X.toarray() if scipy.sparse.issparse(X) else X


def check_all_finite(array, name, feature_names=None):
    """Raise a ValueError naming the first NaN or infinite entry of ``array``."""
    # A sum is finite when every entry is (overflow aside, which only sends
    # us to the full check); torch sums on every core, faster than isfinite.
    if array.dtype.kind == "f" and torch.isfinite(_shared_tensor(array).sum()):
        return
    finite = np.isfinite(array)
    if finite.all():
        return
    bad_rows, *bad_columns = np.nonzero(~finite)
    row = int(bad_rows[0])
    value = array[(row, *(c[0] for c in bad_columns))]
    where = f"row {row}"
    if bad_columns:
        column = int(bad_columns[0][0])
        label = column if feature_names is None else repr(str(feature_names[column]))
        where += f", column {label}"
    kind = "NaN" if np.isnan(value) else "an infinite value"
    others = len(bad_rows) - 1
    more = f" ({others} more non-finite entries follow)" if others else ""
    fix = "drop those rows or correct them"
    if name.startswith("X"):
        fix = "drop those rows or impute them, e.g. with SimpleImputer in a Pipeline"
    raise ValueError(
        f"{name} contains {kind} at {where}{more}. The network needs finite "
        f"numbers: {fix}."
    )


def check_target_is_data(y):
    """Raise a ValueError if ``y`` is a Dask task key instead of targets.

    dask-ml's ``Incremental`` names each block of ``y`` by a key that fits
    1-d arrays only; for a 2-d ``y`` the key itself, a ``(name, index)``
    tuple, reaches ``partial_fit`` in place of the block.
    """
    if (
        isinstance(y, tuple)
        and len(y) == 2
        and isinstance(y[0], str)
        and isinstance(y[1], int)
    ):
        raise ValueError(
            f"y is {y!r}, a Dask task key rather than targets. dask-ml's "
            "Incremental passes y block by block only when y is 1-d. For several "
            "target columns, call partial_fit on the blocks yourself, for "
            "example `for i in range(X.numblocks[0]): "
            "reg.partial_fit(*dask.compute(X.blocks[i], y.blocks[i]))` (see "
            "'Out-of-core training' in the documentation)."
        )


def check_target_finite(y):
    """Raise a ValueError naming the first NaN or infinite target.

    Runs before scikit-learn's own validation, whose message says only that
    y holds a NaN, not where. Non-numeric targets are left to that
    validation, which explains them.
    """
    target = np.asarray(y)
    if target.dtype.kind == "f":
        check_all_finite(target, "y")


def check_sample_weight(sample_weight, n_samples, dtype):
    """Return ``sample_weight`` as a validated 1-d array, or None."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight)
    if weights.ndim == 0:
        weights = np.full(n_samples, weights)
    if weights.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), one weight per row of "
            f"X; got shape {weights.shape}."
        )
    if not np.issubdtype(weights.dtype, np.number) or np.iscomplexobj(weights):
        raise ValueError(
            f"sample_weight must hold real numbers; got dtype {weights.dtype}."
        )
    weights = weights.astype(dtype)
    check_all_finite(weights, "sample_weight")
    if (weights < 0).any():
        raise ValueError("sample_weight must be non-negative; some weights are < 0.")
    if weights.sum() <= 0:
        raise ValueError("sample_weight sums to zero: at least one row needs weight.")
    return weights


def to_tensor(array, dtype, device):
    """Return ``array`` as a tensor of NumPy ``dtype`` on ``device``.

    The tensor shares memory with ``array`` when it already has that dtype,
    is C-contiguous and ``device`` is the CPU.
    """
    if array is None:
        return None
    array = np.ascontiguousarray(array, dtype=dtype)
    return _shared_tensor(array).to(device)


def _shared_tensor(array):
    """Return a CPU tensor sharing memory with ``array``."""
    with warnings.catch_warnings():
        # Read-only inputs (memory maps) are safe to share: nothing writes to them.
        warnings.filterwarnings("ignore", message=".*not writable.*")
        return torch.from_numpy(array)


def as_2d_target(y):
    """Return ``y`` with one column per target."""
    return y.reshape(-1, 1) if y.ndim == 1 else y
