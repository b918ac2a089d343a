"""sknet: PyTorch networks as first-class scikit-learn regressors."""

from ._estimator import NetRegressor
from ._exceptions import (
    ConstantPredictionWarning,
    SknetWarning,
    TrainingDivergedError,
)
from ._network import Net

__version__ = "0.1.0"

__all__ = [
    "ConstantPredictionWarning",
    "Net",
    "NetRegressor",
    "SknetWarning",
    "TrainingDivergedError",
]
