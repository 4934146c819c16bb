"""The general claims about PyTorch that Chapter 1, the notation page and the Keras page make,
checked against the installed PyTorch (so an upgrade that changes one fails here, not in prose)."""

import inspect

import pytest
import torch
from torch import nn


@pytest.mark.parametrize("layer", [nn.RNN(4, 8), nn.LSTM(4, 8), nn.GRU(4, 8),
                                   nn.MultiheadAttention(8, num_heads=2)], ids=type)
def test_sequence_layers_are_not_batch_first_by_default(layer):
    assert layer.batch_first is False


@pytest.mark.parametrize("cls", [nn.Transformer, nn.TransformerEncoderLayer, nn.TransformerDecoderLayer])
def test_transformers_are_not_batch_first_by_default(cls):
    assert inspect.signature(cls).parameters["batch_first"].default is False


def test_linear_takes_the_batch_first_and_any_leading_dimensions():
    layer = nn.Linear(3, 2)
    assert layer(torch.randn(5, 3)).shape == (5, 2)
    assert layer(torch.randn(4, 5, 3)).shape == (4, 5, 2)


def test_dropout_is_on_until_eval_and_eval_reaches_every_submodule():
    model = nn.Sequential(nn.Linear(4, 64), nn.Dropout(0.5), nn.Linear(64, 2))
    x = torch.randn(16, 4)
    assert model.training and not torch.equal(model(x), model(x))
    model.eval()
    assert not any(m.training for m in model.modules())
    assert torch.equal(model(x), model(x))
    model.train()
    assert all(m.training for m in model.modules())


def test_layers_in_a_plain_list_are_invisible_to_parameters_and_to():
    class Stack(nn.Module):
        def __init__(self, container):
            super().__init__()
            self.layers = container([nn.Linear(3, 4), nn.Linear(4, 2)])

    assert list(Stack(list).parameters()) == []
    assert sum(p.numel() for p in Stack(nn.ModuleList).parameters()) == 3 * 4 + 4 + 4 * 2 + 2
    hidden = Stack(list).to(torch.float64)
    assert hidden.layers[0].weight.dtype == torch.float32  # .to() never reached it


def test_a_narrow_middle_layer_limits_the_rank_of_the_collapsed_stack():
    torch.manual_seed(0)
    W = nn.Linear(2, 10).weight @ nn.Linear(784, 2).weight
    assert W.shape == (10, 784) and torch.linalg.matrix_rank(W) == 2
    assert torch.linalg.matrix_rank(nn.Linear(784, 10).weight) == 10


def test_gradients_accumulate_until_zero_grad():
    layer = nn.Linear(3, 1)
    x = torch.randn(5, 3)
    layer(x).sum().backward()
    once = layer.weight.grad.clone()
    layer(x).sum().backward()
    torch.testing.assert_close(layer.weight.grad, 2 * once)
    layer.zero_grad()
    assert layer.weight.grad is None or not layer.weight.grad.any()


def test_forward_skips_the_hooks_that_calling_the_module_runs():
    layer, calls = nn.Linear(2, 2), []
    layer.register_forward_hook(lambda *args: calls.append(1))
    x = torch.randn(1, 2)
    layer(x)
    layer.forward(x)
    assert calls == [1]


def test_a_relu_on_the_logits_blocks_the_gradient_only_from_the_clamped_example():
    output = nn.Linear(2, 3)
    with torch.no_grad():
        output.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]))
        output.bias.zero_()
    scores = output(torch.tensor([[-1.0, 2.0], [3.0, 1.0]]))
    scores.retain_grad()
    nn.CrossEntropyLoss()(torch.relu(scores), torch.tensor([0, 0])).backward()
    assert scores[0, 0] < 0 and scores.grad[0, 0] == 0
    assert scores.grad[1, 0] != 0 and output.weight.grad[0].abs().sum() > 0


def test_sgd_step_and_zero_grad_are_the_chapter_s_hand_written_steps():
    torch.manual_seed(0)
    by_hand, packaged = nn.Linear(3, 2), nn.Linear(3, 2)
    packaged.load_state_dict(by_hand.state_dict())
    optimizer = torch.optim.SGD(packaged.parameters(), lr=0.5)
    x = torch.randn(8, 3)
    for _ in range(3):
        by_hand.zero_grad()
        by_hand(x).pow(2).mean().backward()
        with torch.no_grad():
            for p in by_hand.parameters():
                p -= 0.5 * p.grad
        optimizer.zero_grad()
        packaged(x).pow(2).mean().backward()
        optimizer.step()
    for mine, theirs in zip(by_hand.parameters(), packaged.parameters()):
        torch.testing.assert_close(mine, theirs)


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_a_softmax_before_cross_entropy_cannot_reach_zero_loss(n_classes):
    perfect = torch.zeros(1, n_classes)
    perfect[0, -1] = 1.0  # the best a softmax output can do: all probability on the right class
    best = nn.CrossEntropyLoss()(perfect, torch.tensor([n_classes - 1]))
    e = torch.tensor(1.0).exp()
    torch.testing.assert_close(best, torch.log(1 + (n_classes - 1) / e))


def test_dropout_scales_the_activations_it_keeps_by_one_over_one_minus_p():
    torch.manual_seed(0)
    kept = nn.Dropout(p=0.75)(torch.ones(1000))
    assert set(kept.unique().tolist()) == {0.0, 4.0}


def test_an_in_place_change_of_a_parameter_needs_no_grad():
    layer = nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        layer.weight.copy_(torch.zeros(2, 2))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        layer.weight -= 0.5 * torch.ones(2, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.zeros(2, 2))
        layer.weight -= 0.5
    assert torch.equal(layer.weight, torch.full((2, 2), -0.5)) and layer.weight.requires_grad


def test_float_addition_is_not_associative_and_the_relu_slope_at_zero_is_zero():
    assert (0.1 + 0.2) + 0.3 != 0.1 + (0.2 + 0.3)
    z = torch.tensor(0.0, requires_grad=True)
    torch.relu(z).backward()
    assert z.grad == 0


def test_linear_and_the_matrix_product_differ_by_rounding_relative_to_the_terms_summed():
    torch.manual_seed(0)
    layer, X = nn.Linear(784, 512), torch.randn(4, 784)
    diff = (layer(X) - (X @ layer.weight.T + layer.bias)).abs()
    terms = X.abs() @ layer.weight.abs().T + layer.bias.abs()
    assert (diff <= 1e-6 * terms).all()


def test_adam_eps_default_is_1e_8_and_lazy_linear_infers_its_input_size():
    assert torch.optim.Adam([torch.zeros(1, requires_grad=True)]).defaults["eps"] == 1e-8
    lazy = nn.LazyLinear(3)
    assert lazy(torch.randn(2, 7)).shape == (2, 3) and lazy.weight.shape == (3, 7)


# --- Chapter 2: activation functions ---

import math  # noqa: E402  (kept inside this chapter's block)

def test_leaky_relu_defaults_to_slope_0_01_and_its_slope_at_zero_is_the_negative_slope():
    assert nn.LeakyReLU().negative_slope == 0.01
    for slope in (0.01, 0.2):
        z = torch.tensor(0.0, requires_grad=True)
        nn.functional.leaky_relu(z, slope).backward()
        assert z.grad == pytest.approx(slope)


def test_the_bare_sigmoid_formula_has_a_nan_gradient_far_left_but_torch_sigmoid_does_not():
    z = torch.tensor([-1000.0, -100.0], requires_grad=True)
    (1 / (1 + torch.exp(-z))).sum().backward()
    assert z.grad.isnan().all()
    z2 = z.detach().clone().requires_grad_(True)
    torch.sigmoid(z2).sum().backward()
    assert not z2.grad.isnan().any()


def test_softmax_subtracts_the_maximum_and_log_softmax_does_not_underflow():
    logits = torch.tensor([1000.0, 999.0, 998.0])
    naive = torch.exp(logits) / torch.exp(logits).sum()
    assert naive.isnan().all() and torch.exp(torch.tensor(89.0)).isinf()
    # float32 overflows above ln(largest float32) = 88.7228...
    assert math.log(torch.finfo(torch.float32).max) == pytest.approx(88.7228, abs=1e-4)
    assert torch.exp(torch.tensor(88.72)).isfinite() and torch.exp(torch.tensor(88.73)).isinf()
    assert torch.isfinite(torch.softmax(logits, dim=0)).all()
    far = torch.tensor([0.0, -200.0])
    assert torch.log(torch.softmax(far, dim=0))[1] == -math.inf
    assert torch.log_softmax(far, dim=0)[1] == -200.0


def test_gelu_silu_and_elu_are_the_formulas_the_chapter_gives():
    z = torch.linspace(-6, 6, 121, dtype=torch.float64)
    phi = 0.5 * (1 + torch.erf(z / math.sqrt(2)))
    torch.testing.assert_close(nn.functional.gelu(z), z * phi)
    torch.testing.assert_close(nn.functional.silu(z), z * torch.sigmoid(z))
    torch.testing.assert_close(nn.functional.elu(z), torch.where(z > 0, z, torch.expm1(z)))


def test_gelus_tanh_approximation_is_the_formula_and_close_to_the_exact_gelu():
    z = torch.linspace(-6, 6, 121, dtype=torch.float64)
    tanh_form = 0.5 * z * (1 + torch.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))
    torch.testing.assert_close(nn.functional.gelu(z, approximate="tanh"), tanh_form)
    assert (tanh_form - nn.functional.gelu(z)).abs().max() < 1e-3


def _slope(f, values):
    z = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    f(z).sum().backward()
    return z.grad


def test_elu_gelu_and_silu_slopes_fade_on_the_left_and_gelu_silu_have_one_zero_slope():
    for f in (nn.functional.elu, nn.functional.gelu, nn.functional.silu):
        assert _slope(f, [-10.0]).abs() < 1e-3
    torch.testing.assert_close(_slope(nn.functional.elu, [-10.0]), torch.tensor([math.exp(-10)],
                                                                              dtype=torch.float64))
    for f, bottom in ((nn.functional.gelu, -0.75), (nn.functional.silu, -1.28)):
        left, right = _slope(f, [bottom - 0.01, bottom + 0.01])
        assert left < 0 < right


def test_a_softmax_hidden_layer_averages_one_over_its_width():
    torch.manual_seed(0)
    hidden = torch.softmax(nn.Linear(10, 64)(torch.randn(32, 10)), dim=1)
    torch.testing.assert_close(hidden.mean(), torch.tensor(1 / 64))
