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


def test_the_relu_line_is_not_flat_its_first_layer_gets_the_smallest_gradient():
    norms = probes.layer_gradient_norms("relu", 20)
    assert norms.argmin() == 0 and norms.argmax() == 20
    assert 10 < (norms.max() / norms.min()).item() < 50


def _train(net, X, y, lr, steps):
    for _ in range(steps):
        net.zero_grad()
        nn.functional.cross_entropy(net(X), y).backward()
        with torch.no_grad():
            for p in net.parameters():
                p -= lr * p.grad
    with torch.no_grad():
        return nn.functional.cross_entropy(net(X), y).item(), (net(X).argmax(1) == y).float().mean().item()


def test_a_deep_sigmoid_network_stays_at_chance_where_a_relu_one_learns():
    X, y = probes.quadrant_task(512, seed=0, dtype=torch.float32)
    sig_loss, sig_acc = _train(probes.deep_network("sigmoid", 10, dtype=torch.float32), X, y, 0.1, 100)
    relu_loss, relu_acc = _train(probes.deep_network("relu", 10, dtype=torch.float32), X, y, 0.1, 100)
    assert abs(sig_loss - math.log(2)) < 0.01 and sig_acc < 0.6
    assert relu_loss < 0.4 and relu_acc > 0.85
    # Stuck at the best constant guess: each class's share (the classes are not quite balanced).
    share = y.float().mean().item()
    best_loss = -(share * math.log(share) + (1 - share) * math.log(1 - share))
    assert abs(sig_loss - best_loss) < 1e-3 and abs(sig_acc - max(share, 1 - share)) < 1e-6


def test_the_deep_sigmoid_networks_last_hidden_layer_is_nearly_constant_across_points():
    # The signal fades forward too: the chapter's seeded 10-layer float32 sigmoid network gives
    # almost the same last-hidden-layer output for all 512 points, before and after training.
    X, y = probes.quadrant_task(512, seed=0, dtype=torch.float32)
    net = probes.deep_network("sigmoid", 10, dtype=torch.float32)
    for trained in (False, True):
        if trained:
            _train(net, X, y, 0.1, 100)
        spread = [h.std(dim=0).max().item() for h in probes.hidden_outputs(net, X)]
        assert spread[0] > 0.1
        assert spread[-1] < 1e-4


def test_first_layer_dead_units_stay_dead_and_some_deeper_ones_revive():
    # The chapter's run: lr 10 kills units; 200 more steps at lr 0.5 leave layer 1's dead set as
    # it is (its inputs and its weights are fixed) but revive some of layer 2's.
    X, y = probes.quadrant_task(512, seed=0, dtype=torch.float32)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    _, accuracy = _train(net, X, y, 10.0, 100)
    before = [(h == 0).all(dim=0) for h in probes.hidden_outputs(net, X)]
    assert accuracy < 0.6 and sum(d.sum().item() for d in before) > 128 / 3
    _, accuracy_after = _train(net, X, y, 0.5, 200)
    after = [(h == 0).all(dim=0) for h in probes.hidden_outputs(net, X)]
    assert torch.equal(after[0], before[0])
    assert (before[1] & ~after[1]).sum() >= 2
    assert accuracy_after > accuracy + 0.1
