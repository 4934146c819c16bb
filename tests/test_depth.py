"""nnbook.depth: the probe network's statistics are deterministic and follow the variance argument
of Chapter 3 (He keeps a ReLU stack steady, Xavier loses 1/sqrt(2) per ReLU layer, and so on)."""

import math

import pytest
import torch

from nnbook import depth


def test_same_arguments_give_the_same_numbers_and_threads_are_restored():
    threads = torch.get_num_threads()
    a = depth.layer_statistics("kaiming", "relu", 5, width=32, batch=64, sample=100, seed=3)
    b = depth.layer_statistics("kaiming", "relu", 5, width=32, batch=64, sample=100, seed=3)
    assert torch.get_num_threads() == threads
    for key in a:
        assert torch.equal(a[key], b[key])
    assert a["activations"].shape == (5, 100) and a["activation_std"].dtype == torch.float64


def test_the_statistics_are_those_of_the_probe_network_built_by_hand():
    stats = depth.layer_statistics("xavier", "tanh", 3, width=16, batch=8, sample=16 * 8, seed=0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 16, generator=g, dtype=torch.float64)
    upstream = torch.randn(8, 16, generator=g, dtype=torch.float64)
    torch.randperm(16 * 8, generator=g)
    weights = [torch.nn.init.xavier_normal_(torch.empty(16, 16, dtype=torch.float64), generator=g)
               .requires_grad_() for _ in range(3)]
    hs, h = [], x
    for w in weights:
        h = torch.tanh(h @ w.T)
        h.retain_grad()
        hs.append(h)
    (h * upstream).sum().backward()
    torch.testing.assert_close(stats["activation_std"], torch.stack([t.detach().std() for t in hs]))
    torch.testing.assert_close(stats["gradient_std"], torch.stack([t.grad.std() for t in hs]))
    torch.testing.assert_close(stats["gradient_std"][-1], upstream.std())  # the top gradient is r


def per_layer_factor(stats, first, last):
    s = stats["activation_std"]
    return (s[last - 1] / s[first - 1]).item() ** (1 / (last - first))


def test_variance_argument_holds_for_relu_stacks():
    he = depth.layer_statistics("kaiming", "relu", 30)
    assert 0.5 < he["activation_std"][-1] / he["activation_std"][0] < 2
    assert 0.5 < he["gradient_std"][0] < 2
    xavier = depth.layer_statistics("xavier", "relu", 30)
    assert abs(per_layer_factor(xavier, 1, 30) - 1 / math.sqrt(2)) < 0.03
    default = depth.layer_statistics("pytorch default", "relu", 30)
    assert abs(per_layer_factor(default, 1, 30) - 1 / math.sqrt(6)) < 0.03
    big = depth.layer_statistics("normal(0, 1)", "relu", 30)
    assert abs(per_layer_factor(big, 10, 30) - math.sqrt(128 / 2)) < 0.5


def test_linear_stack_with_lecun_scale_keeps_its_size():
    # Xavier on a square layer is Var(w) = 1/n: without an activation nothing changes on average.
    stats = depth.layer_statistics("xavier", "linear", 20)
    assert 0.5 < stats["activation_std"][-1] / stats["activation_std"][0] < 2


def test_grid_and_bad_names():
    grid = depth.statistics_grid(["xavier"], ["tanh", "relu"], [2, 3], width=8, batch=4)
    assert set(grid) == {("xavier", a, d) for a in ("tanh", "relu") for d in (2, 3)}
    with pytest.raises(ValueError, match="initializer"):
        depth.layer_statistics("glorot", "relu", 3)
    with pytest.raises(ValueError, match="activation"):
        depth.layer_statistics("xavier", "gelu", 3)
    with pytest.raises(ValueError, match="depth"):
        depth.layer_statistics("xavier", "relu", 0)


def test_tanh_and_sigmoid_numbers_the_chapter_quotes():
    xavier = depth.layer_statistics("xavier", "tanh", 30)["activation_std"]
    assert [round(xavier[l - 1].item(), 2) for l in (1, 10, 30)] == [0.63, 0.23, 0.11]
    kaiming = depth.layer_statistics("kaiming", "tanh", 30)["activation_std"]  # gain sqrt 2
    assert 0.5 < kaiming[9] < 0.6 and 0.5 < kaiming[29] < 0.6
    big = depth.layer_statistics("normal(0, 1)", "tanh", 30)["gradient_std"]
    assert big[0] > 1e9 and 2.2 < big[0].item() ** (1 / 29) < 2.7  # grows by about 2.4 per layer
    assert depth.layer_statistics("normal(0, 1)", "sigmoid", 30)["gradient_std"][0] > 1
    small = depth.layer_statistics("normal(0, 0.01)", "sigmoid", 30)["activation_std"]
    assert 0.01 < small[-1] < 0.02  # flat, although every input gives nearly the same output


def standard_normal_stack(f, x, layers=30):
    g = torch.Generator().manual_seed(0)
    for _ in range(layers):
        x = f(x @ torch.randn(128, 128, generator=g, dtype=torch.float64).T)
    return x


def test_standard_normal_weights_make_tanh_chaotic_and_sigmoid_constant():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(256, 128, generator=g, dtype=torch.float64)
    nudged = x + 0.01 * torch.randn(x.shape, generator=g, dtype=torch.float64)
    h, h2 = standard_normal_stack(torch.tanh, x), standard_normal_stack(torch.tanh, nudged)
    # as far apart as two unrelated outputs of the same size: sqrt(2)
    assert abs(((h - h2).pow(2).mean() / h.pow(2).mean()).sqrt() - math.sqrt(2)) < 0.1
    s = standard_normal_stack(torch.sigmoid, x)
    assert s.std(dim=0).mean() / s.pow(2).mean().sqrt() < 0.2


def test_a_float32_standard_normal_relu_stack_overflows_at_layer_43():
    g = torch.Generator().manual_seed(0)
    h = torch.randn(256, 128, generator=g)
    for layer in range(1, 61):
        h = torch.relu(h @ torch.randn(128, 128, generator=g).T)
        if not torch.isfinite(h).all():
            break
    assert 40 <= layer <= 46


def test_a_relu_output_of_mean_square_one_has_std_sqrt_of_one_minus_one_over_pi():
    z = torch.randn(1_000_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    h = torch.relu(z * math.sqrt(2))
    assert abs(h.pow(2).mean() - 1) < 0.005 and abs(h.std() - math.sqrt(1 - 1 / math.pi)) < 0.005


def spread_over_size(h):
    return (h.std(dim=0).mean() / h.pow(2).mean().sqrt()).item()


def test_sigmoid_outputs_are_mostly_the_constant_quarter_with_fan_based_scales():
    for name in ["normal(0, 0.01)", "xavier", "kaiming", "pytorch default"]:
        mean_square = depth.layer_statistics(name, "sigmoid", 30)["activations"].pow(2).mean(dim=1)
        assert (0.25 / mean_square).min() > 0.75, name


@pytest.mark.parametrize("seed", range(5))
def test_a_kaiming_relu_stack_loses_spread_between_inputs_in_every_draw(seed):
    # Chapter 3, biases: the spread between inputs, relative to the rms, falls from about 0.8 at
    # layer 1 to well under half of it at layer 30, whatever the draw of the weights.
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(256, 128, generator=g, dtype=torch.float64)
    relative = []
    for _ in range(30):
        w = torch.nn.init.kaiming_normal_(torch.empty(128, 128, dtype=torch.float64),
                                          nonlinearity="relu", generator=g)
        h = torch.relu(h @ w.T)
        relative.append(spread_over_size(h))
    assert 0.7 < relative[0] < 0.9
    assert relative[-1] < relative[0] / 2
