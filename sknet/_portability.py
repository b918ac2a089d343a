"""Moving estimators between processes and machines.

Two things can go wrong when a pickled NetRegressor is loaded somewhere
else. A network trained on a GPU may land on a machine without one: skorch
then maps its tensors onto the CPU and sknet says so with one
:class:`DeviceFallbackWarning`. And a copy sent to another process, such
as a Dask worker, may name a module class that the process cannot import:
pickle would fail inside the transport, far from any message a user sees,
so classes travel as names that are imported when the copy is unpickled,
and a failed import surfaces as an ``ImportError`` when the copy is fitted.
"""

import importlib
import inspect
import sys

import torch

from ._exceptions import DeviceFallbackWarning
from ._warnings import warn

# Parameters of NetRegressor that may hold a class.
_CLASS_PARAMETERS = ("module", "criterion", "optimizer")


def fallback_device(requested):
    """Return ``requested``, or "cpu" when it names CUDA and there is none."""
    requested = str(requested)
    if requested.startswith("cuda") and not torch.cuda.is_available():
        return "cpu"
    return requested


def warn_device_fallback(trained_on):
    """Say that a network trained on ``trained_on`` now lives on the CPU."""
    warn(
        f"This model was trained on device {trained_on!r}, but PyTorch sees no "
        "CUDA device here, so its network was loaded onto the CPU, where it "
        f"predicts as before. Its device parameter still says {trained_on!r}: "
        "set device='cpu' or device='auto' before training it again here.",
        DeviceFallbackWarning,
    )


def portable_state(state):
    """Return the pickle state of a NetRegressor, ready for another process."""
    state = dict(state)
    net = state.get("net_")
    # module_ is the net's own module; the net carries it, and the skorch
    # machinery that moves it maps GPU tensors to the CPU where needed.
    if net is not None and state.get("module_") is getattr(net, "module_", None):
        del state["module_"]
    for name in _CLASS_PARAMETERS:
        if name in state:
            state[name] = _as_reference(state[name])
    if "_component_arguments" in state:
        state["_component_arguments"] = {
            key: _as_reference(value)
            for key, value in state["_component_arguments"].items()
        }
    return state


def restored_state(state):
    """Undo :func:`portable_state` on an unpickled state."""
    net = state.get("net_")
    if net is not None and "module_" not in state:
        state["module_"] = net.module_
    return state


def check_classes_imported(estimator):
    """Raise the ImportError of a class that could not be unpickled."""
    values = [getattr(estimator, name) for name in _CLASS_PARAMETERS]
    values += list(estimator._component_arguments.values())
    for value in values:
        if isinstance(value, UnimportableClass):
            raise ImportError(value.message)


class UnimportableClass:
    """Stands for a class that could not be imported when unpickling.

    Parameters
    ----------
    path : str
        ``module:QualName`` of the class.
    error : Exception
        Why the import failed.
    """

    def __init__(self, path, error):
        self.path = path
        self.message = _unimportable_message(path, error)

    def __repr__(self):
        return f"<class {self.path}, not importable here>"

    def __reduce__(self):
        module, _, qualname = self.path.partition(":")
        return (_import_class, (module, qualname))


class _ClassReference:
    """Pickles a class as its import path, resolved when unpickled."""

    def __init__(self, cls):
        self.cls = cls

    def __reduce__(self):
        return (_import_class, (self.cls.__module__, self.cls.__qualname__))


class _ClassByValue:
    """Pickles a class by value through cloudpickle, whatever the pickler.

    For classes of modules registered with
    ``cloudpickle.register_pickle_by_value``: Dask pickles a task with plain
    pickle unless it sees a reason not to, and plain pickle would send
    them by name to workers that cannot import them.
    """

    def __init__(self, cls):
        self.cls = cls

    def __reduce__(self):
        return (_loads, (import_cloudpickle().dumps(self.cls),))


def _loads(data):
    return import_cloudpickle().loads(data)


def _as_reference(value):
    if not inspect.isclass(value):
        return value
    if registered_by_value(value):
        return _ClassByValue(value)
    if value.__module__ == "__main__" or "<locals>" in value.__qualname__:
        # Dask and joblib send these with cloudpickle, by value, as they are.
        return value
    return _ClassReference(value)


def registered_by_value(cls):
    """Tell whether ``cls`` is in a module that cloudpickle sends by value."""
    cloudpickle = sys.modules.get("cloudpickle")
    if cloudpickle is None:
        return False
    return any(
        cls.__module__ == name or cls.__module__.startswith(name + ".")
        for name in cloudpickle.list_registry_pickle_by_value()
    )


def import_cloudpickle():
    """Return cloudpickle: the package if installed, else joblib's copy."""
    try:
        import cloudpickle
    except ImportError:
        from joblib.externals import cloudpickle
    return cloudpickle


def _import_class(module, qualname):
    try:
        found = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as error:
        return UnimportableClass(f"{module}:{qualname}", error)
    return found


def _unimportable_message(path, error):
    module, _, qualname = path.partition(":")
    return (
        f"This NetRegressor was unpickled in a process that cannot import its "
        f"class {qualname} from the module {module!r} ({type(error).__name__}: "
        f"{error}). A copy sent to another process, such as a Dask worker, finds "
        "its classes by import. Make the module importable there (install it on "
        "every worker, or send it with dask's Client.upload_file), define the "
        "class in the script or notebook that starts the work, or call "
        f"cloudpickle.register_pickle_by_value({module.rpartition('.')[2]}) on "
        "the imported module before starting."
    )
