"""Warnings that point at the user's code, not at sknet's own lines."""

import os
import sys
import warnings

_PACKAGE = os.path.dirname(__file__)


def warn(message, category):
    """Issue ``category`` at the first frame outside sknet.

    Frames of scikit-learn's callback wrapper around ``fit`` are skipped as
    well, so a warning raised while fitting points at the ``fit`` call.
    """
    wrapper = _callback_wrapper_file()
    frame, level = sys._getframe(1), 2
    while frame is not None and (
        frame.f_code.co_filename.startswith(_PACKAGE)
        or frame.f_code.co_filename == wrapper
    ):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def _callback_wrapper_file():
    # Imported here: the wrapper's module imports the training loop, which
    # itself warns through this module.
    from ._sklearn_callbacks import with_callbacks

    return with_callbacks(lambda: None).__code__.co_filename
