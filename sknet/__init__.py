"""sknet: PyTorch networks as first-class scikit-learn regressors."""

from ._cv import NetRegressorCV
from ._estimator import NetRegressor
from ._exceptions import (
    ConstantPredictionWarning,
    DeviceFallbackWarning,
    SknetWarning,
    TrainingDivergedError,
)
from ._network import Net
from ._persistence import export_onnx, load_model, save_model
from ._plotting import (
    CVLossCurveDisplay,
    LossCurveDisplay,
    TimeSeriesPredictionDisplay,
)

__version__ = "0.1.0"

__all__ = [
    "CVLossCurveDisplay",
    "ConstantPredictionWarning",
    "DeviceFallbackWarning",
    "LossCurveDisplay",
    "Net",
    "NetRegressor",
    "NetRegressorCV",
    "SknetWarning",
    "TimeSeriesPredictionDisplay",
    "TrainingDivergedError",
    "export_onnx",
    "load_model",
    "save_model",
]
