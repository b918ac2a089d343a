"""Saving fitted networks as weights plus parameters, and exporting to ONNX.

A model file is a safetensors file: the network's tensors, and a JSON
description in the file's metadata holding the estimator's parameters and
what ``fit`` learned. Reading it parses JSON and copies tensors; no code
stored in the file runs, unlike pickle and joblib. Classes (the module, a
criterion, an optimizer) are stored by import path and imported when the
file is loaded, which runs the import-time code of the package that
defines them, as ``import package`` would. See docs/persistence.md.
"""

import contextlib
import copy
import hashlib
import importlib
import importlib.util
import inspect
import json
import numbers
import os
import re
import secrets
import sys
from pathlib import Path

import numpy as np
import safetensors
import safetensors.torch
import torch
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._exceptions import SknetWarning
from ._params import DTYPES, normalise_dtype
from ._portability import fallback_device, warn_device_fallback
from ._warnings import warn

FORMAT = "sknet-model"
FORMAT_VERSION = 1
# Keys of the safetensors metadata: the JSON description, and a checksum over
# the description and every tensor that tells a damaged file from a valid one.
DESCRIPTION_KEY = "sknet"
CHECKSUM_KEY = "sknet_sha256"

# A class stored in a file must derive from one of these; anything else that a
# file names is refused before it is used.
STORABLE_CLASSES = (nn.Module, torch.optim.Optimizer)
_CLASS_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_DTYPE_NAMES = {dtype: name for name, dtype in DTYPES.items()}
_SCALER_ARRAYS = ("mean_", "var_", "scale_")

# What a file must hold for each kind of step: description entries, tensors.
_FITTED_LAYOUT = {
    "StandardScaler": (("n_features_in_", "feature_names_in_", "n_samples_seen_"), ()),
    "NetRegressor": (
        (
            "n_features_in_",
            "feature_names_in_",
            "n_outputs_",
            "target_is_1d",
            "dtype",
            "n_iter_",
        ),
        ("loss_log_",),
    ),
}

_NOT_FITTED = (
    "This %(name)s is not fitted yet, so there is nothing to save. Call fit "
    "before saving it."
)


def save_model(estimator, path: str | os.PathLike) -> None:
    """Save a fitted network to ``path`` as weights plus parameters.

    The file is in the safetensors format: the module's state dict, the
    estimator's parameters, what ``fit`` learned (the number and names of
    the features, the number of targets, the precision, ``loss_log_``,
    ``n_iter_``, ``best_epoch_``) and, for a Pipeline, each
    ``StandardScaler``'s statistics. Loading it runs no code stored in it.

    The file is written under a temporary name beside ``path`` and renamed
    into place, so a failed save leaves no partial file and keeps any file
    that ``path`` held before.

    Parameters
    ----------
    estimator : NetRegressor or Pipeline
        A fitted :class:`NetRegressor`, or a fitted Pipeline of zero or more
        ``StandardScaler`` steps followed by a :class:`NetRegressor`.
    path : str or path-like
        The file to write, for example ``"model.safetensors"``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    TypeError
        If the estimator, a pipeline step or a parameter cannot be stored
        as data; the message names it.
    ValueError
        If the module class cannot be imported again by its path, for
        instance because it is defined inside a function.

    Warns
    -----
    SknetWarning
        When the module class is defined in ``__main__`` (a script or a
        notebook): the file then loads only where a class of that name is
        defined in ``__main__`` again. Also when ``callbacks`` or a
        ``RandomState`` instance are left out of the file.

    See Also
    --------
    load_model : Load the file again.
    NetRegressor.save : The same for a NetRegressor, as a method.
    export_onnx : Export the network to ONNX, to predict without Python.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from sknet import NetRegressor, load_model, save_model
    >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
    >>> reg = NetRegressor(max_epochs=5, random_state=0).fit(X, 2 * X.ravel())
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder, "model.safetensors")
    ...     save_model(reg, path)
    ...     loaded = load_model(path)
    >>> bool((loaded.predict(X) == reg.predict(X)).all())
    True
    """
    steps = _storable_steps(estimator)
    tensors = {}
    records = []
    for index, (name, step) in enumerate(steps):
        record, arrays = _describe_step(step)
        records.append({"name": name, **record})
        tensors.update({f"{index}/{key}": value for key, value in arrays.items()})

    description = json.dumps(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "saved_by": _versions(),
            "pipeline": isinstance(estimator, Pipeline),
            "steps": records,
        }
    )
    metadata = {
        DESCRIPTION_KEY: description,
        CHECKSUM_KEY: _checksum(description, tensors),
    }
    data = safetensors.torch.save(tensors, metadata=metadata)
    write_file_atomically(Path(path), data)


def load_model(path: str | os.PathLike, *, device: str | None = None):
    """Load a model saved by :func:`save_model`.

    The file's tensors and JSON description are read without running any
    code stored in the file. The classes the file names (the module and,
    if they were classes, the criterion and optimizer) are then imported by
    their paths, which runs the import-time code of the packages that
    define them, and each must be a ``torch.nn.Module`` or
    ``torch.optim.Optimizer`` subclass; the module is instantiated with the
    stored arguments and receives the stored weights.

    The loaded estimator predicts and scores exactly like the saved one.
    It can be refitted from scratch (``fit`` with ``warm_start=False``, or a
    clone), but it cannot continue training: the file holds no optimizer
    state and no per-epoch history.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_model` or :meth:`NetRegressor.save`.
    device : {None, "cpu", "cuda", "cuda:N", "auto"}, default=None
        Where the loaded network lives. None keeps the ``device`` the model
        was saved with, except that a model saved with a CUDA device is
        loaded onto the CPU, with a :class:`DeviceFallbackWarning`, where
        PyTorch sees no GPU; its ``device`` parameter then still names the
        GPU. Any other value also becomes the estimator's ``device``
        parameter, and a CUDA device that is missing is an error.

    Returns
    -------
    estimator : NetRegressor or Pipeline
        What was saved, fitted.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        If the file is not an sknet model file, is damaged, was saved in a
        newer format, or its weights do not fit its module.
    ImportError
        If a class the file names cannot be imported.
    TypeError
        If a path in the file names something that is not a
        ``torch.nn.Module`` or ``torch.optim.Optimizer`` subclass.

    Warns
    -----
    DeviceFallbackWarning
        With ``device=None``, when the model was saved with a CUDA device
        and this machine has none.

    See Also
    --------
    save_model : Write such a file.
    NetRegressor.load : Load a file that holds a NetRegressor.
    """
    path = Path(path)
    description, tensors = _read(path)
    steps = [
        _rebuild_step(record, _step_tensors(tensors, index), device, path)
        for index, record in enumerate(description["steps"])
    ]
    if description["pipeline"]:
        return Pipeline(list(zip(_step_names(description), steps, strict=True)))
    return steps[0]


def load_regressor(path, device=None, kind=None):
    """Load ``path`` and check that it holds an instance of ``kind``."""
    from ._estimator import NetRegressor

    kind = kind or NetRegressor
    model = load_model(path, device=device)
    if not isinstance(model, kind):
        held = " -> ".join(type(step).__name__ for step in _as_steps(model))
        raise TypeError(
            f"{path} holds a {type(model).__name__} ({held}), not a "
            f"{kind.__name__}; load it with sknet.load_model({str(path)!r})."
        )
    return model


def export_onnx(
    estimator, path: str | os.PathLike, *, opset_version: int | None = None
) -> None:
    """Export a fitted network to an ONNX file, through ``torch.onnx.export``.

    The ONNX model takes one input ``X`` of shape ``(n_samples,
    n_features)`` in the network's precision (float32 or float64, as
    ``predict`` computes) and returns ``y`` shaped as ``predict`` returns
    it. For a Pipeline, the ``StandardScaler`` steps are part of the
    graph, so the ONNX model takes the raw features. The feature names, if
    any, are stored in the model's metadata as ``feature_names_in`` (JSON).

    Needs the ``onnx`` extra: ``pip install 'sknet[onnx]'``.

    Parameters
    ----------
    estimator : NetRegressor or Pipeline
        A fitted :class:`NetRegressor`, or a fitted Pipeline of zero or more
        ``StandardScaler`` steps followed by a :class:`NetRegressor`.
    path : str or path-like
        The ``.onnx`` file to write; it is written atomically.
    opset_version : int, default=None
        The ONNX opset to target. None uses the exporter's default.

    See Also
    --------
    save_model : Save the estimator to load it back into sknet.

    Examples
    --------
    >>> import numpy as np, onnxruntime  # doctest: +SKIP
    >>> export_onnx(reg, "model.onnx")  # doctest: +SKIP
    >>> session = onnxruntime.InferenceSession("model.onnx")  # doctest: +SKIP
    >>> session.run(None, {"X": X.astype(np.float64)})[0]  # doctest: +SKIP
    """
    _require_onnx_exporter()
    steps = _storable_steps(estimator)
    scalers = [step for _, step in steps[:-1]]
    regressor = steps[-1][1]
    graph = _ExportedNetwork(scalers, regressor).eval()
    example = torch.zeros(2, regressor.n_features_in_, dtype=regressor._dtype)

    program = torch.onnx.export(
        graph,
        (example,),
        input_names=["X"],
        output_names=["y"],
        dynamic_shapes=({0: torch.export.Dim("n_samples")},),
        opset_version=opset_version,
        dynamo=True,
        verbose=False,
    )
    model = program.model_proto
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        entry = model.metadata_props.add()
        entry.key, entry.value = "feature_names_in", json.dumps(list(map(str, names)))
    write_file_atomically(Path(path), model.SerializeToString())


def write_file_atomically(path, data):
    """Write ``data`` to ``path`` through a temporary file and a rename.

    A failure at any point leaves no partial file and keeps whatever
    ``path`` held before.
    """
    directory = path.absolute().parent
    if path.is_dir():
        raise IsADirectoryError(
            f"cannot write {path}: it is a directory. Give a file name inside "
            f"it, such as {path / 'model.safetensors'}."
        )
    if not directory.is_dir():
        raise FileNotFoundError(
            f"cannot write {path}: the directory {directory} does not exist. "
            "Create it first."
        )
    # A fresh name opened exclusively, rather than mkstemp, so that the file
    # gets the usual permissions (the umask's) instead of owner-only ones.
    temporary = directory / f".{path.name}.{secrets.token_hex(6)}.partial"
    try:
        with open(temporary, "xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


# -- what a file can hold ------------------------------------------------


def _storable_steps(estimator):
    """Return ``[(name, step), ...]``, checking that each can be stored."""
    from ._estimator import NetRegressor

    if isinstance(estimator, Pipeline):
        steps = list(estimator.steps)
    else:
        steps = [(None, estimator)]
    kinds = [StandardScaler] * (len(steps) - 1) + [NetRegressor]
    for (name, step), kind in zip(steps, kinds, strict=True):
        if type(step) is not kind:
            where = f"step {name!r} of the Pipeline" if name else "the estimator"
            raise TypeError(
                "save_model and export_onnx take a fitted NetRegressor, or a "
                "Pipeline of StandardScaler steps ending in a NetRegressor; "
                f"{where} is {step!r}. Save other estimators with joblib or "
                "pickle, which run code when loaded: load such files only from "
                "sources you trust."
            )
        check_is_fitted(step, msg=_NOT_FITTED)
    return steps


def _as_steps(estimator):
    if isinstance(estimator, Pipeline):
        return [step for _, step in estimator.steps]
    return [estimator]


def _describe_step(step):
    if isinstance(step, StandardScaler):
        return _describe_scaler(step)
    return _describe_regressor(step)


def _describe_scaler(scaler):
    arrays = {
        name: torch.from_numpy(np.array(getattr(scaler, name)))
        for name in _SCALER_ARRAYS
        if getattr(scaler, name, None) is not None
    }
    seen = scaler.n_samples_seen_
    if np.ndim(seen) > 0:
        arrays["n_samples_seen_"] = torch.from_numpy(np.array(seen))
        seen = None
    record = {
        "estimator": "StandardScaler",
        "params": {
            name: _encode(value, name) for name, value in scaler.get_params().items()
        },
        "fitted": {
            "n_features_in_": int(scaler.n_features_in_),
            "feature_names_in_": _names(scaler),
            "n_samples_seen_": None if seen is None else int(seen),
        },
    }
    return record, arrays


def _describe_regressor(regressor):
    params = _storable_params(regressor)
    fitted = {
        "n_features_in_": int(regressor.n_features_in_),
        "feature_names_in_": _names(regressor),
        "n_outputs_": int(regressor.n_outputs_),
        "target_is_1d": bool(regressor._target_is_1d),
        "dtype": _DTYPE_NAMES[regressor._dtype],
        "n_iter_": int(regressor.n_iter_),
    }
    if hasattr(regressor, "best_epoch_"):
        fitted["best_epoch_"] = int(regressor.best_epoch_)

    arrays = {"loss_log_": torch.from_numpy(np.array(regressor.loss_log_))}
    for key, value in regressor.module_.state_dict().items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f"The module's state holds {key!r}, a {type(value).__name__} and "
                "not a tensor, so it cannot be saved as weights. Save this "
                "estimator with joblib or pickle instead."
            )
        # A copy per entry: safetensors refuses tensors that share memory.
        arrays[f"module.{key}"] = value.detach().to("cpu").contiguous().clone()
    return {"estimator": "NetRegressor", "params": params, "fitted": fitted}, arrays


def _names(estimator):
    names = getattr(estimator, "feature_names_in_", None)
    return None if names is None else [str(name) for name in names]


def _storable_params(regressor):
    params = regressor.get_params(deep=False)
    dropped = []
    if params["callbacks"]:
        dropped.append("callbacks")
    dropped += sorted(key for key in params if key.startswith("callbacks__"))
    if isinstance(params["random_state"], np.random.RandomState):
        dropped.append("random_state")
    if dropped:
        warn(
            f"{', '.join(dropped)} cannot be stored as data and only matter for "
            "training, so they are left out of the file: the loaded estimator "
            "has none. Set them again before fitting it anew.",
            SknetWarning,
        )
    params = {key: value for key, value in params.items() if key not in dropped}
    params["callbacks"] = None
    if "random_state" in dropped:
        params["random_state"] = None
    dtype = normalise_dtype(params["dtype"])
    params["dtype"] = None if dtype is None else _DTYPE_NAMES[dtype]
    params["device"] = str(params["device"])
    return {key: _encode(value, key) for key, value in params.items()}


def _encode(value, name):
    """Return ``value`` as JSON data; tuples, dicts and classes are tagged."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        items = [_encode(item, f"{name}[{i}]") for i, item in enumerate(value)]
        return items if isinstance(value, list) else {"tuple": items}
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        items = {key: _encode(item, f"{name}[{key!r}]") for key, item in value.items()}
        return {"dict": items}
    if inspect.isclass(value) and issubclass(value, STORABLE_CLASSES):
        return {"class": _class_path(value, name)}
    raise TypeError(
        f"Cannot save {name}={value!r}: a model file stores numbers, strings, "
        "booleans, None, lists, tuples, dicts with string keys, and "
        "torch.nn.Module or torch.optim.Optimizer classes. Use one of those, or "
        "save the estimator with joblib or pickle."
    )


def _class_path(cls, name):
    if "<locals>" in cls.__qualname__:
        raise ValueError(
            f"Cannot save {name}={cls.__qualname__}: the class is defined inside "
            "a function, so it could not be imported when the file is loaded. "
            "Define it at the top level of a module."
        )
    path = f"{_public_module(cls)}:{cls.__qualname__}"
    try:
        found = _import_class(path, "the model being saved")
    except (ImportError, TypeError):
        found = None
    if found is not cls:
        raise ValueError(
            f"Cannot save {name}={cls.__qualname__}: importing {path} does not "
            "give this class back, so the file could not be loaded. Define the "
            "class once, at the top level of an importable module."
        )
    if cls.__module__ == "__main__":
        warn(
            f"{name}={cls.__qualname__} is defined in the script or notebook "
            "being run (__main__). The file loads only where a class of that "
            "name is defined in __main__ again; move the class into an "
            "importable module to load the file anywhere.",
            SknetWarning,
        )
    return path


def _public_module(cls):
    """Return the shortest imported module path that exposes ``cls``.

    ``torch.nn:MSELoss`` rather than ``torch.nn.modules.loss:MSELoss``: the
    public name survives a reorganisation of the package's private modules.
    """
    parts = cls.__module__.split(".")
    for end in range(1, len(parts)):
        module = sys.modules.get(".".join(parts[:end]))
        if module is not None and _attribute(module, cls.__qualname__) is cls:
            return ".".join(parts[:end])
    return cls.__module__


def _attribute(owner, qualname):
    for part in qualname.split("."):
        owner = getattr(owner, part, None)
    return owner


def _versions():
    from . import __version__

    return {
        "sknet": __version__,
        "torch": torch.__version__,
        "safetensors": safetensors.__version__,
    }


def _checksum(description, tensors):
    digest = hashlib.sha256(description.encode("utf-8"))
    for key in sorted(tensors):
        tensor = tensors[key].contiguous()
        digest.update(f"\0{key}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


# -- reading a file ------------------------------------------------------


def _read(path):
    """Return the checked JSON description and the tensors of ``path``."""
    if not path.is_file():
        reason = "it is a directory" if path.is_dir() else "no such file"
        raise FileNotFoundError(f"cannot load {path}: {reason}")
    try:
        with safetensors.safe_open(path, framework="pt", device="cpu") as file:
            metadata = file.metadata() or {}
            keys = file.keys()
            tensors = {key: file.get_tensor(key) for key in keys}
    except safetensors.SafetensorError as error:
        raise ValueError(
            f"not an sknet model file: {path} is not in the safetensors format "
            f"({error}). Give a file written by sknet.save_model."
        ) from None

    if DESCRIPTION_KEY not in metadata:
        raise ValueError(
            f"not an sknet model file: {path} is a safetensors file without "
            "sknet's description of the model, so another program wrote it. "
            "Give a file written by sknet.save_model."
        )
    description = _parse_description(metadata[DESCRIPTION_KEY], path)
    if metadata.get(CHECKSUM_KEY) != _checksum(metadata[DESCRIPTION_KEY], tensors):
        raise ValueError(
            f"{path} is damaged: its contents no longer match the checksum "
            "written when it was saved. Save the model again, or use an intact "
            "copy."
        )
    return description, tensors


def _parse_description(text, path):
    try:
        description = json.loads(text)
        marker = description["format"]
        version = description["format_version"]
    except (ValueError, TypeError, KeyError):
        marker = version = None
    if marker != FORMAT or not isinstance(version, int):
        raise ValueError(
            f"not an sknet model file: {path} has an unreadable description of "
            "the model. Give a file written by sknet.save_model."
        )
    if version > FORMAT_VERSION:
        saved_by = description.get("saved_by", {}).get("sknet", "a newer sknet")
        raise ValueError(
            f"{path} is in sknet model format version {version}, written by "
            f"sknet {saved_by}; this sknet reads version {FORMAT_VERSION} only. "
            "Upgrade sknet to load it."
        )
    _check_layout(description, path)
    return description


def _check_layout(description, path):
    steps = description.get("steps")
    valid = (
        isinstance(steps, list)
        and len(steps) >= 1
        and isinstance(description.get("pipeline"), bool)
        and (description["pipeline"] or len(steps) == 1)
        and all(
            isinstance(step, dict)
            and isinstance(step.get("params"), dict)
            and isinstance(step.get("fitted"), dict)
            for step in steps
        )
        and [step.get("estimator") for step in steps]
        == ["StandardScaler"] * (len(steps) - 1) + ["NetRegressor"]
    )
    if not valid:
        raise ValueError(
            f"not an sknet model file: {path} describes no NetRegressor or "
            "Pipeline of StandardScaler steps ending in one. Give a file written "
            "by sknet.save_model."
        )


def _step_tensors(tensors, index):
    prefix = f"{index}/"
    return {
        key[len(prefix) :]: value
        for key, value in tensors.items()
        if key.startswith(prefix)
    }


def _step_names(description):
    return [str(step.get("name")) for step in description["steps"]]


def _rebuild_step(record, tensors, device, path):
    kind = record["estimator"]
    fitted, arrays = _FITTED_LAYOUT[kind]
    missing = [f"{name!r}" for name in fitted if name not in record["fitted"]]
    missing += [f"the tensor {name!r}" for name in arrays if name not in tensors]
    if missing:
        raise ValueError(
            f"not an sknet model file: {path} lacks {', '.join(missing)} for its "
            f"{kind}. Give a file written by sknet.save_model."
        )
    if kind == "StandardScaler":
        return _rebuild_scaler(record, tensors, path)
    return _rebuild_regressor(record, tensors, device, path)


def _rebuild_scaler(record, tensors, path):
    fitted = record["fitted"]
    params = {key: _decode(value, path) for key, value in record["params"].items()}
    scaler = StandardScaler(**params)
    for name in _SCALER_ARRAYS:
        value = tensors.get(name)
        setattr(scaler, name, None if value is None else value.numpy())
    seen = fitted["n_samples_seen_"]
    scaler.n_samples_seen_ = (
        tensors["n_samples_seen_"].numpy() if seen is None else seen
    )
    _set_feature_attributes(scaler, fitted)
    return scaler


def _rebuild_regressor(record, tensors, device, path):
    from ._estimator import NetRegressor, _resolve_device
    from ._params import check_parameters

    params = {key: _decode(value, path) for key, value in record["params"].items()}
    if not (
        inspect.isclass(params.get("module"))
        and issubclass(params["module"], nn.Module)
    ):
        raise TypeError(f"{path} names no torch.nn.Module class as its module.")
    placed = _placement(params["device"], device)
    if device is not None:
        params["device"] = device
    regressor = NetRegressor(**params)
    check_parameters(regressor, regressor._get_param_names())

    fitted = record["fitted"]
    if fitted["dtype"] not in DTYPES:
        raise ValueError(
            f"not an sknet model file: {path} gives the precision "
            f"{fitted['dtype']!r}, not one of {sorted(DTYPES)}."
        )
    dtype = DTYPES[fitted["dtype"]]
    shapes = (
        np.empty((0, fitted["n_features_in_"])),
        np.empty((0, fitted["n_outputs_"])),
    )
    # Building the module draws initial weights, replaced just below; the
    # fork keeps that draw from moving torch's global random state.
    with torch.random.fork_rng(devices=[]):
        net = regressor._new_net(*shapes, dtype, _resolve_device(placed))
    _load_weights(net.module_, tensors, params["module"], path)
    # The file keeps the weights but neither the optimizer's state (momentum,
    # Adam's moments) nor the per-epoch history, so training on from it would
    # silently differ from training on before saving.
    net.continuation_refusal = (
        f"This network was loaded from {path}, which holds its weights but not "
        "the optimizer's state or the training history, so it cannot continue "
        "training (warm_start=True or partial_fit). Fit it anew with "
        "warm_start=False, or fit sklearn.base.clone(model)."
    )

    net.target_is_1d = fitted["target_is_1d"]
    regressor.net_ = net
    regressor.module_ = net.module_
    regressor._dtype = dtype
    regressor._target_is_1d = fitted["target_is_1d"]
    regressor.n_outputs_ = fitted["n_outputs_"]
    regressor.n_iter_ = fitted["n_iter_"]
    regressor.loss_log_ = tensors["loss_log_"].numpy()
    if "best_epoch_" in fitted:
        regressor.best_epoch_ = fitted["best_epoch_"]
    _set_feature_attributes(regressor, fitted)
    return regressor


def _placement(saved, requested):
    """Return the device to load onto: ``requested``, or else ``saved``.

    A saved CUDA device that this machine lacks falls back to the CPU with
    a warning; a requested one is left for ``_resolve_device`` to refuse.
    """
    if requested is not None:
        return requested
    placed = fallback_device(saved)
    if placed != str(saved):
        warn_device_fallback(saved)
    return placed


def _set_feature_attributes(estimator, fitted):
    estimator.n_features_in_ = fitted["n_features_in_"]
    if fitted["feature_names_in_"] is not None:
        estimator.feature_names_in_ = np.asarray(
            fitted["feature_names_in_"], dtype=object
        )


def _load_weights(module, tensors, module_class, path):
    prefix = "module."
    state = {
        key[len(prefix) :]: value
        for key, value in tensors.items()
        if key.startswith(prefix)
    }
    try:
        module.load_state_dict(state)
    except RuntimeError as error:
        first = str(error).strip().splitlines()
        raise ValueError(
            f"The weights in {path} do not fit {module_class.__qualname__} built "
            f"with the stored arguments: {' '.join(first[:2])}. Was the class "
            "changed since the model was saved?"
        ) from None


def _decode(value, path):
    if isinstance(value, list):
        return [_decode(item, path) for item in value]
    if not isinstance(value, dict):
        return value
    ((tag, content),) = value.items() if len(value) == 1 else ((None, None),)
    if tag == "tuple" and isinstance(content, list):
        return tuple(_decode(item, path) for item in content)
    if tag == "dict" and isinstance(content, dict):
        return {key: _decode(item, path) for key, item in content.items()}
    if tag == "class":
        return _import_class(content, path)
    raise ValueError(
        f"not an sknet model file: {path} holds a malformed value, {value!r}. "
        "Give a file written by sknet.save_model."
    )


def _import_class(class_path, source):
    """Import ``package.module:QualName`` and check it is a storable class."""
    if not isinstance(class_path, str) or not _CLASS_PATH.fullmatch(class_path):
        raise TypeError(
            f"{source} names {class_path!r}, which is not a class path of the "
            "form package.module:ClassName."
        )
    module_name, _, qualname = class_path.partition(":")
    try:
        found = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as error:
        where = (
            "Define the class in the script that loads the file, as in the one "
            "that saved it"
            if module_name == "__main__"
            else f"Install the package that provides {module_name}, or make it "
            "importable"
        )
        raise ImportError(
            f"{source} needs the class {class_path}, which cannot be imported "
            f"({type(error).__name__}: {error}). {where}, then load again."
        ) from None
    if not (inspect.isclass(found) and issubclass(found, STORABLE_CLASSES)):
        raise TypeError(
            f"{source} names {class_path}, which is not a torch.nn.Module or "
            "torch.optim.Optimizer subclass; refusing to use it."
        )
    return found


# -- ONNX ----------------------------------------------------------------


def _require_onnx_exporter():
    missing = [
        name
        for name in ("onnx", "onnxscript")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        raise ImportError(
            f"export_onnx needs {' and '.join(missing)}, which torch's ONNX "
            "exporter uses; install them with: pip install 'sknet[onnx]'"
        )
    if "dynamo" not in inspect.signature(torch.onnx.export).parameters:
        raise ImportError(
            f"export_onnx needs torch's dynamo-based ONNX exporter, which torch "
            f"{torch.__version__} lacks; upgrade torch."
        )


class _ExportedNetwork(nn.Module):
    """The scalers, the network and ``predict``'s output shape, as one module."""

    def __init__(self, scalers, regressor):
        super().__init__()
        dtype = regressor._dtype
        self.network = copy.deepcopy(regressor.module_).to("cpu")
        self.n_scalers = len(scalers)
        for index, scaler in enumerate(scalers):
            width = scaler.n_features_in_
            mean = scaler.mean_ if scaler.with_mean else np.zeros(width)
            scale = scaler.scale_ if scaler.with_std else np.ones(width)
            self.register_buffer(f"mean_{index}", torch.tensor(mean, dtype=dtype))
            self.register_buffer(f"scale_{index}", torch.tensor(scale, dtype=dtype))
        self.flatten = bool(regressor._target_is_1d)

    def forward(self, X):
        for index in range(self.n_scalers):
            X = (X - getattr(self, f"mean_{index}")) / getattr(self, f"scale_{index}")
        y = self.network(X)
        return y.reshape(-1) if self.flatten else y
