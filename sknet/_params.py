"""The table of NetRegressor's parameters and the checks made at fit time."""

import difflib
import inspect
import numbers
import re

import numpy as np
import torch
from skorch.callbacks import Callback
from torch import nn

from ._network import Net, layer_argument_problems

# Components whose constructor arguments are set as ``<prefix>__<name>``.
ROUTED_PREFIXES = ("module", "optimizer", "criterion", "callbacks")

OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
}

CRITERIA = {
    "mse": nn.MSELoss,
    "l1": nn.L1Loss,
    "huber": nn.HuberLoss,
    "smooth_l1": nn.SmoothL1Loss,
}

DTYPES = {"float32": torch.float32, "float64": torch.float64}

# skorch parameters for its DataLoader pipeline, which NetRegressor replaces.
SKORCH_DATA_PARAMETERS = ("iterator_train", "iterator_valid", "dataset", "train_split")

# Arguments that NetRegressor supplies itself, with the setting to use instead.
RESERVED_ARGUMENTS = {
    "module__n_input": "it is read from the number of columns of X",
    "module__n_output": "it is read from the number of columns of y",
    "optimizer__lr": "set lr instead",
    "optimizer__params": "the module's parameters are passed automatically",
    "criterion__reduction": (
        "losses are reduced by NetRegressor so that sample_weight applies"
    ),
}


def _is_positive_real(value):
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and np.isfinite(value)
        and value > 0
    )


def _is_int_at_least(minimum):
    def check(value):
        return (
            isinstance(value, numbers.Integral)
            and not isinstance(value, bool)
            and value >= minimum
        )

    return check


def _is_open_fraction(value):
    return value is None or (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and 0 < value < 1
    )


def _is_module_factory(value):
    return inspect.isclass(value) and issubclass(value, nn.Module)


def _is_optimizer(value):
    return value in OPTIMIZERS or (
        inspect.isclass(value) and issubclass(value, torch.optim.Optimizer)
    )


def _is_criterion(value):
    return value in CRITERIA or _is_module_factory(value)


def _is_callback_list(value):
    if value is None:
        return True
    if not isinstance(value, (list, tuple)):
        return False
    return all(
        isinstance(item, Callback)
        or (
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], Callback)
        )
        for item in value
    )


def _is_random_state(value):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return 0 <= value < 2**32
    return value is None or isinstance(value, np.random.RandomState)


def _is_device(value):
    if isinstance(value, torch.device):
        return True
    return isinstance(value, str) and (
        value in ("cpu", "auto") or re.fullmatch(r"cuda(:\d+)?", value) is not None
    )


def _is_dtype(value):
    return value is None or normalise_dtype(value) is not None


# One row per parameter: the check and the words that say what it allows.
PARAMETER_TABLE = {
    "module": (_is_module_factory, "a torch.nn.Module subclass (the class itself)"),
    "criterion": (
        _is_criterion,
        f"one of {sorted(CRITERIA)} or a torch.nn.Module loss class",
    ),
    "optimizer": (
        _is_optimizer,
        f"one of {sorted(OPTIMIZERS)} or a torch.optim.Optimizer subclass",
    ),
    "lr": (_is_positive_real, "a finite number > 0"),
    "max_epochs": (_is_int_at_least(0), "an integer >= 0"),
    "batch_size": (
        lambda value: value is None or _is_int_at_least(1)(value),
        "None (the whole training set) or an integer >= 1",
    ),
    "shuffle": (lambda value: isinstance(value, bool), "True or False"),
    "validation_fraction": (_is_open_fraction, "None or a number in (0, 1)"),
    "partial_fit_epochs": (_is_int_at_least(1), "an integer >= 1"),
    "early_stopping": (lambda value: isinstance(value, bool), "True or False"),
    "n_iter_no_change": (_is_int_at_least(1), "an integer >= 1"),
    "tol": (
        lambda value: isinstance(value, numbers.Real) and 0 <= value < 1,
        "a number in [0, 1)",
    ),
    "random_state": (
        _is_random_state,
        "None, an integer in [0, 2**32) or a numpy.random.RandomState",
    ),
    "dtype": (_is_dtype, "None, 'float32' or 'float64'"),
    "device": (_is_device, "'cpu', 'cuda', 'cuda:N' or 'auto'"),
    "data_parallel": (lambda value: isinstance(value, bool), "True or False"),
    "callbacks": (
        _is_callback_list,
        "None or a list of skorch callbacks or (name, callback) pairs",
    ),
    "warm_start": (lambda value: isinstance(value, bool), "True or False"),
    "verbose": (_is_int_at_least(0), "an integer >= 0 or a bool"),
}


def normalise_dtype(value):
    """Return the torch dtype that ``value`` names, or None if it names none."""
    if value is None:
        return None
    if value in DTYPES:
        return DTYPES[value]
    if value in DTYPES.values():
        return value
    try:
        name = np.dtype(value).name
    except TypeError:
        return None
    return DTYPES.get(name)


def resolve_optimizer(value):
    return OPTIMIZERS.get(value, value) if isinstance(value, str) else value


def resolve_criterion(value):
    return CRITERIA.get(value, value) if isinstance(value, str) else value


def did_you_mean(name, candidates, prefix=""):
    """Return `` (did you mean '<prefix>x'?)`` for the closest candidate, or ''."""
    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f" (did you mean '{prefix}{matches[0]}'?)" if matches else ""


def check_parameters(estimator, names):
    """Check every parameter of ``estimator`` and raise one ValueError for all.

    Parameters
    ----------
    estimator : NetRegressor
    names : list of str
        The names of the parameters the estimator's constructor declares.
    """
    problems = []
    for name in names:
        check, allowed = PARAMETER_TABLE[name]
        value = getattr(estimator, name)
        if not check(value):
            problems.append(f"{name} must be {allowed}; got {value!r}")
    if _is_module_factory(estimator.module):
        problems += _check_module_signature(estimator.module)
    if estimator.module is Net:
        problems += _check_net_arguments(estimator)
    problems += _check_routed_arguments(estimator, names)
    if problems:
        raise ValueError(
            f"Invalid parameters for {type(estimator).__name__}:\n- "
            + "\n- ".join(problems)
        )


def _check_net_arguments(estimator):
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(Net).parameters.items()
        if parameter.default is not parameter.empty
    }
    given = {
        key.partition("__")[2]: value
        for key, value in routed_arguments(estimator).items()
        if key.startswith("module__")
    }
    arguments = {name: given.get(name, default) for name, default in defaults.items()}
    return [f"module__{problem}" for problem in layer_argument_problems(**arguments)]


def _check_module_signature(module):
    try:
        parameters = inspect.signature(module).parameters
    except (TypeError, ValueError):
        return []
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return []
    missing = [name for name in ("n_input", "n_output") if name not in parameters]
    if not missing:
        return []
    return [
        f"module {module.__name__} must accept the keyword arguments n_input and "
        f"n_output (the widths read from X and y), but lacks {missing}; wrap "
        "existing layers in a class such as "
        "'class MyNet(nn.Module): def __init__(self, n_input, n_output): ...'"
    ]


def routed_arguments(estimator):
    """Return the ``<prefix>__<name>`` arguments given to ``estimator``."""
    return {
        key: value
        for key, value in estimator._component_arguments.items()
        if key.partition("__")[0] in ROUTED_PREFIXES
    }


def _check_routed_arguments(estimator, names):
    problems = []
    for key in estimator._component_arguments:
        prefix, _, argument = key.partition("__")
        if prefix in SKORCH_DATA_PARAMETERS:
            problems.append(
                f"{key}: skorch's data-loading parameters do not apply, because "
                "NetRegressor slices in-memory tensors itself; use batch_size, "
                "shuffle, validation_fraction or X_val/y_val instead"
            )
        elif prefix not in ROUTED_PREFIXES or not argument:
            rest = argument or key
            valid = names + [f"{known}__{rest}" for known in ROUTED_PREFIXES]
            problems.append(f"unknown parameter {key!r}{did_you_mean(key, valid)}")
        elif key in RESERVED_ARGUMENTS:
            problems.append(f"{key} cannot be set: {RESERVED_ARGUMENTS[key]}")
        elif prefix != "callbacks":
            target = _routing_target(estimator, prefix)
            problems += _check_argument_name(prefix, argument, target)
    return problems


def _routing_target(estimator, prefix):
    if prefix == "optimizer":
        return resolve_optimizer(estimator.optimizer)
    if prefix == "criterion":
        return resolve_criterion(estimator.criterion)
    return estimator.module


def _check_argument_name(prefix, argument, target):
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return []
    parameters = signature.parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return []
    accepted = [name for name in parameters if name not in ("self", "params")]
    if argument in accepted:
        return []
    name = getattr(target, "__name__", repr(target))
    hint = did_you_mean(argument, accepted, prefix=f"{prefix}__")
    return [
        f"{prefix}__{argument}: {name} takes no argument {argument!r}{hint}; "
        f"it accepts {accepted}"
    ]
