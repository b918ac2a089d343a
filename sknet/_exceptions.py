"""Warning and error classes raised by sknet."""


class SknetWarning(UserWarning):
    """Base class of every warning that sknet emits.

    Filter it to silence sknet alone, for instance
    ``warnings.simplefilter("ignore", sknet.SknetWarning)``.
    """


class ConstantPredictionWarning(SknetWarning):
    """The fitted network predicts the same value for every training row.

    With ReLU activations this usually means every hidden unit has died
    (its input is negative for all rows), which happens on unscaled data or
    with a learning rate that is too high.
    """


class DeviceFallbackWarning(SknetWarning):
    """A model trained on a GPU was loaded onto the CPU, as no GPU is available.

    It is emitted once per network when a pickled or joblib-dumped model,
    or a file read by :func:`sknet.load_model`, names a CUDA device that
    this machine lacks. The loaded model predicts as it did on the GPU, up
    to the last bits that differ between GPU and CPU arithmetic. Its
    ``device`` parameter still names the GPU, so set ``device="cpu"`` or
    ``device="auto"`` before training it again here.
    """


class TrainingDivergedError(FloatingPointError):
    """The training or validation loss stopped being a finite number.

    Attributes
    ----------
    epoch : int
        The epoch, counted from 1, whose loss was not finite.
    loss_log : ndarray of shape (epoch, 3)
        ``[epoch, train_loss, val_loss]`` for every epoch that ran,
        including the one that diverged.
    """

    def __init__(self, message, *, epoch, loss_log):
        super().__init__(message)
        self.epoch = epoch
        self.loss_log = loss_log
