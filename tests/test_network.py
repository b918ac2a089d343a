import pytest
import torch

import sknet
from sknet import Net


@pytest.mark.parametrize("hidden", [(), (5,), (8, 4, 2)])
def test_net_maps_inputs_to_outputs(hidden):
    net = Net(3, 2, hidden_layer_sizes=hidden)
    assert net(torch.zeros(7, 3)).shape == (7, 2)
    linear_layers = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linear_layers) == len(hidden) + 1


def test_dropout_layers_only_when_asked():
    assert not any(isinstance(m, torch.nn.Dropout) for m in Net(2, 1).modules())
    with_dropout = Net(2, 1, hidden_layer_sizes=(4, 4), dropout=0.5)
    dropouts = [m for m in with_dropout.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(dropouts) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden_layer_sizes": 32}, "hidden_layer_sizes must be a sequence"),
        ({"hidden_layer_sizes": (0,)}, "positive integers"),
        ({"activation": "softmax"}, "activation must be one of"),
        ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\)"),
    ],
)
def test_bad_arguments_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Net(2, 1, **kwargs)


def test_public_names_are_sorted_and_complete():
    assert sknet.__all__ == sorted(sknet.__all__)
    public = {
        name for name in dir(sknet) if name[0].isupper() or name.startswith("load_")
    }
    assert public <= set(sknet.__all__)
    for name in sknet.__all__:
        assert getattr(sknet, name) is not None
