import numpy as np
import pytest
import torch

from sknet import NetRegressor

X = np.arange(12.0).reshape(6, 2)
y = np.arange(6.0)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"lr": 0}, r"lr must be a finite number > 0; got 0"),
        ({"lr": -0.1}, r"lr must be"),
        ({"max_epochs": -1}, r"max_epochs must be an integer >= 0; got -1"),
        ({"max_epochs": 2.5}, r"max_epochs must be an integer"),
        ({"batch_size": 0}, r"batch_size must be None .* or an integer >= 1"),
        ({"validation_fraction": 1.0}, r"validation_fraction must be None or"),
        ({"optimizer": "sgdd"}, r"optimizer must be one of \['adagrad', 'adam'"),
        ({"criterion": "rmse"}, r"criterion must be one of"),
        ({"criterion": torch.nn.MSELoss()}, r"criterion must be"),
        ({"module": torch.nn.Linear(2, 1)}, r"module must be a torch.nn.Module "),
        ({"dtype": "float16"}, r"dtype must be None, 'float32' or 'float64'"),
        ({"device": "gpu"}, r"device must be 'cpu', 'cuda'"),
        ({"callbacks": ["not a callback"]}, r"callbacks must be None or a list"),
        ({"shuffle": "yes"}, r"shuffle must be True or False"),
    ],
)
def test_invalid_parameter_values_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        NetRegressor(**params).fit(X, y)


def test_several_problems_are_reported_together():
    with pytest.raises(ValueError) as info:
        NetRegressor(lr=0, max_epochs=-1).fit(X, y)
    assert "lr must be" in str(info.value)
    assert "max_epochs must be" in str(info.value)


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("max_epoch", "max_epochs"),
        ("learning_rate", None),
        ("module__hidden_layers_sizes", "module__hidden_layer_sizes"),
        ("modul__hidden_layer_sizes", "module__hidden_layer_sizes"),
        ("optimizer__momentun", "optimizer__momentum"),
        ("criterion__delt", "criterion__delta"),
    ],
)
def test_misspelt_names_get_a_suggestion(name, suggestion):
    reg = NetRegressor(criterion="huber", max_epochs=1).set_params(**{name: 1})
    with pytest.raises(ValueError, match=name) as info:
        reg.fit(X, y)
    if suggestion:
        assert f"did you mean '{suggestion}'" in str(info.value)


def test_misspelt_name_in_constructor_is_reported_at_fit():
    reg = NetRegressor(max_epoch=3)
    with pytest.raises(ValueError, match="did you mean 'max_epochs'"):
        reg.fit(X, y)


@pytest.mark.parametrize(
    "name",
    ["module__n_input", "module__n_output", "optimizer__lr", "criterion__reduction"],
)
def test_arguments_set_by_the_estimator_are_refused(name):
    with pytest.raises(ValueError, match=f"{name} cannot be set"):
        NetRegressor(max_epochs=1, **{name: 1}).fit(X, y)


def test_module_accepting_any_keyword_is_not_second_guessed():
    class Flexible(torch.nn.Module):
        def __init__(self, n_input, n_output, **options):
            super().__init__()
            self.linear = torch.nn.Linear(n_input, n_output)

        def forward(self, X):
            return self.linear(X)

    NetRegressor(Flexible, max_epochs=1, module__anything=3).fit(X, y)


def test_set_params_refuses_method_names():
    with pytest.raises(ValueError, match="'fit' is a method"):
        NetRegressor().set_params(fit=1)


def test_get_params_includes_component_arguments():
    reg = NetRegressor(module__dropout=0.1).set_params(optimizer__momentum=0.9)
    params = reg.get_params()
    assert params["module__dropout"] == 0.1
    assert params["optimizer__momentum"] == 0.9
    assert reg.module__dropout == 0.1
    assert "module__dropout=0.1" in repr(reg)


def test_string_names_choose_components():
    reg = NetRegressor(optimizer="adam", criterion="huber", max_epochs=2).fit(X, y)
    assert isinstance(reg.net_.optimizer_, torch.optim.Adam)
    assert isinstance(reg.net_.criterion_, torch.nn.HuberLoss)


def test_parameters_are_not_checked_in_init_or_set_params():
    reg = NetRegressor(lr="fast", max_epochs=None)
    reg.set_params(batch_size="big")
    assert reg.lr == "fast"


def test_numpy_integers_are_layer_sizes():
    sizes = np.array([4, 3])
    reg = NetRegressor(max_epochs=1, random_state=0, module__hidden_layer_sizes=sizes)
    assert reg.fit(X, y).module_.layers[2].in_features == 4


def test_net_arguments_are_checked_with_the_other_parameters():
    reg = NetRegressor(lr=-1, module__activation="x", module__dropout=2)
    with pytest.raises(ValueError) as info:
        reg.fit(X, y)
    message = str(info.value)
    assert "lr must be" in message
    assert "module__activation must be one of" in message
    assert "module__dropout must be" in message


@pytest.mark.parametrize("name", ["iterator_train__shuffle", "train_split"])
def test_skorch_data_loading_parameters_are_explained(name):
    with pytest.raises(ValueError, match="skorch's data-loading parameters"):
        NetRegressor(max_epochs=1, **{name: None}).fit(X, y)


def test_random_state_must_be_a_valid_seed():
    with pytest.raises(ValueError, match=r"random_state must be None, an integer"):
        NetRegressor(random_state=-1).fit(X, y)


def test_module_without_width_arguments_is_explained():
    with pytest.raises(ValueError, match="must accept the keyword arguments n_input"):
        NetRegressor(torch.nn.Linear, max_epochs=1).fit(X, y)


def test_module_without_parameters_is_explained():
    class Identity(torch.nn.Module):
        def __init__(self, n_input, n_output):
            super().__init__()

        def forward(self, X):
            return X[:, :1]

    with pytest.raises(ValueError, match="has no trainable parameters"):
        NetRegressor(Identity, max_epochs=1).fit(X, y)
