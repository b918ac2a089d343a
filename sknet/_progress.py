"""A progress bar over epochs, shown only under ``verbose``."""

import math

from skorch.callbacks import Callback


class EpochProgressBar(Callback):
    """Show a tqdm progress bar over epochs with the current losses.

    The bar advances once per epoch and never per batch. It writes to
    standard error.
    """

    def __init__(self, leave=True):
        self.leave = leave

    def initialize(self):
        self.bar_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(
            total=net.epochs_this_call, unit="epoch", leave=self.leave, desc="fit"
        )

    def on_epoch_end(self, net, **kwargs):
        if self.bar_ is None:
            return
        record = net.history[-1]
        losses = {"train_loss": f"{record['train_loss']:.4g}"}
        valid_loss = record.get("valid_loss", math.nan)
        if not math.isnan(valid_loss):
            losses["valid_loss"] = f"{valid_loss:.4g}"
        self.bar_.set_postfix(losses, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.close()

    def close(self):
        """Close the bar, also when training stopped with an error."""
        if self.bar_ is not None:
            self.bar_.close()
            self.bar_ = None
