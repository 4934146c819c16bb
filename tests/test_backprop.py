"""nnbook.backprop: the hand-written backward pass equals autograd's gradients, finite differences
agree with both, and the gradient checker notices a wrong gradient."""

from collections import OrderedDict

import pytest
import torch

import nnbook.backprop as bp
import nnbook.nn as nnbook_nn


def close(actual, expected, tolerance=1e-10):
    torch.testing.assert_close(actual, expected, rtol=tolerance, atol=tolerance)


def autograd_loss_and_gradients(model, inputs, target):
    model.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(inputs), target)
    loss.backward()
    return loss.detach(), {name: p.grad.clone() for name, p in model.named_parameters()}


def seed_002_model(device):
    """The classifier from the lecture notes: 20 -> 13 (ReLU) -> 8 (sigmoid) -> 3, the first two
    layers without bias, and the same layer names."""
    return torch.nn.Sequential(OrderedDict(
        linear1=torch.nn.Linear(20, 13, bias=False), relu=torch.nn.ReLU(),
        linear2=torch.nn.Linear(13, 8, bias=False), sigmoid=torch.nn.Sigmoid(),
        output=torch.nn.Linear(8, 3))).to(device=device, dtype=torch.float64)


def data(device, n=32, features=20, classes=3):
    inputs = torch.randn(n, features, dtype=torch.float64, device=device)
    return inputs, torch.randint(0, classes, (n,), device=device)


MODELS = {
    "make_mlp default": lambda d: bp.make_mlp(device=d, dtype=torch.float64),
    "seed 002 (named layers, no bias)": seed_002_model,
    "tanh and leaky relu": lambda d: bp.make_mlp((20, 10, 6, 4, 3), ("tanh", "leaky_relu", "relu"),
                                                 device=d, dtype=torch.float64),
    "nnbook Linear layers": lambda d: torch.nn.Sequential(
        nnbook_nn.Linear(20, 9), torch.nn.Sigmoid(), nnbook_nn.Linear(9, 3)).to(d, torch.float64),
}


@pytest.mark.parametrize("name", MODELS)
def test_hand_written_gradients_equal_autograd(name, device):
    torch.manual_seed(0)
    model = MODELS[name](device)
    inputs, target = data(device)
    loss, grads = bp.loss_and_gradients(model, inputs, target)
    expected_loss, expected_grads = autograd_loss_and_gradients(model, inputs, target)
    close(loss, expected_loss)
    assert list(grads) == list(expected_grads)  # same names, same order as named_parameters()
    for parameter_name, grad in grads.items():
        close(grad, expected_grads[parameter_name])


def test_hand_written_pass_does_not_use_autograd(device):
    torch.manual_seed(0)
    model = bp.make_mlp(device=device, dtype=torch.float64)
    _, grads = bp.loss_and_gradients(model, *data(device))
    assert all(p.grad is None for p in model.parameters())
    assert all(g.grad_fn is None and not g.requires_grad for g in grads.values())


def test_make_mlp_builds_the_lecture_architecture():
    model = bp.make_mlp()
    assert [type(layer).__name__ for layer in model] == [
        "Linear", "ReLU", "Linear", "Sigmoid", "Linear"]
    assert [(layer.in_features, layer.out_features) for layer in model[::2]] == [
        (20, 13), (13, 8), (8, 3)]


def test_cross_entropy_backward_is_softmax_minus_one_hot_over_n(device):
    logits = torch.randn(5, 4, dtype=torch.float64, device=device, requires_grad=True)
    target = torch.tensor([0, 3, 1, 1, 2], device=device)
    expected, = torch.autograd.grad(torch.nn.functional.cross_entropy(logits, target), logits)
    close(bp.cross_entropy_backward(logits.detach(), target), expected)


# --------------------------------------------------------------------------- finite differences

def test_numerical_gradient_of_a_known_function(device):
    x = torch.randn(3, 4, dtype=torch.float64, device=device)
    grad = bp.numerical_gradient(lambda t: (t**3).sum() + t[0, 0] * t[1, 1], x)
    expected = 3 * x**2
    expected[0, 0] += x[1, 1]
    expected[1, 1] += x[0, 0]
    close(grad, expected, tolerance=1e-8)


def test_numerical_gradient_puts_every_entry_back_exactly(device):
    x = torch.randn(20, dtype=torch.float64, device=device)
    before = x.clone()
    bp.numerical_gradient(lambda t: (t.sin() * 3.7).sum(), x)
    assert torch.equal(x, before)


def test_finite_differences_agree_with_the_hand_written_gradients(device):
    torch.manual_seed(0)
    model = seed_002_model(device)
    inputs, target = data(device, n=16)
    _, grads = bp.loss_and_gradients(model, inputs, target)

    def loss(_):  # reads the parameters that numerical_gradient nudges in place
        return torch.nn.functional.cross_entropy(model(inputs), target)

    # A wrong gradient scores 1e-2 or more (see the test below); rounding in the loss limits the
    # smallest entries to a few correct digits (here ~3e-5 on an entry of 2e-6).
    for name, parameter in model.named_parameters():
        assert bp.gradient_check(loss, parameter, grads[name]) < 1e-4, name


def test_gradient_check_defaults_to_autograd(device):
    x = torch.randn(5, dtype=torch.float64, device=device)
    assert bp.gradient_check(lambda t: torch.tanh(t).pow(2).sum(), x) < 1e-8


def test_gradient_check_catches_a_wrong_gradient(device):
    x = torch.randn(6, dtype=torch.float64, device=device)
    wrong = 2 * x * 1.01  # the true gradient of sum(x^2) is 2x
    error = bp.gradient_check(lambda t: (t**2).sum(), x, wrong)
    assert error == pytest.approx(0.01 / 1.01, rel=1e-4)  # |1.01 - 1| / 1.01 in every entry


def test_relative_error_is_zero_where_both_are_zero():
    zeros = torch.zeros(3, dtype=torch.float64)
    assert bp.relative_error(zeros, zeros) == 0.0
    assert bp.relative_error(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.2])) == pytest.approx(
        0.2 / 2.2)


# --------------------------------------------------------------------------- bad input

def test_unsupported_layers_raise_type_error():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.GELU(), torch.nn.Linear(3, 2))
    with pytest.raises(TypeError, match="GELU"):
        bp.loss_and_gradients(model, torch.randn(5, 4), torch.zeros(5, dtype=torch.long))


def test_models_other_than_sequential_raise_type_error():
    with pytest.raises(TypeError, match="Sequential"):
        bp.loss_and_gradients(torch.nn.Linear(4, 2), torch.randn(5, 4),
                              torch.zeros(5, dtype=torch.long))


def test_inputs_must_be_a_batch_of_vectors():
    with pytest.raises(ValueError, match="shape"):
        bp.loss_and_gradients(bp.make_mlp(), torch.randn(20), torch.tensor(0))


@pytest.mark.parametrize("sizes,activations,message", [
    ((20, 13, 3), ("relu", "sigmoid"), "need 1 activations"),
    ((20, 13, 3), ("softsign",), "unknown activation"),
])
def test_make_mlp_rejects_inconsistent_arguments(sizes, activations, message):
    with pytest.raises(ValueError, match=message):
        bp.make_mlp(sizes, activations)


def test_numerical_gradient_needs_a_scalar_function():
    with pytest.raises(ValueError, match="scalar"):
        bp.numerical_gradient(lambda t: t * 2, torch.randn(3, dtype=torch.float64))


def test_numerical_gradient_warns_about_float32():
    with pytest.warns(UserWarning, match="float64"):
        bp.numerical_gradient(lambda t: t.sum(), torch.randn(3))


def test_gradient_flow_gives_the_norms_of_the_hand_written_pass(device):
    torch.manual_seed(0)
    model = bp.make_mlp(device=device, dtype=torch.float64)
    inputs, target = data(device)
    signal, weights = bp.gradient_flow(model, inputs, target)
    assert [label for label, _ in signal] == ["z3", "a2", "z2", "a1", "z1"]
    assert [label for label, _ in weights] == ["W3", "W2", "W1"]
    _, grads = bp.loss_and_gradients(model, inputs, target)
    for (label, norm), name in zip(weights, ["4.weight", "2.weight", "0.weight"]):
        assert norm == pytest.approx(grads[name].norm().item(), rel=1e-12)
    # the signal entering the sigmoid is the signal leaving it times σ'(z) <= 1/4, entry by entry
    assert signal[2][1] <= signal[1][1] / 4 + 1e-15
    # and the logits' gradient is (softmax - onehot) / N
    logits = model(inputs).detach()
    assert signal[0][1] == pytest.approx(bp.cross_entropy_backward(logits, target).norm().item())


def test_raw_phone_features_make_the_first_layer_step_far_too_large():
    """Chapter 5's scaling section: at lr 1 the first step moves z1 by over 20 times more
    (relative to z1) on the raw phone table than on standardized features, and a ReLU-only
    network's loss grows a millionfold in two steps on raw inputs."""
    import torch.nn.functional as F

    from nnbook.data import load_phones
    table = load_phones()
    x = torch.tensor(table.iloc[:, :20].to_numpy(), dtype=torch.float32)
    y = torch.tensor(table["price_range"].to_numpy())
    rows = torch.randperm(2000, generator=torch.Generator().manual_seed(0))[:1500]
    scaled = (x - x[rows].mean(dim=0)) / x[rows].std(dim=0)

    def relative_step(inputs, activations=("relu", "sigmoid")):
        torch.manual_seed(0)
        net = bp.make_mlp((20, 13, 8, 4), activations)
        xb = inputs[rows]
        z1 = net[0](xb).detach()
        F.cross_entropy(net(xb), y[rows]).backward()
        dz1 = -(xb @ net[0].weight.grad.T + net[0].bias.grad)
        return (dz1.norm() / z1.norm()).item()

    assert relative_step(x) > 20 * relative_step(scaled)
    torch.manual_seed(0)
    net = bp.make_mlp((20, 13, 8, 4), ("relu", "relu"))
    losses = []
    for _ in range(3):
        loss = F.cross_entropy(net(x[rows]), y[rows])
        losses.append(loss.item())
        net.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in net.parameters():
                p -= p.grad
    assert losses[2] > 1e6 * losses[0]
