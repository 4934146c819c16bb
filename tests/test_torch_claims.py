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


# --- Chapter 3: parameter initialization ---

def test_linear_and_conv_default_to_uniform_one_over_sqrt_fan_in_for_weight_and_bias():
    import math
    for make, fan_in in [(lambda: nn.Linear(100, 50), 100), (lambda: nn.Conv2d(3, 8, 5), 75)]:
        torch.manual_seed(0)
        module = make()
        torch.manual_seed(0)
        bound = 1 / math.sqrt(fan_in)
        weight = torch.empty(module.weight.shape).uniform_(-bound, bound)
        bias = torch.empty(module.bias.shape).uniform_(-bound, bound)
        torch.testing.assert_close(module.weight.detach(), weight)
        torch.testing.assert_close(module.bias.detach(), bias)
        assert math.isclose(nn.init.calculate_gain("leaky_relu", math.sqrt(5)) * math.sqrt(3 / fan_in),
                            bound)


def test_calculate_gain_values_and_kaiming_defaults():
    import math
    assert nn.init.calculate_gain("relu") == math.sqrt(2)
    assert nn.init.calculate_gain("tanh") == 5 / 3
    assert nn.init.calculate_gain("sigmoid") == nn.init.calculate_gain("linear") == 1
    assert nn.init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    a = nn.init.kaiming_normal_(torch.empty(64, 32), generator=torch.Generator().manual_seed(0))
    b = nn.init.kaiming_normal_(torch.empty(64, 32), nonlinearity="relu",
                                generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)  # default: leaky_relu with a=0, the ReLU's gain


def test_initializers_refuse_1d_and_work_in_place_on_parameters():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(torch.empty(10))
    layer = nn.Linear(4, 3)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        layer.weight.normal_(0, 0.01)
    weight = layer.weight
    assert nn.init.normal_(layer.weight, 0, 0.01) is weight and weight.is_leaf and weight.requires_grad
    assert nn.init._calculate_fan_in_and_fan_out(nn.Conv2d(3, 16, 5).weight) == (75, 400)


def test_a_replaced_parameter_is_not_the_one_the_optimizer_holds():
    layer = nn.Linear(4, 3).to(torch.float64)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    layer.weight = nn.Parameter(torch.randn(3, 4))
    assert layer.weight.dtype == torch.float32
    assert not any(p is layer.weight for p in optimizer.param_groups[0]["params"])


@pytest.mark.parametrize("widths", [[1024, 256, 1024, 256, 1024], [1024, 512, 256, 128]])
def test_kaiming_fan_out_over_a_relu_chain_telescopes_to_sqrt_first_over_current_width(widths):
    import math
    g = torch.Generator().manual_seed(5)
    h = torch.randn(512, widths[0], generator=g)
    for d_in, d_out in zip(widths, widths[1:]):
        w = torch.nn.init.kaiming_normal_(torch.empty(d_out, d_in), mode="fan_out", generator=g)
        h = torch.relu(h @ w.T)
        assert abs(h.pow(2).mean().sqrt().item() / math.sqrt(widths[0] / d_out) - 1) < 0.12


def test_selu_gain_is_three_quarters_and_linear_default_is_drawn_exactly():
    assert torch.nn.init.calculate_gain("selu") == 3 / 4
    torch.manual_seed(4)
    layer = torch.nn.Linear(100, 50)
    torch.manual_seed(4)
    weight = torch.empty(50, 100).uniform_(-0.1, 0.1)
    assert torch.equal(layer.weight.detach(), weight)


# --- Chapter 4: loss functions ---

import math  # noqa: E402  (inside this chapter's block, to keep the merge easy)
import warnings  # noqa: E402


def test_cross_entropy_is_log_softmax_then_nll_and_takes_one_hot_or_smoothed_probabilities():
    logits = torch.tensor([[0.2, 6.0, 0.2], [0.1, 0.8, 10.0]])
    target = torch.tensor([1, 2])
    loss = nn.CrossEntropyLoss()(logits, target)
    torch.testing.assert_close(loss, torch.nn.functional.nll_loss(logits.log_softmax(dim=1), target))
    one_hot = torch.nn.functional.one_hot(target, 3).float()
    torch.testing.assert_close(nn.CrossEntropyLoss()(logits, one_hot), loss)
    smoothed = 0.9 * one_hot + 0.1 / 3
    torch.testing.assert_close(nn.CrossEntropyLoss(label_smoothing=0.1)(logits, target),
                               nn.CrossEntropyLoss()(logits, smoothed))
    with pytest.raises(RuntimeError, match="floating point"):
        nn.CrossEntropyLoss()(logits, one_hot.long())
    with pytest.raises(RuntimeError, match="Long"):
        nn.CrossEntropyLoss()(logits, target.float())


def test_a_weighted_cross_entropy_mean_divides_by_the_weights_used_and_ignore_index_drops_examples():
    logits = torch.tensor([[0.2, 6.0, 0.2], [0.1, 0.8, 10.0], [1.0, 2.0, 3.0]])
    target = torch.tensor([1, 2, 0])
    weight = torch.tensor([1.0, 2.0, 5.0])
    each = nn.CrossEntropyLoss(reduction="none")(logits, target)
    w = weight[target]
    torch.testing.assert_close(nn.CrossEntropyLoss(weight=weight)(logits, target),
                               (w * each).sum() / w.sum())
    torch.testing.assert_close(nn.CrossEntropyLoss()(logits, torch.tensor([1, -100, 0])),
                               each[[0, 2]].mean())


def test_bce_on_a_rounded_probability_is_clamped_at_100_with_no_gradient_and_with_logits_is_exact():
    assert torch.sigmoid(torch.tensor(17.0)) == 1 and torch.sigmoid(torch.tensor(16.0)) < 1
    z = torch.tensor([40.0], requires_grad=True)
    clamped = nn.BCELoss()(torch.sigmoid(z), torch.zeros(1))
    (grad,) = torch.autograd.grad(clamped, z)
    assert clamped.item() == 100.0 and grad.item() == 0.0
    exact = nn.BCEWithLogitsLoss()(z, torch.zeros(1))
    (grad,) = torch.autograd.grad(exact, z)
    assert exact.item() == 40.0 and grad.item() == 1.0


def test_mse_broadcasts_n_by_1_against_n_with_only_a_warning():
    output, target = torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([1.0, 2.0, 3.0])
    with pytest.warns(UserWarning, match="target size"):
        wrong = nn.MSELoss()(output, target)
    assert wrong.item() == pytest.approx(4 / 3)     # mean of (i - j)^2 over a 3 x 3 table


def test_huber_is_delta_times_smooth_l1_and_kl_div_takes_log_q_first():
    prediction, target = torch.tensor([2.5, 0.0, 2.0, 8.0]), torch.tensor([3.0, -0.5, 2.0, 1.0])
    for delta in (0.5, 1.0, 3.0):
        torch.testing.assert_close(nn.HuberLoss(delta=delta)(prediction, target),
                                   delta * nn.SmoothL1Loss(beta=delta)(prediction, target))
    p, q = torch.tensor([0.1, 0.1, 0.1, 0.7]), torch.full((4,), 0.25)
    torch.testing.assert_close(torch.nn.functional.kl_div(q.log(), p, reduction="sum"),
                               (p * (p / q).log()).sum())


def test_with_probability_targets_weight_scales_each_class_term_and_the_mean_divides_by_n():
    logits = torch.tensor([[0.2, 6.0, 0.2], [0.1, 0.8, 10.0]])
    target = torch.tensor([1, 2])
    weight = torch.tensor([1.0, 2.0, 5.0])
    one_hot = torch.nn.functional.one_hot(target, 3).float()
    per_example = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    by_index = torch.nn.functional.cross_entropy(logits, target, weight=weight)
    by_probability = torch.nn.functional.cross_entropy(logits, one_hot, weight=weight)
    torch.testing.assert_close(by_index, (weight[target] * per_example).sum() / weight[target].sum())
    torch.testing.assert_close(by_probability, (weight[target] * per_example).mean())
    assert by_probability > 3 * by_index
    # label smoothing with weight is not the smoothed probabilities with weight
    smoothed = 0.9 * one_hot + 0.1 / 3
    with_index = torch.nn.functional.cross_entropy(logits, target, weight=weight, label_smoothing=0.1)
    with_probabilities = torch.nn.functional.cross_entropy(logits, smoothed, weight=weight)
    assert abs(with_index - 0.3024) < 1e-3 and abs(with_probabilities - 1.0583) < 1e-3


def test_bce_loss_gradient_collapses_below_z_minus_28_while_its_loss_is_right():
    assert torch.sigmoid(torch.tensor(16.63)) < 1 and torch.sigmoid(torch.tensor(16.64)) == 1
    grads = {}
    for logit in (-20.0, -30.0, -40.0):
        z = torch.tensor([logit], requires_grad=True)
        loss = torch.nn.BCELoss()(torch.sigmoid(z), torch.ones(1))
        (grads[logit],) = torch.autograd.grad(loss, z)
        assert math.isclose(loss.item(), -logit, rel_tol=1e-5)
    assert abs(grads[-20.0].item() + 1) < 1e-6
    assert abs(grads[-30.0].item() + 0.094) < 1e-3 and abs(grads[-40.0].item()) < 1e-5
    assert torch.nn.BCELoss()(torch.sigmoid(torch.tensor([-120.0])), torch.ones(1)) == 100


def test_cross_entropy_wants_classes_in_dimension_1_and_runs_silently_when_l_equals_c():
    torch.manual_seed(0)
    scores = torch.randn(2, 3, 3)  # (N, L, C)
    labels = torch.randint(0, 3, (2, 3))
    right = torch.nn.functional.cross_entropy(scores.permute(0, 2, 1), labels)
    torch.testing.assert_close(right, torch.nn.functional.cross_entropy(scores.reshape(6, 3),
                                                                        labels.reshape(6)))
    assert not torch.isclose(torch.nn.functional.cross_entropy(scores, labels), right)


def test_kl_div_default_mean_divides_by_n_times_c_and_batchmean_by_n():
    p = torch.tensor([[0.1, 0.1, 0.1, 0.7], [0.25, 0.25, 0.25, 0.25]])
    q = torch.tensor([[0.25, 0.25, 0.25, 0.25], [0.1, 0.2, 0.3, 0.4]])
    total = (p * (p / q).log()).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.testing.assert_close(torch.nn.functional.kl_div(q.log(), p), total / 8)
    torch.testing.assert_close(torch.nn.functional.kl_div(q.log(), p, reduction="batchmean"), total / 2)


def test_an_untrained_classifier_s_loss_is_log_c_and_the_logit_gradient_is_q_minus_one_hot():
    logits = torch.tensor([[0.2, 6.0, 0.2], [0.1, 0.8, 10.0]], requires_grad=True)
    target = torch.tensor([1, 2])
    (grad,) = torch.autograd.grad(torch.nn.functional.cross_entropy(logits, target), logits)
    expected = (torch.softmax(logits.detach(), 1) - torch.nn.functional.one_hot(target, 3)) / 2
    torch.testing.assert_close(grad, expected)
    for c in (3, 10):
        torch.testing.assert_close(
            torch.nn.functional.cross_entropy(torch.zeros(4, c), torch.arange(4) % c),
            torch.tensor(math.log(c)))


def test_huber_is_the_nll_of_a_gaussian_middle_laplace_tails_density():
    delta = 1.0
    r = torch.linspace(-40, 40, 800001, dtype=torch.float64)
    huber = torch.nn.functional.huber_loss(r, torch.zeros_like(r), delta=delta, reduction="none")
    z_delta = torch.trapezoid((-huber).exp(), r).item()
    closed = math.sqrt(2 * math.pi) * math.erf(delta / math.sqrt(2)) + 2 / delta * math.exp(-0.5)
    assert math.isclose(z_delta, closed, rel_tol=1e-9)
    prediction = torch.tensor([2.5, 0.0, 2.0, 8.0])
    target = torch.tensor([3.0, -0.5, 2.0, 1.0])
    res = prediction - target
    density = (-torch.nn.functional.huber_loss(res, torch.zeros_like(res), reduction="none")).exp()
    torch.testing.assert_close(-(density / z_delta).log().mean(),
                               torch.nn.functional.huber_loss(prediction, target) + math.log(z_delta))


def test_pos_weight_moves_the_minimiser_and_the_half_threshold_to_w_over_w_plus_one():
    s = torch.linspace(0.001, 0.999, 99901, dtype=torch.float64)

    def minimiser(pi, w):
        return s[(-(w * pi * s.log() + (1 - pi) * (1 - s).log())).argmin()].item()

    assert abs(minimiser(0.2, 3.0) - 0.6 / 1.4) < 1e-4
    assert minimiser(0.2, 0.5) < 0.2
    for w in (0.5, 3.0, 10.0):
        assert abs(minimiser(0.5, w) - w / (w + 1)) < 1e-4


def test_at_bias_minus_4_the_two_logit_model_answers_class_0_everywhere():
    x = torch.linspace(-1, 1, 100)
    y = (x > 0.65).long()
    z = -3.0 * x - 4.0
    logits = torch.stack([torch.zeros_like(z), z], dim=1)
    assert (logits.argmax(dim=1) == 0).all()
    assert (logits.argmax(dim=1) == y).float().mean().item() == pytest.approx(0.82)


# --- Chapter 5: backpropagation and gradient descent ---

def test_a_second_backward_fails_only_when_the_graph_saved_values():
    w = torch.tensor(3.0, requires_grad=True)
    y = w + 1                                   # saves nothing
    y.backward()
    y.backward()
    assert w.grad.item() == 2.0
    y = w * w                                   # saves w
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_non_differentiable_results_and_no_grad_results_have_no_grad_fn():
    w = torch.randn(3, requires_grad=True)
    assert (w > 0).grad_fn is None and w.argmax().grad_fn is None
    with torch.no_grad():
        assert (w * 2).grad_fn is None
    assert (w * 2).grad_fn is not None


def test_only_leaves_keep_grad_unless_retain_grad():
    import warnings
    w = torch.tensor(2.0, requires_grad=True)
    z, kept = w * 3, w * 3
    kept.retain_grad()
    (z * kept).backward()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert z.grad is None
    assert kept.grad.item() == 6.0 and w.grad.item() == 36.0


def test_gradcheck_works_in_the_inputs_dtype_and_fails_a_correct_sigmoid_in_float32():
    import warnings
    z = torch.randn(5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(torch.sigmoid, (z,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not torch.autograd.gradcheck(torch.sigmoid, (z.float(),), raise_exception=False)


def test_backward_with_a_gradient_is_a_vector_jacobian_product():
    weight = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    x = torch.tensor([[1.0, -1.0]], requires_grad=True)
    v = torch.tensor([[1.0, 0.0, 2.0]])
    (x @ weight.T).backward(v)
    torch.testing.assert_close(x.grad, v @ weight)
    jacobian = torch.autograd.functional.jacobian(lambda t: t @ weight.T, x.detach())
    torch.testing.assert_close(x.grad, torch.einsum("ij,ijkl->kl", v, jacobian))


def test_detach_shares_the_version_counter_so_inplace_changes_are_caught():
    z = torch.zeros(3, requires_grad=True)
    a = torch.sigmoid(z)
    a.detach().fill_(0.9)
    with pytest.raises(RuntimeError, match="inplace operation"):
        a.sum().backward()
    z = torch.zeros(3, requires_grad=True)
    a = torch.sigmoid(z)
    a.data.fill_(0.9)                           # .data: not caught, a wrong gradient
    a.sum().backward()
    torch.testing.assert_close(z.grad, torch.full((3,), 0.9 * 0.1))


def test_float32_central_differences_of_sin_miss_1e_minus_6_at_every_power_of_ten():
    x = torch.tensor(1.0)
    for k in range(1, 9):
        h = 10.0 ** -k
        error = abs(((torch.sin(x + h) - torch.sin(x - h)) / (2 * h)).item() - math.cos(1.0))
        assert error > 1e-6


# --- Chapter 6: optimizers and learning-rate decay ---

def _small_model(dtype=torch.float32):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).to(dtype)


def _one_batch_backward(model, dtype=torch.float32):
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(8, 4, generator=g, dtype=dtype), torch.randint(0, 2, (8,), generator=g)
    model.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()


def test_module_conversion_keeps_parameter_objects_so_an_earlier_optimizer_follows():
    """Module.to/.double() convert parameters in place (overwrite_module_params_on_conversion is
    off by default): an optimizer built before the conversion holds the converted parameters, and
    lazily created state (Adam, SGD's buffer) is created in the new dtype."""
    assert torch.__future__.get_overwrite_module_params_on_conversion() is False
    for make in (lambda p: torch.optim.Adam(p), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)):
        model = _small_model()
        weight = model[0].weight
        opt = make(model.parameters())
        model.double()
        assert model[0].weight is weight and weight.dtype == torch.float64
        assert opt.param_groups[0]["params"][0] is weight
        _one_batch_backward(model, torch.float64)
        before = weight.detach().clone()
        opt.step()
        assert not torch.equal(before, weight.detach())
        assert all(t.dtype == torch.float64 for t in opt.state[weight].values() if t.dim() > 0)


def test_optimizer_state_created_before_a_conversion_is_not_converted():
    """Adam's averages from a step taken before .double() stay float32 and its next step raises;
    AdaGrad creates its sums in the constructor, and they stay float32."""
    model = _small_model()
    opt = torch.optim.Adam(model.parameters())
    _one_batch_backward(model)
    opt.step()
    model.double()
    _one_batch_backward(model, torch.float64)
    with pytest.raises(RuntimeError):
        opt.step()
    model = _small_model()
    opt = torch.optim.Adagrad(model.parameters())
    model.double()
    assert opt.state[model[0].weight]["sum"].dtype == torch.float32


def test_overwriting_conversion_leaves_an_earlier_optimizer_with_stale_parameters():
    model = _small_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    torch.__future__.set_overwrite_module_params_on_conversion(True)
    try:
        model.double()
    finally:
        torch.__future__.set_overwrite_module_params_on_conversion(False)
    assert opt.param_groups[0]["params"][0] is not model[0].weight


def test_load_state_dict_converts_optimizer_state_to_the_parameters_dtype():
    model = _small_model()
    opt = torch.optim.Adam(model.parameters())
    _one_batch_backward(model)
    opt.step()
    saved = opt.state_dict()
    model.double()
    opt = torch.optim.Adam(model.parameters())
    opt.load_state_dict(saved)
    assert opt.state[model[0].weight]["exp_avg"].dtype == torch.float64
    _one_batch_backward(model, torch.float64)
    opt.step()


def test_a_scheduler_stepped_before_the_optimizer_warns_and_skips_a_value():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        scheduler.step()
    assert opt.param_groups[0]["lr"] == 0.05


def test_adam_with_decoupled_weight_decay_is_adamw_and_plain_adam_weight_decay_is_not():
    def run(make):
        w = torch.ones(3, dtype=torch.float64, requires_grad=True)
        opt = make([w])
        for t in range(20):
            w.grad = torch.tensor([10.0, -0.1, 0.0], dtype=torch.float64) * (-1) ** t
            opt.step()
        return w.detach()
    adamw = run(lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1))
    torch.testing.assert_close(
        run(lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
        adamw, rtol=0, atol=0)
    assert not torch.allclose(run(lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1)), adamw)
    # a weight without loss gradient shrinks by exactly (1 - lr λ) per AdamW step
    assert math.isclose(adamw[2].item(), (1 - 0.01 * 0.1) ** 20, rel_tol=1e-12)


def test_chained_warmup_and_cosine_multiply_their_factors():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    S = torch.optim.lr_scheduler
    chained = S.ChainedScheduler([S.LinearLR(opt, start_factor=0.1, total_iters=10),
                                  S.CosineAnnealingLR(opt, T_max=100)])
    for t in range(100):
        expected = 0.1 * (0.1 + 0.9 * min(t, 10) / 10) * (1 + math.cos(math.pi * t / 100)) / 2
        assert math.isclose(opt.param_groups[0]["lr"], expected, rel_tol=1e-12, abs_tol=1e-15)
        opt.step()
        chained.step()


def test_adagrad_steps_shrink_as_one_over_root_t_for_a_constant_gradient():
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adagrad([w], lr=0.1)
    for t in range(1, 401):
        before = w.item()
        w.grad = torch.tensor([3.0], dtype=torch.float64)
        opt.step()
        assert math.isclose(before - w.item(), 0.1 / math.sqrt(t), rel_tol=1e-6)


def test_adams_first_step_is_lr_in_every_coordinate():
    w = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w], lr=1e-3)
    w.grad = torch.tensor([1e-3, 0.5, -2.0, 1e3], dtype=torch.float64)
    opt.step()
    torch.testing.assert_close(w.detach(), -1e-3 * w.grad.sign(), rtol=1e-4, atol=0)


def test_rmsprop_defaults_to_lr_0_01_and_has_no_bias_correction():
    import inspect
    assert inspect.signature(torch.optim.RMSprop).parameters["lr"].default == 1e-2
    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.RMSprop([w], lr=1e-3)  # alpha 0.99: the first step is lr / sqrt(0.01)
    w.grad = torch.tensor([1e-3, 0.5, -2.0], dtype=torch.float64)
    opt.step()
    torch.testing.assert_close(w.detach(), -1e-2 * w.grad.sign(), rtol=1e-4, atol=0)


def test_adam_with_l2_shrinks_a_gradient_free_weight_smoothly():
    w = torch.ones(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.01, weight_decay=0.01)
    path = []
    for t in range(500):
        w.grad = torch.tensor([10.0 if t % 2 == 0 else -10.0, 0.0], dtype=torch.float64)
        opt.step()
        path.append(w[1].item())
    assert round(path[99], 3) == 0.224 and round(path[199], 3) == 0.016
    assert all(b < a for a, b in zip(path[:300], path[1:300]))
    first_negative = next(t + 1 for t, v in enumerate(path) if v < 0)
    assert first_negative == 353 and max(abs(v) for v in path[352:]) < 3e-6


def test_not_every_scheduler_chains_by_multiplying():
    S = torch.optim.lr_scheduler
    # LambdaLR overwrites a warm-up's rate
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    S.LinearLR(opt, start_factor=0.1, total_iters=10)
    S.LambdaLR(opt, lambda t: 1.0)
    assert math.isclose(opt.param_groups[0]["lr"], 0.1)
    # a cosine with eta_min > 0 is not a factor: chained with a warm-up, epoch 10 is not the product
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    chained = S.ChainedScheduler([S.LinearLR(opt, start_factor=0.1, total_iters=10),
                                  S.CosineAnnealingLR(opt, T_max=20, eta_min=0.05)])
    for _ in range(10):
        opt.step()
        chained.step()
    product = 0.1 * (0.05 / 0.1 + (1 - 0.05 / 0.1) * (1 + math.cos(math.pi * 10 / 20)) / 2)
    assert not math.isclose(opt.param_groups[0]["lr"], product, rel_tol=1e-6)
    # SequentialLR runs the warm-up, then the cosine from the full rate
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sequential = S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.1, total_iters=10),
                                      S.CosineAnnealingLR(opt, T_max=90)], milestones=[10])
    rates = []
    for _ in range(56):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sequential.step()
    assert math.isclose(rates[0], 0.01) and math.isclose(rates[10], 0.1)
    assert math.isclose(rates[55], 0.05)


def test_multisteplr_counts_a_repeated_milestone_twice():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(opt, [5, 5, 8], gamma=0.5)
    for _ in range(6):
        opt.step()
        scheduler.step()
    assert opt.param_groups[0]["lr"] == 0.25


def test_amsgrad_divides_the_max_of_the_raw_v_by_the_current_bias_correction():
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w], lr=1e-3, amsgrad=True)
    m = v = v_max = expected = 0.0
    for t, g in enumerate([10.0, 0.1, 0.1, 0.1], start=1):
        w.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        v_max = max(v_max, v)
        expected -= 1e-3 * m / (1 - 0.9**t) / (math.sqrt(v_max / (1 - 0.999**t)) + 1e-8)
    assert math.isclose(w.item(), expected, rel_tol=1e-10)


# Chapter 6, after its second read

def _amsgrad_step_sizes(burst_at, steps, report):
    """torch's AMSGrad (lr 1e-3): the size of the steps in ``report``, gradients 0.1 and one 10."""
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w], lr=1e-3, amsgrad=True)
    sizes = {}
    for t in range(1, steps + 1):
        before = w.item()
        w.grad = torch.tensor([10.0 if t == burst_at else 0.1], dtype=torch.float64)
        opt.step()
        if t in report:
            sizes[t] = before - w.item()
    return sizes


def test_amsgrads_step_grows_back_after_an_early_burst_and_stays_small_after_a_late_one():
    early = _amsgrad_step_sizes(1, 3000, (100, 3000))
    assert round(early[100], 6) == 9.8e-5 and round(early[3000], 5) == 3.1e-4
    late = _amsgrad_step_sizes(8000, 11000, (8100, 9000, 11000))
    assert all(round(size, 5) == 3.0e-4 for size in late.values())


@pytest.mark.parametrize("nesterov, stable, unstable", [(False, 0.1899, 0.1901),
                                                        (True, 0.0678, 0.0680)])
def test_momentum_09_on_curvature_20_is_stable_below_019_and_nesterov_below_0068(
        nesterov, stable, unstable):
    def final(lr):
        x = torch.ones(1, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([x], lr=lr, momentum=0.9, nesterov=nesterov)
        for _ in range(20000):
            x.grad = 20 * x.detach()
            opt.step()
        return abs(x.item())
    assert final(stable) < 1e-3
    assert not final(unstable) < 1e3


def test_a_chained_cosine_multiplies_only_up_to_t_max():
    S = torch.optim.lr_scheduler
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    chained = S.ChainedScheduler([S.ConstantLR(opt, factor=0.5, total_iters=100),
                                  S.CosineAnnealingLR(opt, T_max=10)])
    rates = []
    for _ in range(21):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        chained.step()
    product = [0.5 * (1 + math.cos(math.pi * t / 10)) / 2 for t in range(21)]
    assert rates[:11] == pytest.approx(product[:11], abs=1e-12)
    assert rates[20] == pytest.approx(1.0) and product[20] == pytest.approx(0.5)


# --- Chapter 7: regularization ---

def _linear_pair(seed=1):
    torch.manual_seed(seed)
    a, b = torch.nn.Linear(6, 3), torch.nn.Linear(6, 3)
    b.load_state_dict(a.state_dict())
    return a, b


def _steps(model, optimizer, x, y, steps, lam_in_loss=0.0):
    for _ in range(steps):
        optimizer.zero_grad()
        penalty = sum((p ** 2).sum() for p in model.parameters()) / 2
        loss = torch.nn.functional.cross_entropy(model(x), y) + lam_in_loss * penalty
        loss.backward()
        optimizer.step()
    return torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.mark.parametrize("optimizer", [torch.optim.SGD, torch.optim.Adam])
def test_weight_decay_of_sgd_and_adam_is_the_l2_penalty_in_the_loss(optimizer):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(20, 6, generator=g), torch.randint(0, 3, (20,), generator=g)
    a, b = _linear_pair()
    lr = 0.1 if optimizer is torch.optim.SGD else 1e-2
    torch.testing.assert_close(_steps(a, optimizer(a.parameters(), lr=lr), x, y, 25, 0.05),
                               _steps(b, optimizer(b.parameters(), lr=lr, weight_decay=0.05), x, y, 25))


def test_sgd_weight_decay_shrinks_by_one_minus_lr_lambda_but_adams_does_not():
    w = torch.nn.Parameter(torch.tensor([2.0, -4.0, 0.01]))
    opt = torch.optim.SGD([w], lr=0.1, weight_decay=0.01)
    w.grad = torch.zeros(3)
    opt.step()
    torch.testing.assert_close(w.detach(), torch.tensor([2.0, -4.0, 0.01]) * 0.999)
    for lam in (1e-4, 1e-1):  # Adam's first step moves by about lr, whatever lambda
        v = torch.nn.Parameter(torch.tensor([2.0, -4.0, 0.01]))
        opt = torch.optim.Adam([v], lr=1e-3, weight_decay=lam)
        v.grad = torch.zeros(3)
        opt.step()
        moved = (v.detach() - torch.tensor([2.0, -4.0, 0.01])).abs()
        assert (moved > 0.99e-3).all() and (moved < 1.001e-3).all()
    w = torch.nn.Parameter(torch.tensor([2.0, -4.0, 0.01]))   # AdamW: decoupled, a true shrink
    opt = torch.optim.AdamW([w], lr=1e-3, weight_decay=1e-1)
    w.grad = torch.zeros(3)
    opt.step()
    torch.testing.assert_close(w.detach(), torch.tensor([2.0, -4.0, 0.01]) * (1 - 1e-4))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_scales_survivors_by_one_over_keep_and_keeps_the_mean(p):
    torch.manual_seed(0)
    x = torch.rand(400_000) + 0.5
    out = torch.nn.Dropout(p)(x)
    kept = out != 0
    torch.testing.assert_close(out[kept], x[kept] / (1 - p))
    assert abs((1 - kept.float().mean().item()) - p) < 4 * math.sqrt(p * (1 - p) / len(x))
    std = math.sqrt(p / (1 - p)) * x.pow(2).mean().sqrt().item()
    assert abs(out.mean().item() - x.mean().item()) < 4 * std / math.sqrt(len(x))
    drop = torch.nn.Dropout(p).eval()
    assert drop(x) is x


def test_batch_norm_refuses_one_value_per_channel_only_in_training():
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        torch.nn.BatchNorm1d(4)(torch.randn(1, 4))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        torch.nn.BatchNorm1d(4)(torch.randn(1, 4, 1))
    torch.nn.BatchNorm1d(4)(torch.randn(1, 4, 2))         # 2 values per channel: fine
    torch.nn.BatchNorm1d(4).eval()(torch.randn(1, 4))


def test_batch_norm_running_variance_is_unbiased_and_normalization_biased():
    torch.manual_seed(0)
    z = torch.randn(6, 3) * 4 + 1
    bn = torch.nn.BatchNorm1d(3)
    y = bn(z)
    torch.testing.assert_close(y, (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + 1e-5))
    torch.testing.assert_close(bn.running_var, 0.9 + 0.1 * z.var(0, unbiased=True))
    torch.testing.assert_close(bn.running_mean, 0.1 * z.mean(0))


def test_weight_decay_reaches_batch_norm_scale_and_biases():
    bn = torch.nn.BatchNorm1d(3)
    opt = torch.optim.SGD(bn.parameters(), lr=0.1, weight_decay=0.5)
    bn.weight.grad, bn.bias.grad = torch.zeros(3), torch.zeros(3)
    opt.step()
    torch.testing.assert_close(bn.weight.detach(), torch.full((3,), 0.95))


def test_inverted_dropout_before_a_linear_output_adds_variance_p_over_1_minus_p_sum_w2h2():
    torch.manual_seed(0)
    p, h, w = 0.5, torch.tensor([1.0, 2.0, -1.0, 0.5]), torch.tensor([0.3, -0.2, 0.5, 1.0])
    outputs = torch.nn.Dropout(p)(h.expand(400_000, 4)) @ w
    variance = p / (1 - p) * (w ** 2 * h ** 2).sum()
    torch.testing.assert_close(outputs.var(), variance, rtol=0.02, atol=0)
    assert abs(outputs.mean() - h @ w) < 4 * (variance / 400_000).sqrt()


def test_parameter_groups_keep_biases_and_batch_norm_parameters_from_decaying():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6), torch.nn.ReLU(),
                              torch.nn.Linear(6, 2))
    decay = [q for q in net.parameters() if q.dim() >= 2]
    no_decay = [q for q in net.parameters() if q.dim() < 2]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 0.01},
                           {"params": no_decay, "weight_decay": 0.0}], lr=0.1)
    before = [q.detach().clone() for q in net.parameters()]
    for q in net.parameters():
        q.grad = torch.zeros_like(q)
    opt.step()
    for q, old in zip(net.parameters(), before):
        if q.dim() >= 2:
            torch.testing.assert_close(q.detach(), old * (1 - 0.1 * 0.01))
        else:
            assert torch.equal(q.detach(), old)


def test_batch_norm_output_ignores_the_scale_of_its_input_in_training_mode():
    torch.manual_seed(0)
    bn, z = torch.nn.BatchNorm1d(5), torch.randn(50, 5)
    torch.testing.assert_close(bn(3 * z), bn(z), rtol=0, atol=1e-4)


def test_batch_norm_output_spread_is_set_by_gamma_and_beta_in_training_mode():
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm1d(64)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5), bn.bias.normal_(0, 0.3)
    y = bn(torch.randn(500, 64) * 4 + 2)
    predicted = ((bn.weight ** 2).mean() + bn.bias.var(unbiased=False)).sqrt()
    torch.testing.assert_close(y.std(), predicted.detach(), rtol=0.01, atol=0)


def test_after_a_nonlinear_layer_the_eval_prediction_is_not_the_train_mode_mean():
    torch.manual_seed(0)
    h = torch.tensor([1.0, 2.0, -1.0, 0.5])
    head = torch.nn.Sequential(torch.nn.Dropout(0.5), torch.nn.Linear(4, 8), torch.nn.Tanh(),
                               torch.nn.Linear(8, 1))
    with torch.no_grad():
        train = head(h.expand(400_000, 4))
        head.eval()
        prediction = head(h).squeeze()
    assert (prediction - train.mean()).abs() > 20 * train.std() / 400_000 ** 0.5


def test_adamw_first_step_on_a_zero_gradient_is_exactly_the_decoupled_shrink():
    w = torch.nn.Parameter(torch.tensor([0.1, -0.05, 0.12]))
    opt = torch.optim.AdamW([w], lr=1e-3, weight_decay=3.0)
    w.grad = torch.zeros(3)
    opt.step()
    torch.testing.assert_close(w.detach(), torch.tensor([0.1, -0.05, 0.12]) * (1 - 3e-3))


# Chapter 7: batch norm ignores the scale of the weight matrix before it

def test_scaling_the_weight_matrix_before_batch_norm_changes_nothing_in_training_mode():
    """Chapter 7: W → 3W (bias unchanged) leaves BN(Wx + b) unchanged up to eps, because the
    batch mean removes b and the batch standard deviation removes the factor 3."""
    torch.manual_seed(0)
    bn, linear, x = torch.nn.BatchNorm1d(5), torch.nn.Linear(4, 5), torch.randn(50, 4)
    out = bn(linear(x))
    with torch.no_grad():
        linear.weight *= 3
    torch.testing.assert_close(bn(linear(x)), out, rtol=0, atol=1e-3)


# --- Chapter 8: tabular classification, phone prices ---

def test_cross_entropy_on_softmax_outputs_has_the_floor_log_1_plus_c_minus_1_over_e():
    """Chapter 8: CrossEntropyLoss applies log-softmax itself; fed probabilities p (a softmax
    output), its loss -p_y + log sum_k exp(p_k) is smallest at a one-hot p, log(1 + (C-1)/e)."""
    import math
    for c in (2, 4, 10):
        one_hot = torch.zeros(1, c)
        one_hot[0, 0] = 1.0
        floor = torch.nn.CrossEntropyLoss()(one_hot, torch.tensor([0]))
        assert math.isclose(floor.item(), math.log(1 + (c - 1) / math.e), rel_tol=1e-6)
        torch.manual_seed(c)
        probabilities = torch.softmax(torch.randn(1000, c) * 20, dim=1)
        losses = torch.nn.CrossEntropyLoss(reduction="none")(probabilities, torch.zeros(1000).long())
        assert losses.min() >= floor - 1e-6


def test_softmax_jacobian_entries_are_at_most_a_quarter():
    """Chapter 8: d softmax_k / d z_j = p_k (delta_kj - p_j), at most 1/4 in size."""
    torch.manual_seed(0)
    for _ in range(20):
        z = torch.randn(5) * 5
        jacobian = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, dim=0), z)
        p = torch.softmax(z, dim=0)
        torch.testing.assert_close(jacobian, torch.diag(p) - torch.outer(p, p))
        assert jacobian.abs().max() <= 0.25 + 1e-7


def test_a_seeded_dataloader_generator_continues_across_epochs():
    """Chapter 8 (nnbook.tabular.train_phones): iterating a DataLoader twice with a seeded
    generator gives two different orders, and the same two orders on every run."""
    from torch.utils.data import DataLoader, TensorDataset

    def two_epochs():
        loader = DataLoader(TensorDataset(torch.arange(20)), batch_size=20, shuffle=True,
                            generator=torch.Generator().manual_seed(0))
        return [next(iter(loader))[0].tolist() for _ in range(2)]

    first, second = two_epochs()
    assert first != second and [first, second] == two_epochs()


def test_train_and_eval_mode_agree_for_a_network_of_linear_and_relu_layers():
    """Chapter 8: modes change only layers such as dropout and batch norm."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.ReLU(), torch.nn.Linear(64, 4))
    x = torch.randn(8, 20)
    net.train()
    out = net(x)
    net.eval()
    assert torch.equal(out, net(x))


def test_state_dict_round_trip_through_a_buffer_with_weights_only():
    """Chapter 8: torch.save of a dict of tensors, torch.load(weights_only=True), load_state_dict."""
    import io
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2))
    buffer = io.BytesIO()
    torch.save({"model": net.state_dict(), "mean": torch.ones(3)}, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)
    other = torch.nn.Sequential(torch.nn.Linear(3, 2))
    other.load_state_dict(loaded["model"])
    x = torch.randn(4, 3)
    assert torch.equal(other(x), net(x)) and torch.equal(loaded["mean"], torch.ones(3))


def test_one_hot_counts_in_float64_are_exact_and_equal_the_integer_product():
    # set 8, q2's solution: CUDA has no integer matrix product, so the 0/1 tables are float64,
    # whose sums of 0/1 products are exact integers (up to 2**53)
    g = torch.Generator().manual_seed(8)
    t, p = torch.randint(0, 4, (1000,), generator=g), torch.randint(0, 4, (1000,), generator=g)
    one = torch.nn.functional.one_hot
    as_int = one(t, 4).T @ one(p, 4)
    as_float = (one(t, 4).double().T @ one(p, 4).double()).round().long()
    assert torch.equal(as_int, as_float)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_the_float64_one_hot_counts_run_on_cuda():
    # an int64 matmul on CUDA raised "addmm_cuda" not implemented for 'Long' (pytorch/pytorch#44428)
    t = torch.tensor([0, 1, 2, 2], device="cuda")
    one = torch.nn.functional.one_hot(t, 3).double()
    assert torch.equal((one.T @ one).round().long().cpu(), torch.diag(torch.tensor([1, 1, 2])))


# --- Chapter 9: handwritten digits, and the GPU ---

def test_tensor_to_returns_a_copy_and_module_to_moves_in_place():
    """Chapter 9: a tensor's .to(another device) leaves the original where it was; a module's .to moves
    its own parameters and returns the same module (the meta device stands in for a GPU)."""
    x = torch.ones(2, 3)
    moved = x.to("meta")
    assert x.device.type == "cpu" and moved.device.type == "meta" and moved.shape == x.shape
    model = torch.nn.Linear(3, 2)
    assert model.to("meta") is model and model.weight.device.type == "meta"


def test_to_on_the_same_device_returns_the_tensor_itself_and_module_to_keeps_its_parameters():
    """Chapter 9: .to returns the tensor itself when it is already on the device; Module.to keeps
    the same Parameter objects for a dtype change (and CPU to GPU, checked when a GPU is present),
    so an optimizer made before it still holds them."""
    x = torch.ones(2, 3)
    assert x.to("cpu") is x and x.to("meta") is not x
    model = torch.nn.Linear(3, 2)
    weight = model.weight
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.to(torch.float64)
    assert model.weight is weight and optimizer.param_groups[0]["params"][0] is model.weight
    assert model.weight.dtype == torch.float64
    if torch.cuda.is_available():
        model.to("cuda")
        assert model.weight is weight and model.weight.device.type == "cuda"


def test_optimizer_state_made_before_a_dtype_change_stays_behind():
    """Chapter 9: Adam's state, created by a step before model.to(...), keeps the old dtype, and
    the next step fails; an optimizer made after the change works."""
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    model.to(torch.float64)
    optimizer.zero_grad()
    model(torch.randn(4, 3, dtype=torch.float64)).sum().backward()
    with pytest.raises(RuntimeError):
        optimizer.step()
    fresh = torch.optim.Adam(model.parameters(), lr=1e-3)
    fresh.step()


def test_the_2nn_of_mcmahan_has_199_210_parameters():
    """Chapter 9: 784 -> 200 -> 200 -> 10 has 199,210 parameters (the "2NN" of McMahan et al.)."""
    net = torch.nn.Sequential(torch.nn.Linear(784, 200), torch.nn.ReLU(), torch.nn.Linear(200, 200),
                              torch.nn.ReLU(), torch.nn.Linear(200, 10))
    assert sum(p.numel() for p in net.parameters()) == 199_210


def test_relu_on_logits_passes_no_gradient_to_a_negative_logit():
    """Chapter 9: ReLU's derivative is 0 for negative inputs, so a negative true-class logit gets
    no gradient; with all logits negative, no logit gets any and the loss is ln 10."""
    logits = torch.tensor([[-1.0, 2.0, -0.5]], requires_grad=True)
    torch.nn.functional.cross_entropy(torch.relu(logits), torch.tensor([0])).backward()
    assert logits.grad[0, 0] == 0 and logits.grad[0, 2] == 0 and logits.grad[0, 1] != 0
    logits = -torch.rand(1, 10) - 0.1
    logits.requires_grad_()
    loss = torch.nn.functional.cross_entropy(torch.relu(logits), torch.tensor([3]))
    loss.backward()
    assert torch.equal(logits.grad, torch.zeros(1, 10))
    torch.testing.assert_close(loss, torch.log(torch.tensor(10.0)))


def test_a_seeded_dataloader_reshuffles_every_epoch_and_repeats_from_the_same_seed():
    """Chapter 9: shuffle=True draws a new order each epoch from the generator."""
    from torch.utils.data import DataLoader, TensorDataset
    data = TensorDataset(torch.arange(20))

    def orders(seed):
        loader = DataLoader(data, batch_size=20, shuffle=True,
                            generator=torch.Generator().manual_seed(seed))
        return [next(iter(loader))[0].tolist() for _ in range(2)]

    first, second = orders(0)
    assert first != second and orders(0) == [first, second]


def test_summary_writer_writes_event_files(tmp_path):
    """Chapter 9: torch.utils.tensorboard.SummaryWriter (needs the tensorboard package) writes
    TensorBoard event files into its log_dir."""
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter
    with SummaryWriter(log_dir=str(tmp_path)) as writer:
        writer.add_scalar("loss", 0.5, 1)
    assert list(tmp_path.glob("events.out.tfevents*"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_non_blocking_copies_from_pinned_memory_arrive_intact():
    """Chapter 9: a pinned batch copied with non_blocking=True holds the same numbers on the GPU
    once the stream is synchronized."""
    x = torch.randn(64, 64).pin_memory()
    assert x.is_pinned()
    y = x.to("cuda", non_blocking=True)
    torch.cuda.synchronize()
    assert torch.equal(y.cpu(), x)


def test_map_location_cpu_loads_every_tensor_onto_the_cpu(tmp_path):
    """Chapter 9: torch.load(path, map_location="cpu") puts every tensor of a saved state dict on
    the CPU (a GPU-saved one too, checked when a GPU is present), and load_state_dict copies them in."""
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for where in devices:
        model = torch.nn.Linear(3, 2).to(where)
        torch.save(model.state_dict(), tmp_path / f"{where}.pt")
        state = torch.load(tmp_path / f"{where}.pt", map_location="cpu")
        assert all(t.device.type == "cpu" for t in state.values())
        copy = torch.nn.Linear(3, 2)
        copy.load_state_dict(state)
        assert torch.equal(copy.weight, model.weight.cpu())


def test_relu_commutes_with_a_positive_factor_so_kaiming_counts_agree():
    """Chapter 9: max(0, cz) = c max(0, z) for c > 0, so a factor sqrt(2) on the first layer's
    weights or on the last layer's gives the same logits (Chapter 3's count and PyTorch's)."""
    z = torch.randn(100, 5)
    assert torch.equal(torch.relu(3.0 * z), 3.0 * torch.relu(z))
