"""Support for scikit-learn's callback protocol (``sklearn.callback``).

scikit-learn 1.9 introduced callbacks such as ``sklearn.callback.ProgressBar``
that an estimator reports its fit to, task by task. NetRegressor reports the
fit as one task whose subtasks are the epochs, so scikit-learn's progress bar
works on it directly and, through GridSearchCV, over a whole search. On an
older scikit-learn the names below are stand-ins that do nothing.
"""

from skorch.callbacks import Callback

from ._training import StopTraining

try:
    from sklearn.callback import CallbackSupportMixin, with_callbacks
except ImportError:  # scikit-learn < 1.9

    class CallbackSupportMixin:
        """Stand-in for scikit-learn's mixin where it does not exist."""

    def with_callbacks(method):
        return method


def begin_fit_task(estimator, X, y, n_epochs):
    """Open the fit's callback task; return it, or None without support."""
    if not hasattr(estimator, "_init_callback_context"):
        return None
    context = estimator._init_callback_context(max_subtasks=n_epochs)
    context.call_on_fit_task_begin(estimator=estimator, X=X, y=y)
    return context


def end_fit_task(context, estimator, X, y):
    """Close the fit's callback task opened by :func:`begin_fit_task`."""
    if context is not None:
        context.call_on_fit_task_end(
            estimator=estimator,
            X=X,
            y=y,
            reconstruction_attributes=lambda: estimator._fitted_attributes(
                estimator.net_
            ),
        )


class EpochTasks(Callback):
    """Report every epoch to scikit-learn's callbacks as a subtask of the fit.

    A scikit-learn callback that asks to stop at the end of an epoch ends
    training there.
    """

    def __init__(self, context, estimator, X, y, net):
        self.context = context
        self.estimator = estimator
        self.X = X
        self.y = y
        self.net = net

    def on_epoch_begin(self, net, **kwargs):
        self.epoch_context_ = self.context.subcontext(task_name="epoch")
        self.epoch_context_.call_on_fit_task_begin(
            estimator=self.estimator, X=self.X, y=self.y
        )

    def on_epoch_end(self, net, **kwargs):
        stop = self.epoch_context_.call_on_fit_task_end(
            estimator=self.estimator,
            X=self.X,
            y=self.y,
            reconstruction_attributes=self._fitted_attributes,
        )
        if stop:
            raise StopTraining

    def _fitted_attributes(self):
        return self.estimator._fitted_attributes(self.net)
