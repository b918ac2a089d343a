"""NetRegressorCV: cross-validated search that trains every network at once."""

import contextlib
import ctypes
import numbers
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import torch
from joblib import Parallel, delayed
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import check_scoring
from sklearn.model_selection import ParameterGrid, check_cv
from sklearn.utils.validation import check_is_fitted
from torch import nn
from torch.func import functional_call
from tqdm.auto import tqdm

from ._data import as_2d_target, to_tensor
from ._estimator import (
    NetRegressor,
    NetworkEstimatorMixin,
    _resolve_device,
    _seed_from,
    _seeded_torch,
    previous_fit_kept_on_failure,
)
from ._exceptions import SknetWarning, TrainingDivergedError
from ._network import Net
from ._params import check_parameters
from ._vectorised import (
    StackedData,
    StackedNetworks,
    StackedRun,
    StackedSchedule,
    stacked_optimizer,
)
from ._warnings import warn

# Settings that differ between networks of one vectorised run. Any other
# setting in the grid may change the network's shape or code, so candidates
# that differ in one are trained in separate runs.
VECTORISED_SETTINGS = frozenset(
    {
        "lr",
        "max_epochs",
        "random_state",
        "early_stopping",
        "n_iter_no_change",
        "tol",
        "optimizer__momentum",
        "optimizer__dampening",
        "optimizer__nesterov",
        "optimizer__weight_decay",
        "optimizer__betas",
        "optimizer__eps",
    }
)

# Settings a grid (or a keyword for the networks) cannot set, and why: those
# of the search itself, and NetRegressor's that a vectorised run lacks.
UNSUPPORTED_SETTINGS = {
    "param_grid": "it is a setting of the search itself, not of the networks",
    "cv": "it is a setting of the search itself, not of the networks",
    "scoring": "it is a setting of the search itself, not of the networks",
    "n_jobs": "it is a setting of the search itself, not of the networks",
    "batch_size": "NetRegressorCV trains full batch",
    "shuffle": "NetRegressorCV trains full batch",
    "validation_fraction": "each fold's held-out rows are its validation data",
    "partial_fit_epochs": "NetRegressorCV has no partial_fit",
    "callbacks": "skorch callbacks act on one network, not on a vectorised run",
    "warm_start": "every fit searches afresh",
    "data_parallel": "its networks train side by side in one process",
}

# Activations of about this many numbers per run keep memory bounded on
# large tables; larger searches are split into several runs.
ELEMENTS_PER_RUN = 2**21

# After runs on at least this many rows, freed memory is handed back to the
# system (see _return_freed_memory); it takes about a millisecond.
LARGE_TABLE_ROWS = 10_000


class NetRegressorCV(NetworkEstimatorMixin, RegressorMixin, BaseEstimator):
    """A NetRegressor whose settings are chosen by vectorised cross-validation.

    Every candidate of ``param_grid`` is trained on every fold of ``cv``,
    and all these networks train together: their weights are stacked into
    one set of tensors, so one forward and one backward pass per epoch
    serve them all. The best candidate is then refitted on all the data,
    and the estimator predicts with it, like scikit-learn's ``RidgeCV``.

    Each network of a fold and a candidate is initialised as ``NetRegressor`` would
    initialise it (through skorch, from the same ``random_state``), trains on
    exactly its fold's training rows, and is evaluated on the held-out rows
    after every epoch; its ``cv_loss_log_`` equals the ``loss_log_`` of a
    separate ``NetRegressor`` fitted on that fold, up to floating-point
    rounding.

    Parameters
    ----------
    param_grid : dict or list of dicts, default=None
        Candidate settings, as in ``GridSearchCV``: names of
        :class:`NetRegressor` parameters (``lr``, ``max_epochs``,
        ``random_state``, ``early_stopping``, ``optimizer__momentum``,
        ``module__hidden_layer_sizes``, ...) mapped to lists of values.
        None evaluates the settings given here alone.
    cv : int, cross-validation generator or iterable, default=5
        The folds, as in ``GridSearchCV``: an integer is a ``KFold`` without
        shuffling.
    scoring : str, callable or None, default=None
        How a fold's network is scored on its held-out rows; higher is
        better. None uses minus the validation loss (the criterion, so
        ``-MSE`` by default, which ranks like ``"neg_mean_squared_error"``).
        A string or callable is a scikit-learn scorer, evaluated with the
        network's final weights; a callable receives a regressor with
        ``predict``, ``score``, the candidate's settings (``lr``, ...),
        ``loss_log_`` and ``n_iter_``. One scorer only: for several
        metrics, use ``GridSearchCV``.
    module, criterion, optimizer, lr, max_epochs, early_stopping, \
n_iter_no_change, tol, random_state, dtype, device, verbose : see NetRegressor
        As in :class:`NetRegressor`: the settings of every candidate, unless
        ``param_grid`` overrides them. Only the optimizers "sgd", "adam" and
        "adamw" can be trained side by side. With ``early_stopping=True``
        each network stops on its own fold's held-out rows, and the refit
        trains for the mean best epoch of the chosen candidate's folds.
    n_jobs : int or None, default=None
        Vectorised runs to train at the same time, in joblib worker
        processes, as in ``GridSearchCV``. A search on a small table is one
        run, so this helps only when candidates differ in shape (one run per
        shape) or the table is large enough to be split into several runs.
        With more than one job, ``verbose`` shows no progress bar.
    **kwargs
        ``module__*``, ``optimizer__*`` and ``criterion__*`` arguments, as in
        :class:`NetRegressor`.

    Attributes
    ----------
    cv_results_ : dict of ndarrays
        In ``GridSearchCV``'s layout: ``params``, ``param_<name>``,
        ``split<i>_test_score``, ``mean_test_score``, ``std_test_score`` and
        ``rank_test_score``; with early stopping also ``split<i>_best_epoch``
        and ``mean_best_epoch``, the epoch whose weights each network ended
        with (its best where early stopping ran, else its last).
    cv_loss_log_ : ndarray of shape (n_candidates, n_splits, n_epochs, 3)
        ``[epoch, train_loss, val_loss]`` of every epoch of every candidate
        and fold: the learning curves of each fold. Losses are NaN after a
        network stopped.
    best_index_ : int
        Index of the chosen candidate in ``cv_results_``.
    best_params_ : dict
        The chosen candidate's settings.
    best_score_ : float
        Its mean score over the folds.
    best_estimator_ : NetRegressor
        The chosen candidate refitted on all the data.
    refit_epochs_ : int
        The number of epochs of that refit.
    n_splits_ : int
        Number of folds.
    loss_log_, n_iter_, net_, module_, n_outputs_ : as in NetRegressor
        Those of ``best_estimator_``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` has string column names.

    See Also
    --------
    NetRegressor : The estimator refitted with the chosen settings.
    CVLossCurveDisplay : Plot the learning curves of every fold.

    Notes
    -----
    Training goes through skorch for everything but the vectorised epochs:
    each network's module, optimizer and criterion are built by the
    ``NetRegressor`` the candidate describes, and the refit is a plain
    ``NetRegressor.fit``. The epochs themselves run outside skorch's loop,
    which trains one module with one optimizer.

    Candidates that differ in a setting outside the vectorised ones (a
    hidden layer size, the activation, the criterion, the module) are
    trained in separate vectorised runs, one per combination. Networks that
    stopped (their ``max_epochs`` reached, early stopping, a diverged loss)
    keep their weights while the others go on. A network whose loss stops
    being finite gets the score NaN and ranks last.

    Modules other than :class:`Net` without dropout are run through
    ``torch.func.vmap``; modules with buffers (BatchNorm) cannot be. With
    dropout, each network draws its own dropout masks, so results agree
    with separate fits only in distribution. A ``forward`` that branches on
    tensor values cannot run under vmap. ``random_state=None`` or a
    ``RandomState`` draws one integer seed for the whole search: every
    candidate starts from the same weights, and the seed is
    ``best_estimator_.random_state``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknet import NetRegressorCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((120, 3))
    >>> y = X @ [1.0, -2.0, 0.5]
    >>> search = NetRegressorCV(
    ...     {"lr": [0.01, 0.05]}, cv=3, max_epochs=300, random_state=0
    ... ).fit(X, y)
    >>> search.best_params_
    {'lr': 0.05}
    >>> search.cv_loss_log_.shape
    (2, 3, 300, 3)
    >>> round(search.score(X, y), 2)
    1.0
    """

    def __init__(
        self,
        param_grid=None,
        *,
        cv=5,
        scoring=None,
        module=Net,
        criterion=nn.MSELoss,
        optimizer=torch.optim.SGD,
        lr=0.001,
        max_epochs=10000,
        early_stopping=False,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        dtype=None,
        device="cpu",
        n_jobs=None,
        verbose=0,
        **kwargs,
    ):
        self.param_grid = param_grid
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.module = module
        self.criterion = criterion
        self.optimizer = optimizer
        self.lr = lr
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.dtype = dtype
        self.device = device
        self.verbose = verbose
        self._component_arguments = dict(kwargs)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "best_estimator_")

    def fit(self, X, y, sample_weight=None, groups=None):
        """Cross-validate every candidate, then refit the best on all rows.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in every training loss (not in the
            validation loss or the scores).
        groups : array-like of shape (n_samples,), default=None
            Group labels for group-aware ``cv`` splitters.

        Returns
        -------
        self : NetRegressorCV
        """
        with previous_fit_kept_on_failure(self):
            return self._search(X, y, sample_weight, groups)

    def _search(self, X, y, sample_weight, groups):
        candidates = self._candidates()
        X, y, sample_weight = self._validate_training_data(
            X, y, sample_weight, reset=True
        )
        search = _SearchData(
            X=X,
            y=y,
            sample_weight=sample_weight,
            folds=self._folds(X, y, groups),
            dtype=torch.float32 if X.dtype == np.float32 else torch.float64,
            seed=_seed_from(self.random_state),
            scorer=None if self.scoring is None else check_scoring(self, self.scoring),
        )
        for _, network in candidates:
            if not isinstance(network.random_state, numbers.Integral):
                # The search's one seed, so that every fold network and the
                # refit can be reproduced from best_estimator_.random_state.
                network.set_params(random_state=search.seed)
        outcome = _SearchOutcome(len(candidates), len(search.folds))
        for indices in _group_by_structure(candidates):
            self._train_group(candidates, indices, search, outcome)
        self._store_search(candidates, outcome)
        self._refit(candidates, outcome, search)
        return self

    def predict(self, X):
        """Predict with the best candidate refitted on all the data.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        check_is_fitted(self)
        X = self._validate_inputs(X, reset=False)
        return self.best_estimator_.predict(X)

    # -- the candidates ---------------------------------------------------

    def _candidates(self):
        """Return one configured, checked NetRegressor per candidate."""
        _refuse_unsupported(self._component_arguments, "NetRegressorCV(...)")
        check_parameters(self, list(_SHARED_PARAMETERS))
        if self.n_jobs is not None and (
            not isinstance(self.n_jobs, numbers.Integral) or self.n_jobs == 0
        ):
            raise ValueError(
                f"n_jobs must be None or a non-zero integer (-1 for every core); "
                f"got {self.n_jobs!r}."
            )
        self._check_scoring()
        own = {name: getattr(self, name) for name in _SHARED_PARAMETERS}
        own.update(self._component_arguments)
        candidates = []
        for settings in self._parameter_grid():
            _refuse_unsupported(settings, "param_grid")
            network = NetRegressor(**own).set_params(**settings)
            try:
                check_parameters(network, network._get_param_names())
                if network.max_epochs < 1:
                    raise ValueError(
                        "max_epochs must be at least 1: a network is scored by "
                        "its validation loss after training"
                    )
            except ValueError as error:
                raise ValueError(
                    f"In param_grid candidate {settings}: {error}"
                ) from error
            candidates.append((settings, network))
        return candidates

    def _check_scoring(self):
        if self.scoring is None or isinstance(self.scoring, str):
            return
        if not callable(self.scoring):
            raise ValueError(
                "scoring must be None, a scorer name such as 'r2' or a callable "
                f"scorer(estimator, X, y); got {self.scoring!r}. NetRegressorCV "
                "ranks candidates by one score; for several metrics use "
                "GridSearchCV(NetRegressor(...), scoring={...}, refit=...)."
            )

    def _parameter_grid(self):
        grid = {} if self.param_grid is None else self.param_grid
        try:
            candidates = list(ParameterGrid(grid))
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"param_grid must be a dict of lists of values, or a list of such "
                f"dicts, as for GridSearchCV: {error}"
            ) from error
        if not candidates:
            raise ValueError(
                "param_grid holds no candidate. Give at least one value for each "
                "setting, or param_grid=None to evaluate the settings as given."
            )
        return candidates

    def _folds(self, X, y, groups):
        if isinstance(self.cv, numbers.Integral) and self.cv > len(X):
            raise ValueError(
                f"cv={self.cv} folds need at least {self.cv} rows, but X has n_samples="
                f"{len(X)}. Use fewer folds or more rows."
            )
        splitter = check_cv(self.cv, y, classifier=False)
        # Splitters may give boolean masks as well as row indices.
        folds = [
            (_row_indices(train, len(X)), _row_indices(test, len(X)))
            for train, test in splitter.split(X, y, groups)
        ]
        for train, test in folds:
            if len(train) == 0 or len(test) == 0:
                raise ValueError(
                    "Every fold of cv needs training and held-out rows; one has "
                    f"{len(train)} and {len(test)}."
                )
        return folds

    # -- vectorised training ----------------------------------------------

    def _train_group(self, candidates, indices, search, outcome):
        """Train every fold of the candidates at ``indices``, of one structure."""
        group = [candidates[index][1] for index in indices]
        device = _resolve_device(group[0].device)
        nets = [
            _initialised_net(network, search, device, candidates[index][0])
            for index, network in zip(indices, group, strict=True)
        ]
        members = [(c, f) for c in range(len(group)) for f in range(len(search.folds))]
        per_run = _networks_per_run(nets[0].module_, len(search.X))
        chunks = [
            members[start : start + per_run]
            for start in range(0, len(members), per_run)
        ]
        data = _shared_data(search)
        runs = (
            delayed(_train_stacked)(
                [nets[c] for c, _ in chunk],
                [group[c] for c, _ in chunk],
                [f for _, f in chunk],
                data,
                device,
                self.verbose and self.n_jobs in (None, 1),
            )
            for chunk in chunks
        )
        results = Parallel(n_jobs=self.n_jobs)(runs)
        for chunk, result in zip(chunks, results, strict=True):
            for position, (c, f) in enumerate(chunk):
                outcome.record(indices[c], f, result, position)
                outcome.scores[indices[c], f] = _score(
                    result, position, nets[c].module_, group[c], search, f
                )

    # -- results and refit --------------------------------------------------

    def _store_search(self, candidates, outcome):
        self.n_splits_ = outcome.scores.shape[1]
        self.cv_loss_log_ = outcome.loss_log()
        self.cv_results_ = _cv_results(
            [settings for settings, _ in candidates],
            outcome,
            any(network.early_stopping for _, network in candidates),
        )
        means = self.cv_results_["mean_test_score"]
        unscored = np.isnan(outcome.scores) & ~outcome.diverged
        if unscored.any():
            raise ValueError(
                f"scoring={self.scoring!r} returned NaN for {int(unscored.sum())} "
                "fold networks that trained normally, for example a score that is "
                "undefined on a held-out fold of one row (r2 with LeaveOneOut). "
                "Use a scorer defined on every fold, or larger folds."
            )
        if np.isnan(means).all():
            raise TrainingDivergedError(
                "The loss of every candidate became NaN or infinite in at least "
                "one fold. Scale X and y (StandardScaler) or try lower learning "
                "rates; cv_loss_log_ shows when each network diverged.",
                epoch=int(np.nanmin(outcome.n_epochs)),
                loss_log=self.cv_loss_log_[0, 0],
            )
        if np.isnan(outcome.scores).any():
            warn(
                f"{int(np.isnan(outcome.scores).sum())} of {outcome.scores.size} "
                "fold networks diverged (their loss became NaN or infinite); their "
                "candidates score NaN and rank last. Lower the largest learning "
                "rates or scale X and y.",
                SknetWarning,
            )
        self.best_index_ = int(np.nanargmax(means))
        self.best_params_ = candidates[self.best_index_][0]
        self.best_score_ = float(means[self.best_index_])

    def _refit(self, candidates, outcome, search):
        network = candidates[self.best_index_][1]
        epochs = network.max_epochs
        if network.early_stopping:
            best_epochs = outcome.best_epoch[self.best_index_]
            epochs = max(1, round(float(np.mean(best_epochs))))
            network.set_params(early_stopping=False, max_epochs=epochs)
        self.refit_epochs_ = epochs
        self.best_estimator_ = network.fit(search.X, search.y, search.sample_weight)
        for name in ("loss_log_", "n_iter_", "net_", "module_", "n_outputs_"):
            setattr(self, name, getattr(network, name))


# The NetRegressor parameters that NetRegressorCV shares, in its signature.
_SHARED_PARAMETERS = (
    "module",
    "criterion",
    "optimizer",
    "lr",
    "max_epochs",
    "early_stopping",
    "n_iter_no_change",
    "tol",
    "random_state",
    "dtype",
    "device",
    "verbose",
)


def _refuse_unsupported(settings, where):
    for name in settings:
        if name in UNSUPPORTED_SETTINGS:
            raise ValueError(
                f"{where} sets {name!r}, which NetRegressorCV does not support: "
                f"{UNSUPPORTED_SETTINGS[name]}. Search it with "
                "GridSearchCV(NetRegressor(...)) instead."
            )


def _group_by_structure(candidates):
    """Group candidate indices that differ only in vectorised settings."""
    groups = defaultdict(list)
    for index, (settings, _) in enumerate(candidates):
        key = repr(
            sorted(
                (name, value)
                for name, value in settings.items()
                if name not in VECTORISED_SETTINGS
            )
        )
        groups[key].append(index)
    return list(groups.values())


@dataclass
class _SearchData:
    """The validated data of one search, and what every network shares."""

    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray | None
    folds: list
    dtype: torch.dtype
    seed: int
    scorer: object


def _row_indices(rows, n_rows):
    rows = np.asarray(rows)
    if rows.dtype == bool:
        if len(rows) != n_rows:
            raise ValueError(
                f"A fold of cv is a boolean mask of {len(rows)} entries, but X has "
                f"{n_rows} rows."
            )
        return np.flatnonzero(rows)
    return rows.astype(np.intp, copy=False)


def _initialised_net(network, search, device, settings):
    """Build the skorch net that ``network.fit`` would start from."""
    seeds = np.random.SeedSequence([network.random_state, 0])
    try:
        with _seeded_torch(seeds, device):
            return network._new_net(search.X, search.y, search.dtype, device)
    except (ValueError, TypeError, IndexError) as error:
        raise ValueError(
            f"In param_grid candidate {settings}, the network could not be "
            f"built: {error}"
        ) from error


def _shared_data(search):
    """Return the rows once, and each fold as weights on them.

    Column ``f`` of the weights holds fold ``f``'s training rows, column
    ``n_folds + f`` its held-out rows; see :class:`StackedData`.
    """
    numpy_dtype = np.float32 if search.dtype == torch.float32 else np.float64
    n_rows, n_folds = len(search.X), len(search.folds)
    weights = search.sample_weight
    if weights is None:
        weights = np.ones(n_rows)
    fold_weights = np.zeros((n_rows, 2 * n_folds), dtype=numpy_dtype)
    for index, (train, test) in enumerate(search.folds):
        total = weights[train].sum()
        if total <= 0:
            raise ValueError(
                f"Every training row of fold {index} has sample_weight 0, so its "
                "networks have nothing to learn from. Give those rows weight, or "
                "use a cv splitter that spreads the weighted rows over the folds."
            )
        fold_weights[train, index] = weights[train] / total
        fold_weights[test, n_folds + index] = 1.0 / len(test)
    X = np.ascontiguousarray(search.X, dtype=numpy_dtype)
    y = np.ascontiguousarray(as_2d_target(search.y), dtype=numpy_dtype)
    return X, y, fold_weights


def _train_stacked(nets, networks, fold_indices, data, device, show_progress):
    """Train one vectorised run: the fold ``fold_indices[k]`` for ``nets[k]``.

    A function of its own so that joblib can run it in another process:
    ``nets`` are the initialised skorch nets, ``networks`` the NetRegressors
    they came from, ``data`` the arrays of :func:`_shared_data`, which joblib
    passes to workers as memory maps.
    """
    X, y, fold_weights = (to_tensor(array, array.dtype, device) for array in data)
    stacked = StackedNetworks([net.module_ for net in nets])
    optimizer = stacked_optimizer(
        [net.optimizer_ for net in nets], stacked.parameter_list(), device, X.dtype
    )
    schedule = StackedSchedule(
        max_epochs=np.array([n.max_epochs for n in networks]),
        patience=np.array(
            [n.n_iter_no_change if n.early_stopping else np.inf for n in networks]
        ),
        tol=np.array([n.tol for n in networks], dtype=float),
    )
    fold_of_network = torch.tensor(fold_indices, device=X.device)
    data = StackedData(X, y, fold_weights, fold_of_network)
    run = StackedRun(stacked, optimizer, nets[0].criterion_, data, schedule)
    with _EpochProgress(show_progress, run) as on_epoch:
        result = run.run(on_epoch)
    if len(X) >= LARGE_TABLE_ROWS:
        _return_freed_memory()
    return result


def _return_freed_memory():
    """Hand memory that the C allocator keeps after large runs back to the system.

    A large run frees tensors of a few megabytes that glibc keeps in its heap
    in pieces; over many runs these add up to a peak that grows with the
    number of networks. Elsewhere than glibc this does nothing.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _score(result, position, module, candidate, search, fold):
    """Score one fold network on its held-out rows; NaN if it diverged."""
    if result.diverged[position]:
        return np.nan
    if search.scorer is None:
        return -result.kept_valid_loss[position]
    held_out = search.folds[fold][1]
    network = _FoldNetwork(
        module=module,
        params={name: value[position] for name, value in result.params.items()},
        target_is_1d=search.y.ndim == 1,
        candidate=candidate,
        loss_log=_loss_log(result.losses[position], result.n_epochs[position]),
    )
    return search.scorer(network, search.X[held_out], search.y[held_out])


def _loss_log(losses, n_epochs):
    """Rows ``[epoch, train_loss, val_loss]`` of the epochs a network ran."""
    epochs = np.arange(1, n_epochs + 1, dtype=float)
    return np.column_stack([epochs, losses[:n_epochs]])


def _networks_per_run(module, n_rows):
    """How many networks to stack so that activations stay bounded."""
    widths = [m.out_features for m in module.modules() if isinstance(m, nn.Linear)]
    width = sum(widths) or sum(p.numel() for p in module.parameters())
    return max(1, ELEMENTS_PER_RUN // max(1, n_rows * width))


class _SearchOutcome:
    """Per candidate and fold: losses, epochs, best epochs and scores."""

    def __init__(self, n_candidates, n_folds):
        shape = (n_candidates, n_folds)
        self.losses = np.empty(shape, dtype=object)
        self.n_epochs = np.zeros(shape, dtype=int)
        self.best_epoch = np.zeros(shape, dtype=int)
        self.diverged = np.zeros(shape, dtype=bool)
        self.scores = np.full(shape, np.nan)

    def record(self, candidate, fold, result, position):
        self.losses[candidate, fold] = result.losses[position]
        self.n_epochs[candidate, fold] = result.n_epochs[position]
        self.diverged[candidate, fold] = result.diverged[position]
        self.best_epoch[candidate, fold] = result.kept_epoch[position]

    def loss_log(self):
        longest = max(losses.shape[0] for losses in self.losses.flat)
        log = np.full((*self.losses.shape, longest, 3), np.nan)
        log[..., 0] = np.arange(1, longest + 1)
        for index in np.ndindex(self.losses.shape):
            losses = self.losses[index]
            log[(*index, slice(0, len(losses)), slice(1, 3))] = losses
        return log


def _cv_results(candidate_settings, outcome, with_best_epochs):
    scores = outcome.scores
    results = {"params": candidate_settings}
    names = sorted({name for settings in candidate_settings for name in settings})
    for name in names:
        column = np.ma.masked_all(len(candidate_settings), dtype=object)
        for index, settings in enumerate(candidate_settings):
            if name in settings:
                column[index] = settings[name]
        results[f"param_{name}"] = column
    for fold in range(scores.shape[1]):
        results[f"split{fold}_test_score"] = scores[:, fold]
    means = scores.mean(axis=1)
    results["mean_test_score"] = means
    results["std_test_score"] = scores.std(axis=1)
    # As in GridSearchCV: ties share the best rank, NaN ranks last.
    filled = np.where(np.isnan(means), -np.inf, means)
    results["rank_test_score"] = rankdata(-filled, method="min").astype(np.int32)
    if with_best_epochs:
        for fold in range(scores.shape[1]):
            results[f"split{fold}_best_epoch"] = outcome.best_epoch[:, fold]
        results["mean_best_epoch"] = outcome.best_epoch.mean(axis=1)
    return results


class _FoldNetwork(RegressorMixin, BaseEstimator):
    """One trained network of a vectorised run, as a regressor for scorers.

    ``module`` supplies the code and ``params`` the weights, through
    ``torch.func.functional_call``. The candidate's settings (``lr``, ...)
    read through to ``candidate``, and ``loss_log_`` and ``n_iter_`` are
    the network's own, so a scorer sees what it would see on a fitted
    NetRegressor.
    """

    def __init__(
        self, module=None, params=None, target_is_1d=True, candidate=None, loss_log=None
    ):
        self.module = module
        self.params = params
        self.target_is_1d = target_is_1d
        self.candidate = candidate
        self.loss_log = loss_log

    @property
    def loss_log_(self):
        return self.loss_log

    @property
    def n_iter_(self):
        return len(self.loss_log)

    def __getattr__(self, name):
        candidate = self.__dict__.get("candidate")
        if candidate is None or name.startswith("_"):
            raise AttributeError(name)
        return getattr(candidate, name)

    def __sklearn_is_fitted__(self):
        return True

    def predict(self, X):
        reference = next(iter(self.params.values()))
        X = torch.as_tensor(np.asarray(X), dtype=reference.dtype).to(reference.device)
        self.module.eval()
        with torch.no_grad():
            output = functional_call(self.module, self.params, (X,))
        output = output.cpu().numpy()
        return output.ravel() if self.target_is_1d else output


class _EpochProgress:
    """A progress bar over the epochs of a stacked run, when verbose."""

    def __init__(self, verbose, run):
        self.bar = None
        if verbose:
            self.bar = tqdm(
                total=run.losses.shape[0],
                desc=f"{run.networks.n_networks} networks",
                unit="epoch",
                leave=False,
            )

    def __enter__(self):
        return None if self.bar is None else self._update

    def __exit__(self, *exc_info):
        if self.bar is not None:
            self.bar.close()

    def _update(self, epoch):
        self.bar.update(epoch - self.bar.n)
