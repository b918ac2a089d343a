"""NetRegressor: a PyTorch network as a scikit-learn regressor."""

import contextlib
import copy
import inspect
import math
import os
import uuid

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.callbacks import EarlyStopping
from skorch.utils import noop
from torch import nn

from ._accelerate import AcceleratedTrainingNet, make_accelerator, shared_seed
from ._data import (
    as_2d_target,
    check_all_finite,
    check_sample_weight,
    check_target_finite,
    check_target_is_data,
    densify,
    to_tensor,
)
from ._exceptions import ConstantPredictionWarning, TrainingDivergedError
from ._network import Net
from ._params import (
    check_parameters,
    normalise_dtype,
    resolve_criterion,
    resolve_optimizer,
    routed_arguments,
)
from ._persistence import load_regressor, save_model
from ._portability import check_classes_imported, portable_state, restored_state
from ._sklearn_callbacks import (
    CallbackSupportMixin,
    EpochTasks,
    begin_fit_task,
    end_fit_task,
    with_callbacks,
)
from ._training import TensorData, TrainingNet, TrainValidData
from ._warnings import warn

_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}


class NetworkEstimatorMixin:
    """What sknet's estimators share: component arguments and input checks.

    Arguments such as ``module__dropout`` are kept apart from the declared
    parameters and exposed through ``get_params`` and ``set_params``; the
    inputs are validated and converted the same way by every estimator.
    """

    # -- scikit-learn parameter protocol ---------------------------------

    def __sklearn_tags__(self):
        # Several targets, and sparse X (densified on the way in).
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True
        return tags

    def get_params(self, deep=True):
        """Get parameters, including the ``<component>__<argument>`` ones.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of contained estimators.

        Returns
        -------
        params : dict
        """
        params = super().get_params(deep=deep)
        params.update(self._component_arguments)
        return params

    def set_params(self, **params):
        """Set parameters, including ``<component>__<argument>`` ones.

        Like the constructor, this only stores values: every parameter is
        checked at :meth:`fit`, where a misspelt name is reported with the
        closest valid one.

        Returns
        -------
        self : estimator
        """
        declared = self._get_param_names()
        for key, value in params.items():
            if key in declared:
                setattr(self, key, value)
            elif hasattr(type(self), key):
                raise ValueError(
                    f"{key!r} is a method or property of {type(self).__name__}, "
                    "not a parameter; see get_params() for the parameters."
                )
            else:
                self._component_arguments[key] = value
        return self

    def __getattr__(self, name):
        # Lets ``reg.module__dropout`` read a component argument.
        arguments = self.__dict__.get("_component_arguments", {})
        if name in arguments:
            return arguments[name]
        raise AttributeError(
            f"{type(self).__name__!r} object has no attribute {name!r}"
        )

    # -- data preparation ------------------------------------------------

    def _validate_inputs(self, X, reset, name="X"):
        X = validate_data(
            self,
            X,
            reset=reset,
            accept_sparse=True,
            dtype=self._accepted_dtypes(),
            ensure_all_finite=False,
        )
        X = densify(X)
        check_all_finite(X, name, getattr(self, "feature_names_in_", None))
        return X

    def _validate_training_data(self, X, y, sample_weight, reset):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        check_target_is_data(y)
        check_target_finite(y)
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            accept_sparse=True,
            dtype=self._accepted_dtypes(),
            ensure_all_finite=False,
            multi_output=True,
            y_numeric=True,
        )
        X = densify(X)
        check_all_finite(X, "X", getattr(self, "feature_names_in_", None))
        y = np.asarray(y, dtype=X.dtype)
        if not reset and as_2d_target(y).shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {as_2d_target(y).shape[1]} target columns, but this "
                f"estimator was fitted with {self.n_outputs_}. Continue training "
                "with the same targets, or fit a new estimator."
            )
        return X, y, check_sample_weight(sample_weight, len(X), X.dtype)

    def _accepted_dtypes(self):
        chosen = normalise_dtype(self.dtype)
        if chosen is None:
            return [np.float64, np.float32]
        return _NUMPY_DTYPES[chosen]


class NetRegressor(
    NetworkEstimatorMixin, CallbackSupportMixin, RegressorMixin, BaseEstimator
):
    """A PyTorch network trained through skorch, as a scikit-learn regressor.

    By default it runs the classic full-batch workflow: an MLP (:class:`Net`)
    trained with ``nn.MSELoss`` and plain SGD at ``lr=0.001`` for 10000
    epochs, each epoch one update on the whole training set followed by an
    evaluation of the validation data, if any, under ``torch.no_grad``.
    ``loss_log_`` keeps ``[epoch, train_loss, val_loss]`` for every epoch.

    Parameters
    ----------
    module : type, default=Net
        The ``torch.nn.Module`` class to train. It is instantiated at every
        fit as ``module(n_input=..., n_output=..., **module_arguments)``,
        where the widths come from ``X`` and ``y`` and the other arguments
        are given as ``module__<name>=value``.
    criterion : {"mse", "l1", "huber", "smooth_l1"} or type, default=nn.MSELoss
        The loss. A class must accept ``reduction="none"`` to support
        ``sample_weight``; its arguments are given as ``criterion__<name>``.
    optimizer : {"sgd", "adam", "adamw", "rmsprop", "adagrad"} or type, \
            default=torch.optim.SGD
        The optimizer; its arguments are given as ``optimizer__<name>``
        (for example ``optimizer__momentum=0.9``).
    lr : float, default=0.001
        Learning rate.
    max_epochs : int, default=10000
        Number of epochs each call to :meth:`fit` trains for.
    batch_size : int or None, default=None
        Rows per update. None makes every epoch a single full-batch update.
    shuffle : bool, default=True
        Reshuffle the rows at every epoch when training in mini-batches.
    validation_fraction : float or None, default=None
        Fraction of the training rows held out, chosen at random from
        ``random_state``, and evaluated after every epoch. Mutually
        exclusive with passing ``X_val`` and ``y_val`` to :meth:`fit`.
    partial_fit_epochs : int, default=1
        Number of epochs each call to :meth:`partial_fit` trains for.
    early_stopping : bool, default=False
        Stop when the validation loss has not improved by a relative ``tol``
        for ``n_iter_no_change`` epochs, and return the weights of the best
        epoch. Needs validation data: ``X_val`` and ``y_val`` or
        ``validation_fraction``.
    n_iter_no_change : int, default=10
        The patience of early stopping, in epochs.
    tol : float, default=1e-4
        The relative improvement of the validation loss that counts as
        progress for early stopping.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, shuffling and the validation
        split. The same integer gives the same ``loss_log_`` and predictions.
        Fitting never changes NumPy's or torch's global random state.
    dtype : {None, "float32", "float64"}, default=None
        Precision of the weights and the arithmetic. None follows the input
        like scikit-learn's own estimators: float32 for float32 ``X``,
        float64 for anything else. See Notes.
    device : {"cpu", "cuda", "cuda:N", "auto"}, default="cpu"
        Where to train. "auto" picks CUDA when it is available.
    data_parallel : bool, default=False
        Train data-parallel through Hugging Face Accelerate, in every
        process that ``accelerate launch`` or ``torchrun`` started: each
        process trains on its share of every batch and the gradients are
        averaged, so an update equals the single-process one. "cpu" keeps
        the processes on the CPU; "cuda" or "auto" gives each its own GPU.
        Needs the ``accelerate`` extra; see the "Scaling out" guide.
    callbacks : list of skorch callbacks or (name, callback) pairs, \
            default=None
        Extra skorch callbacks (learning-rate schedulers, checkpoints, ...).
        They can monitor ``train_loss`` and ``valid_loss``.
    warm_start : bool, default=False
        If True, :meth:`fit` continues from the current weights instead of
        initialising new ones.
    verbose : int, default=0
        0 is silent; 1 or more shows a progress bar over epochs with the
        current losses.
    **kwargs
        Arguments routed to the module, optimizer, criterion or callbacks,
        named ``<component>__<argument>``. They can be tuned by
        ``GridSearchCV`` like any other parameter.

    Attributes
    ----------
    loss_log_ : ndarray of shape (n_epochs, 3)
        One row per epoch trained: the epoch number (counted from 1), the
        training loss and the validation loss (NaN without validation data).
    n_iter_ : int
        Number of epochs trained so far.
    best_epoch_ : int
        With ``early_stopping``, the epoch whose weights the model carries:
        the one with the lowest validation loss.
    module_ : torch.nn.Module
        The fitted network.
    net_ : skorch.NeuralNet
        The skorch net that trained ``module_``; its ``history`` holds the
        per-epoch and per-batch records.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during fit, when ``X`` had string column
        names.
    n_outputs_ : int
        Number of targets.

    See Also
    --------
    Net : The default network.
    sklearn.neural_network.MLPRegressor : scikit-learn's NumPy network.

    Notes
    -----
    **The logged losses.** With the default criterion both columns of
    ``loss_log_`` are the mean squared error over all entries of ``y``, as
    :func:`sklearn.metrics.mean_squared_error` computes it (weighted by
    ``sample_weight`` on the training rows). The training loss of an epoch
    is taken on the forward pass *before* that epoch's update (for
    mini-batches, the weighted mean of the batch losses, each before its own
    update), with the module in train mode; the validation loss is taken
    *after* the update, in eval mode.

    **Precision.** PyTorch computes in float32 unless told otherwise, and
    float32 is about 1.2-2.5 times faster. sknet nevertheless follows the
    input's precision by default, as scikit-learn's estimators do: with
    float64 data, weighting a row by 2 gives the same model as repeating it,
    and predicting on a subset gives the same values as on the whole, to the
    last bit that scikit-learn's checks compare. In float32 these agree only
    to one or two units in the last place. Pass float32 data or
    ``dtype="float32"`` to choose speed.

    **Failures.** A loss that becomes NaN or infinite stops training with
    :class:`TrainingDivergedError`; a fresh estimator then keeps the epochs
    that ran in ``loss_log_`` but stays unfitted, and an estimator that was
    already fitted keeps its previous model. A fit whose network predicts
    the same value for every row emits :class:`ConstantPredictionWarning`.

    Examples
    --------
    >>> import numpy as np
    >>> from sknet import NetRegressor
    >>> X = np.linspace(-1, 1, 40).reshape(-1, 1)
    >>> y = 3 * X.ravel() + 1
    >>> reg = NetRegressor(optimizer="adam", lr=0.01, max_epochs=300,
    ...                    random_state=0).fit(X, y)
    >>> reg.loss_log_.shape
    (300, 3)
    >>> round(reg.score(X, y), 2)
    1.0
    """

    def __init__(
        self,
        module=Net,
        *,
        criterion=nn.MSELoss,
        optimizer=torch.optim.SGD,
        lr=0.001,
        max_epochs=10000,
        batch_size=None,
        shuffle=True,
        validation_fraction=None,
        partial_fit_epochs=1,
        early_stopping=False,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        dtype=None,
        device="cpu",
        data_parallel=False,
        callbacks=None,
        warm_start=False,
        verbose=0,
        **kwargs,
    ):
        self.module = module
        self.criterion = criterion
        self.optimizer = optimizer
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.validation_fraction = validation_fraction
        self.partial_fit_epochs = partial_fit_epochs
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.dtype = dtype
        self.device = device
        self.data_parallel = data_parallel
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.verbose = verbose
        # Component arguments live apart from the declared parameters, so that
        # the instance's own attributes are exactly its signature.
        self._component_arguments = dict(kwargs)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    # -- pickling (see sknet/_portability.py) ------------------------------

    def __getstate__(self):
        return portable_state(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(restored_state(state))

    # -- public API ------------------------------------------------------

    @with_callbacks
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Train the network on ``X`` and ``y`` for ``max_epochs`` epochs.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training inputs. Sparse input is densified.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the training loss; a weight of 2 counts a
            row twice.
        X_val : array-like of shape (n_val_samples, n_features), default=None
            Held-out inputs evaluated after every epoch.
        y_val : array-like of shape (n_val_samples,) or \
                (n_val_samples, n_outputs), default=None
            Held-out targets, given together with ``X_val``.

        Returns
        -------
        self : NetRegressor
            The fitted estimator.
        """
        keep_weights = self.warm_start and self.__sklearn_is_fitted__()
        with previous_fit_kept_on_failure(self):
            return self._train(
                X, y, sample_weight, X_val, y_val, self.max_epochs, keep_weights
            )

    @with_callbacks
    def partial_fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Train for ``partial_fit_epochs`` more epochs, from the current weights.

        The first call initialises the network. ``loss_log_`` grows with
        every call and its epoch numbers continue from the previous call.

        Parameters
        ----------
        X, y, sample_weight, X_val, y_val
            As in :meth:`fit`.

        Returns
        -------
        self : NetRegressor
            The updated estimator.
        """
        keep_weights = self.__sklearn_is_fitted__()
        with previous_fit_kept_on_failure(self):
            return self._train(
                X, y, sample_weight, X_val, y_val, self.partial_fit_epochs, keep_weights
            )

    def predict(self, X):
        """Predict targets for ``X`` with the fitted network in eval mode.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            One column per target; 1-d when ``y`` was 1-d at fit.
        """
        check_is_fitted(self)
        X = self._validate_inputs(X, reset=False)
        X = to_tensor(X, _NUMPY_DTYPES[self._dtype], self.net_.device)
        data = TensorData(X)
        with torch.inference_mode():
            output = self.net_.forward(data)
        predictions = output.numpy()
        return predictions.ravel() if self._target_is_1d else predictions

    def save(self, path):
        """Save the fitted network to ``path`` as weights plus parameters.

        The file is in the safetensors format and loading it runs no code
        stored in it; see :func:`sknet.save_model` for what it holds.

        Parameters
        ----------
        path : str or path-like
            The file to write, for example ``"model.safetensors"``. It is
            replaced only once the new file is complete.

        See Also
        --------
        load : Load the file again.
        sknet.save_model : The same, also for a Pipeline with a scaler.
        """
        save_model(self, path)

    @classmethod
    def load(cls, path, *, device=None):
        """Load a NetRegressor saved by :meth:`save`.

        The loaded estimator predicts exactly as the saved one did, and can
        be fitted anew, but not trained further from its weights.

        Parameters
        ----------
        path : str or path-like
            A file written by :meth:`save` or :func:`sknet.save_model`.
        device : {None, "cpu", "cuda", "cuda:N", "auto"}, default=None
            Where the loaded network lives. None keeps the saved ``device``,
            falling back to the CPU with a :class:`DeviceFallbackWarning`
            when it names a GPU this machine lacks; see
            :func:`sknet.load_model`.

        Returns
        -------
        estimator : NetRegressor
            The fitted estimator.

        See Also
        --------
        sknet.load_model : Load any sknet model file, Pipelines included.

        Examples
        --------
        >>> import tempfile, numpy as np
        >>> from pathlib import Path
        >>> from sknet import NetRegressor
        >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
        >>> reg = NetRegressor(max_epochs=5, random_state=0).fit(X, X.ravel())
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     reg.save(Path(folder, "model.safetensors"))
        ...     loaded = NetRegressor.load(Path(folder, "model.safetensors"))
        >>> loaded.n_iter_
        5
        """
        return load_regressor(path, device, cls)

    # -- training steps --------------------------------------------------

    def _train(self, X, y, sample_weight, X_val, y_val, epochs, keep_weights):
        check_classes_imported(self)
        check_parameters(self, self._get_param_names())
        X, y, sample_weight = self._validate_training_data(
            X, y, sample_weight, reset=not keep_weights
        )
        X_val, y_val = self._validate_validation_data(X_val, y_val, y)
        self._check_early_stopping_has_data(X_val)
        seed = _seed_from(self.random_state)
        accelerator = None
        device = _resolve_device(self.device)
        if self.data_parallel:
            accelerator = make_accelerator(device)
            seed, device = shared_seed(accelerator, seed), str(accelerator.device)
        previous_epochs = self.n_iter_ if keep_weights else 0
        seeds = np.random.SeedSequence([seed, previous_epochs])
        dtype = self._compute_dtype(X)
        data = self._tensor_data(
            X, y, sample_weight, X_val, y_val, dtype, device, seeds
        )

        fit_task = begin_fit_task(self, X, y, epochs)
        with _seeded_torch(seeds, device):
            net = self._new_net(X, y, dtype, device, accelerator)
            if keep_weights:
                net.continue_from(self.net_)
            net.target_is_1d = y.ndim == 1
            call_callbacks = []
            if fit_task is not None:
                epochs_task = EpochTasks(fit_task, self, X, y, net)
                call_callbacks.append(("sklearn_epochs", epochs_task))
            net.generator = _torch_generator(seeds, device)
            try:
                self._run_epochs(net, data, epochs, call_callbacks)
            finally:
                net.generator = None

        self._store_fitted(net)
        end_fit_task(fit_task, self, X, y)
        self._warn_if_constant(data.train, y)
        return self

    def _check_early_stopping_has_data(self, X_val):
        if self.early_stopping and X_val is None and not self.validation_fraction:
            raise ValueError(
                "early_stopping=True monitors the validation loss, but there is "
                "no validation data. Pass X_val and y_val to fit, or set "
                "validation_fraction (for example 0.1)."
            )

    def _run_epochs(self, net, data, epochs, call_callbacks):
        # Training runs on a net of its own: if it fails, the estimator keeps
        # the model it had before.
        try:
            net.train_epochs(data, epochs, call_callbacks)
        except TrainingDivergedError as error:
            if not self.__sklearn_is_fitted__():
                self.loss_log_ = error.loss_log
            raise

    def _new_net(self, X, y, dtype, device, accelerator=None):
        criterion = resolve_criterion(self.criterion)
        routed = routed_arguments(self)
        if _accepts_argument(criterion, "reduction"):
            routed["criterion__reduction"] = "none"
        net_class = TrainingNet
        if accelerator is not None:
            # Accelerate places the module itself, and refuses a device.
            net_class, device = AcceleratedTrainingNet, None
            routed["accelerator"] = accelerator
        net = net_class(
            module=self.module,
            criterion=criterion,
            optimizer=resolve_optimizer(self.optimizer),
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=None,
            callbacks=self._callbacks(),
            verbose=0,
            device=device,
            shuffle=self.shuffle,
            dtype=dtype,
            progress=bool(self.verbose),
            module__n_input=X.shape[1],
            module__n_output=as_2d_target(y).shape[1],
            **routed,
        )
        try:
            return net.initialize()
        except ValueError as error:
            # torch.optim refuses a module without parameters in these words.
            if "empty parameter list" not in str(error):
                raise
            raise ValueError(
                f"The module {self.module.__name__} has no trainable parameters, "
                "so there is nothing to fit. Give it at least one layer with "
                "weights, such as torch.nn.Linear(n_input, n_output)."
            ) from error

    def _callbacks(self):
        # Copies, so that fitting never changes the callbacks the user passed
        # (a parameter) and parallel fits never share their state.
        callbacks = copy.deepcopy(list(self.callbacks or []))
        _give_each_fit_its_own_folder(callbacks)
        if self.early_stopping:
            stopper = EarlyStopping(
                monitor="valid_loss",
                patience=self.n_iter_no_change,
                threshold=self.tol,
                threshold_mode="rel",
                load_best=True,
                sink=noop,
            )
            callbacks.append(("early_stopping", stopper))
        return callbacks

    def _store_fitted(self, net):
        if hasattr(self, "best_epoch_"):
            del self.best_epoch_
        for name, value in self._fitted_attributes(net).items():
            setattr(self, name, value)

    def _fitted_attributes(self, net):
        """Return what training ``net`` has taught, by attribute name."""
        loss_log = net.loss_log()
        attributes = {
            "net_": net,
            "module_": net.module_,
            "_dtype": net.dtype,
            "loss_log_": loss_log,
            "n_iter_": len(loss_log),
            "n_outputs_": net.module__n_output,
            "_target_is_1d": net.target_is_1d,
        }
        stopper = dict(net.callbacks_).get("early_stopping")
        if stopper is not None:
            attributes["best_epoch_"] = stopper.best_epoch_
        return attributes

    def _warn_if_constant(self, train, y):
        if self.n_iter_ == 0 or len(y) < 2 or np.ptp(y, axis=0).max() == 0:
            return
        # A few spread-out rows usually already differ; all rows are
        # predicted only when those few agree.
        sample = torch.linspace(0, len(train.X) - 1, min(len(train.X), 64))
        if not self._predicts_constant(train.X[sample.long()]):
            return
        if self._predicts_constant(train.X):
            warn(
                "The fitted network predicts the same value for every training "
                "row. With ReLU activations this usually means every hidden unit "
                "died during training. Standardise X (StandardScaler in a "
                "Pipeline), lower lr, or try module__activation='tanh'.",
                ConstantPredictionWarning,
            )

    def _predicts_constant(self, X):
        with torch.inference_mode():
            output = self.net_.forward(TensorData(X))
        spread = (output.max(dim=0).values - output.min(dim=0).values).max()
        return float(spread) <= 1e-7 * max(1.0, float(output.abs().max()))

    # -- data preparation ------------------------------------------------

    def _validate_validation_data(self, X_val, y_val, y):
        if (X_val is None) != (y_val is None):
            raise ValueError("Pass X_val and y_val together, or neither.")
        if X_val is None:
            return None, None
        if self.validation_fraction is not None:
            raise ValueError(
                "Both validation_fraction and X_val/y_val were given. Use "
                "validation_fraction=None with explicit validation data, or drop "
                "X_val and y_val."
            )
        X_val = self._validate_inputs(X_val, reset=False, name="X_val")
        y_val = np.asarray(y_val, dtype=X_val.dtype)
        if y_val.shape[1:] != y.shape[1:] or len(y_val) != len(X_val):
            raise ValueError(
                f"y_val has shape {y_val.shape}, but X_val has {len(X_val)} rows and "
                f"y has shape {y.shape}: y_val needs one row per row of X_val and "
                "the same columns as y."
            )
        check_all_finite(y_val, "y_val")
        return X_val, y_val

    def _compute_dtype(self, X):
        if self.__sklearn_is_fitted__() and self.warm_start:
            return self._dtype
        return torch.float32 if X.dtype == np.float32 else torch.float64

    def _tensor_data(self, X, y, weight, X_val, y_val, dtype, device, seeds):
        y = as_2d_target(y)
        if self.validation_fraction is not None:
            train_rows, valid_rows = _split_rows(
                len(X), self.validation_fraction, seeds
            )
            X, X_val = X[train_rows], X[valid_rows]
            y, y_val = y[train_rows], y[valid_rows]
            weight = None if weight is None else weight[train_rows]

        def tensor(array):
            return to_tensor(array, _NUMPY_DTYPES[dtype], device)

        train = TensorData(tensor(X), tensor(y), tensor(weight))
        valid = None
        if X_val is not None:
            valid = TensorData(tensor(X_val), tensor(as_2d_target(y_val)))
        return TrainValidData(train, valid)


@contextlib.contextmanager
def previous_fit_kept_on_failure(estimator):
    """Restore a fitted estimator's attributes if fitting it again fails.

    Validation and training set attributes as they go (``n_features_in_``
    first); without this, a failed refit would leave a model that no longer
    accepts the data it was fitted on. A failed first fit keeps what it
    recorded (``loss_log_`` of a diverged fit, say) for inspection, but it is
    not fitted.
    """
    previous = dict(vars(estimator)) if estimator.__sklearn_is_fitted__() else None
    try:
        yield
    except BaseException:
        if previous is not None:
            vars(estimator).clear()
            vars(estimator).update(previous)
        raise


def _seed_from(random_state):
    """Return an integer seed without touching NumPy's global random state."""
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    return int(random_state)


def _split_rows(n_rows, fraction, seeds):
    n_valid = math.ceil(fraction * n_rows)
    if n_valid < 1 or n_valid >= n_rows:
        raise ValueError(
            f"validation_fraction={fraction} of {n_rows} rows leaves "
            f"{n_rows - n_valid} for training and {n_valid} for validation; both "
            "need at least one row. Use more rows or another fraction."
        )
    order = np.random.default_rng(seeds.spawn(1)[0]).permutation(n_rows)
    return np.sort(order[n_valid:]), np.sort(order[:n_valid])


def _resolve_device(device):
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested, but PyTorch sees no CUDA device. "
            "Use device='cpu' or device='auto'."
        )
    return str(device)


def _torch_generator(seeds, device):
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seeds.generate_state(2)[1]))
    return generator


@contextlib.contextmanager
def _seeded_torch(seeds, device):
    """Seed torch's global generator for a block, then restore its state."""
    cuda_devices = [torch.device(device).index or 0] if "cuda" in device else []
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(int(seeds.generate_state(1)[0]))
        yield


def _give_each_fit_its_own_folder(callbacks):
    """Point file-writing callbacks (skorch's checkpoints) at a fresh subfolder.

    Fits running side by side, as in a parallel GridSearchCV, would otherwise
    overwrite each other's files. The folder used is in the callback's
    ``dirname`` on ``net_.callbacks_``.
    """
    fit_folder = f"fit-{uuid.uuid4().hex[:12]}"
    for item in callbacks:
        callback = item[1] if isinstance(item, tuple) else item
        if isinstance(getattr(callback, "dirname", None), str):
            callback.dirname = os.path.join(callback.dirname, fit_folder)


def _accepts_argument(factory, name):
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(
        p.kind is p.VAR_KEYWORD for p in parameters.values()
    )
