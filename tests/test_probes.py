"""nnbook.probes: the deep networks, gradient norms and dead-unit counts Chapter 2 measures."""

import math

import pytest
import torch
from torch import nn

from nnbook import probes


def test_quadrant_task_is_seeded_and_labels_the_first_and_third_quadrants():
    X, y = probes.quadrant_task(100, 4, seed=3)
    X2, y2 = probes.quadrant_task(100, 4, seed=3)
    assert torch.equal(X, X2) and torch.equal(y, y2) and X.dtype == torch.float64
    assert X.shape == (100, 4) and y.shape == (100,)
    assert torch.equal(y, ((X[:, 0] > 0) == (X[:, 1] > 0)).long())
    with pytest.raises(ValueError, match="n_features"):
        probes.quadrant_task(10, 1)


@pytest.mark.parametrize("activation, gain", [("sigmoid", 1.0), ("tanh", 5 / 3), ("relu", math.sqrt(2))])
def test_deep_network_layers_and_weight_scale(activation, gain):
    net = probes.deep_network(activation, 3, n_in=200, width=400, seed=0)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert len(linears) == 4 and len(net) == 7
    assert isinstance(net[1], probes.ACTIVATION_MODULES[activation])
    assert gain == pytest.approx(nn.init.calculate_gain(activation))
    # std of N(0, g²/fan_in), measured on 80 000 weights: within 2%.
    assert linears[0].weight.std().item() == pytest.approx(gain / math.sqrt(200), rel=0.02)
    assert linears[-1].weight.std().item() == pytest.approx(1 / math.sqrt(400), rel=0.05)
    assert all((m.bias == 0).all() for m in linears)
    with pytest.raises(ValueError, match="unknown activation"):
        probes.deep_network("swish", 2)


def test_layer_gradient_norms_equal_autograd_on_the_same_network():
    norms = probes.layer_gradient_norms("tanh", 4, width=16, n=64, seed=2)
    X, y = probes.quadrant_task(64, seed=2)
    net = probes.deep_network("tanh", 4, width=16, seed=3)
    nn.functional.cross_entropy(net(X), y).backward()
    expected = torch.stack([m.weight.grad.norm() for m in net if isinstance(m, nn.Linear)])
    assert norms.shape == (5,) and norms.dtype == torch.float64
    torch.testing.assert_close(norms, expected)


def test_sigmoid_gradients_vanish_through_depth_but_tanh_and_relu_ones_do_not():
    # The chapter's claim: at 20 hidden layers the first layer of the sigmoid network gets
    # less than a ten-billionth of the gradient of its last layer; tanh and ReLU keep more than 1%.
    ratio = {a: (lambda n: (n[0] / n[-1]).item())(probes.layer_gradient_norms(a, 20))
             for a in probes.ACTIVATION_MODULES}
    assert ratio["sigmoid"] < 1e-10
    assert ratio["tanh"] > 0.01 and ratio["relu"] > 0.01


def test_hidden_outputs_and_dead_fraction():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))
    outs = probes.hidden_outputs(net, torch.randn(5, 2))
    assert [o.shape for o in outs] == [(5, 3), (5, 2)] and not outs[0].requires_grad
    h = torch.tensor([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0]])
    assert probes.dead_fraction(h) == 0.5  # units 0 and 3 are zero on both rows
    assert probes.dead_fraction(torch.zeros(3, 2)) == 1.0
    for bad in (torch.zeros(0, 4), torch.zeros(4), torch.zeros(2, 0)):
        with pytest.raises(ValueError):
            probes.dead_fraction(bad)
