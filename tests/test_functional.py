"""nnbook.functional equals torch.nn.functional: values, autograd gradients, hand-written
derivatives, and the errors raised on bad input."""

import functools
import math

import pytest
import torch
import torch.nn.functional as TF

import nnbook.functional as F

DTYPES = [torch.float64, torch.float32]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def close(actual, expected, **kwargs):
    """float64: agree to ~1e-12; float32: torch.testing.assert_close defaults."""
    if expected.dtype == torch.float64:
        kwargs = {"rtol": 1e-12, "atol": 1e-12, **kwargs}
    torch.testing.assert_close(actual, expected, **kwargs)


def assert_matches_torch(ours, theirs, *inputs, grad_wrt=(0,), equal_nan=False, upstream=None):
    """Same output, and same gradients for inputs in grad_wrt: of a random upstream gradient, or
    of ``upstream`` (at boundaries, ones give each element's own derivative, which a random
    factor times a huge partial result could overflow in one library and not the other)."""
    def fresh(i, x):
        return x.detach().clone().requires_grad_(i in grad_wrt)

    ours_in = [fresh(i, x) for i, x in enumerate(inputs)]
    theirs_in = [fresh(i, x) for i, x in enumerate(inputs)]
    ours_out, theirs_out = ours(*ours_in), theirs(*theirs_in)
    close(ours_out, theirs_out, equal_nan=equal_nan)
    if upstream is None:
        upstream = torch.randn_like(theirs_out)  # random, so that every output entry matters
    wrt = list(grad_wrt)
    ours_grads = torch.autograd.grad(ours_out, [ours_in[i] for i in wrt], upstream)
    theirs_grads = torch.autograd.grad(theirs_out, [theirs_in[i] for i in wrt], upstream)
    for mine, reference in zip(ours_grads, theirs_grads):
        close(mine, reference, equal_nan=equal_nan)


# --------------------------------------------------------------------------- activations

ACTIVATIONS = {
    "sigmoid": (F.sigmoid, torch.sigmoid, F.sigmoid_grad),
    "tanh": (F.tanh, torch.tanh, F.tanh_grad),
    "relu": (F.relu, torch.relu, F.relu_grad),
    "leaky_relu": (F.leaky_relu, TF.leaky_relu, F.leaky_relu_grad),
    "leaky_relu_0.2": (functools.partial(F.leaky_relu, negative_slope=0.2),
                       functools.partial(TF.leaky_relu, negative_slope=0.2),
                       functools.partial(F.leaky_relu_grad, negative_slope=0.2)),
}

# Kinks, tiny values (where naive tanh loses digits) and values that overflow a naive exp().
SPECIAL = [0.0, 1e-9, -1e-9, 0.5, -0.5, 20.0, -20.0, 40.0, -40.0, 100.0, -100.0, 1000.0, -1000.0]


def activation_inputs(dtype, device):
    x = torch.cat([torch.randn(500, dtype=torch.float64) * 4, torch.tensor(SPECIAL)])
    return x.to(dtype=dtype, device=device)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_and_its_autograd_gradient_match_torch(name, dtype, device):
    ours, theirs, _ = ACTIVATIONS[name]
    assert_matches_torch(ours, theirs, activation_inputs(dtype, device))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_hand_written_derivative_equals_autograd(name, dtype, device):
    _, theirs, derivative = ACTIVATIONS[name]
    x = activation_inputs(dtype, device).requires_grad_()
    expected, = torch.autograd.grad(theirs(x).sum(), x)  # elementwise, so sum() gives f'(x)
    close(derivative(x.detach()), expected)


def boundary_values(dtype):
    """Exact kinks and the edges of the number line: signed zeros, +-inf, nan, the largest finite
    values, the smallest normal and subnormal numbers, and tiny values."""
    info = torch.finfo(dtype)
    smallest_subnormal = info.tiny * info.eps
    values = [0.0, -0.0, float("inf"), -float("inf"), float("nan"), info.max, -info.max,
              info.tiny, -info.tiny, smallest_subnormal, -smallest_subnormal, 1e-30, -1e-30]
    return torch.tensor(values, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_values_and_gradients_at_boundaries_match_torch(name, dtype, device):
    # Each element on its own, so that a nan gradient at one point cannot hide another's.
    ours, theirs, derivative = ACTIVATIONS[name]
    x = boundary_values(dtype).to(device)
    assert_matches_torch(ours, theirs, x, equal_nan=True)
    leaf = x.clone().requires_grad_()
    expected, = torch.autograd.grad(theirs(leaf).sum(), leaf)
    close(derivative(x), expected, equal_nan=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_derivative_at_zero_is_exact_whatever_torch_does_at_clamp_bounds(name, dtype, device):
    # The values written out by hand: sigma'(0) = 1/4, tanh'(0) = 1. Our forward passes must not
    # route x through clamp(), whose gradient at its bound changed in torch 2.14 (from 1 to 0).
    ours, _, _ = ACTIVATIONS[name]
    x = torch.zeros(3, dtype=dtype, device=device, requires_grad=True)
    grad, = torch.autograd.grad(ours(x).sum(), x)
    assert grad.tolist() == [0.25 if name == "sigmoid" else 1.0] * 3


def ulps(dtype, count=4):
    return count * torch.finfo(dtype).eps


@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_keeps_full_relative_precision_for_tiny_inputs(dtype, device):
    # For |x| < eps^(1/2), tanh(x) = x - x^3/3 + ... rounds to x itself: the reference is x, and
    # the tolerance is relative (a few ulps). (e^{2x} - 1)/(e^{2x} + 1) written naively loses
    # about eps/|x| relative accuracy here, which an absolute tolerance would not notice.
    exponents = torch.arange(-30, -3, dtype=torch.float64) if dtype == torch.float32 \
        else torch.arange(-300, -8, 7, dtype=torch.float64)
    x = torch.cat([10.0**exponents, -(10.0**exponents)]).to(dtype=dtype, device=device)
    torch.testing.assert_close(F.tanh(x), x, rtol=ulps(dtype), atol=0)
    torch.testing.assert_close(F.tanh(x), torch.tanh(x), rtol=ulps(dtype), atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_keeps_full_relative_precision_far_left(dtype, device):
    # sigma(x) = e^x / (1 + e^x) for x < 0: tiny values keep every digit (1 - sigma(-x) would not).
    # Reference: the same formula in float64 by Python's math module, rounded once to dtype.
    lowest = -80.0 if dtype == torch.float32 else -700.0
    points = [lowest, lowest / 2, -40.0, -20.0, -5.0, -1e-3]
    reference = torch.tensor([math.exp(v) / (1 + math.exp(v)) for v in points],
                             dtype=torch.float64).to(dtype)
    x = torch.tensor(points, dtype=dtype, device=device)
    torch.testing.assert_close(F.sigmoid(x), reference.to(device), rtol=ulps(dtype), atol=0)


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_saturating_activations_stay_finite_with_finite_gradients(name, device):
    ours, _, _ = ACTIVATIONS[name]
    x = torch.tensor([-1e4, -1000.0, 1000.0, 1e4], dtype=torch.float64, device=device,
                     requires_grad=True)
    y = ours(x)
    grad, = torch.autograd.grad(y.sum(), x)
    assert torch.isfinite(y).all() and torch.isfinite(grad).all()


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_propagate_nan_like_torch(name, device):
    ours, theirs, _ = ACTIVATIONS[name]
    x = torch.tensor([float("nan"), 1.0, -1.0], dtype=torch.float64, device=device)
    close(ours(x), theirs(x), equal_nan=True)


def test_kinks_use_torchs_convention(device):
    zero = torch.zeros(1, dtype=torch.float64, device=device)
    assert F.relu_grad(zero).item() == 0.0
    assert F.leaky_relu_grad(zero, 0.2).item() == 0.2


@pytest.mark.parametrize("ours,theirs", [(F.relu, TF.relu), (F.leaky_relu, TF.leaky_relu)])
def test_inplace_variants_overwrite_their_input(ours, theirs, device):
    x = torch.randn(10, dtype=torch.float64, device=device)
    mine, reference = x.clone(), x.clone()
    result = ours(mine, inplace=True)
    theirs(reference, inplace=True)
    assert result is mine
    close(mine, reference)


# --------------------------------------------------------------------------- softmax

def softmax_inputs(dtype, device):
    x = torch.randn(4, 5, 3, dtype=torch.float64) * 3
    x[0, :, 0] = torch.tensor([1000.0, 0.0, -1000.0, 999.0, 1.0])  # would overflow naive exp()
    x[1] += 5000.0  # a large offset shared by a whole slice
    return x.to(dtype=dtype, device=device)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("which", ["softmax", "log_softmax"])
def test_softmax_and_log_softmax_match_torch(which, dim, dtype, device):
    ours, theirs = getattr(F, which), getattr(torch, which)
    x = softmax_inputs(dtype, device)
    assert_matches_torch(lambda t: ours(t, dim), lambda t: theirs(t, dim), x)
    assert torch.isfinite(ours(x, dim)).all()


@pytest.mark.parametrize("which", ["softmax", "log_softmax"])
def test_softmax_dtype_argument_casts_first(which, device):
    x = torch.randn(3, 4, device=device)
    result = getattr(F, which)(x, 1, dtype=torch.float64)
    assert result.dtype == torch.float64
    close(result, getattr(TF, which)(x, 1, dtype=torch.float64))


@pytest.mark.parametrize("shape", [(), (4,), (3, 4), (2, 3, 4), (2, 3, 4, 5)])
def test_softmax_without_dim_warns_and_picks_torchs_dimension(shape, device):
    # torch's rule: dim 0 for 0-d, 1-d and 3-d input, else dim 1 (a 0-d input gives 1.0).
    x = torch.randn(shape, dtype=torch.float64, device=device)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        ours = F.softmax(x)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        theirs = TF.softmax(x)
    close(ours, theirs)


def test_softmax_jacobian_equals_autograd_jacobian(device):
    x = torch.randn(3, 5, dtype=torch.float64, device=device)
    jacobians = F.softmax_jacobian(x)
    assert jacobians.shape == (3, 5, 5)
    for row, jacobian in zip(x, jacobians):
        expected = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, 0), row)
        close(jacobian, expected)


@pytest.mark.parametrize("dim", [0, 1])
def test_softmax_jvp_is_the_backward_pass_of_softmax(dim, device):
    x = torch.randn(4, 6, dtype=torch.float64, device=device, requires_grad=True)
    v = torch.randn(4, 6, dtype=torch.float64, device=device)
    expected, = torch.autograd.grad(torch.softmax(x, dim), x, v)
    close(F.softmax_jvp(x.detach(), v, dim), expected)


def test_softmax_jvp_rejects_a_vector_of_another_shape(device):
    with pytest.raises(ValueError, match="vector shape"):
        F.softmax_jvp(torch.randn(3, 4, device=device), torch.randn(4, 3, device=device))


# --------------------------------------------------------------------------- cross-entropy

SHAPES = [(5,), (6, 5), (4, 5, 3), (3, 5, 2, 2)]  # (C,), (N, C), (N, C, d1), (N, C, d1, d2)
REDUCTIONS = ["none", "mean", "sum"]
IGNORED_CLASS = 2  # a real class, so ignoring it must change the result


def class_targets(shape, ignore, device):
    target_shape = () if len(shape) == 1 else (shape[0], *shape[2:])
    target = torch.randint(0, shape[0 if len(shape) == 1 else 1], target_shape)
    if ignore and len(shape) > 1:
        target.view(-1)[::3] = IGNORED_CLASS
    return target.to(device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("ignore", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_cross_entropy_with_class_indices_matches_torch(shape, weighted, ignore, label_smoothing,
                                                        reduction, device):
    x = torch.randn(shape, dtype=torch.float64, device=device) * 3
    target = class_targets(shape, ignore, device)
    classes = shape[0 if len(shape) == 1 else 1]
    weight = torch.rand(classes, dtype=torch.float64, device=device) + 0.5 if weighted else None
    options = dict(ignore_index=IGNORED_CLASS if ignore else -100, reduction=reduction,
                   label_smoothing=label_smoothing)
    assert_matches_torch(lambda a: F.cross_entropy(a, target, weight, **options),
                         lambda a: TF.cross_entropy(a, target, weight, **options), x)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_cross_entropy_with_class_probabilities_matches_torch(shape, weighted, label_smoothing,
                                                              reduction, device):
    class_dim = 0 if len(shape) == 1 else 1
    x = torch.randn(shape, dtype=torch.float64, device=device)
    probabilities = torch.softmax(torch.randn(shape, dtype=torch.float64, device=device), class_dim)
    weight = (torch.rand(shape[class_dim], dtype=torch.float64, device=device) + 0.5
              if weighted else None)
    options = dict(reduction=reduction, label_smoothing=label_smoothing)
    assert_matches_torch(lambda a, q: F.cross_entropy(a, q, weight, **options),
                         lambda a, q: TF.cross_entropy(a, q, weight, **options),
                         x, probabilities, grad_wrt=(0, 1))


def test_cross_entropy_float32_matches_torch(device):
    x = torch.randn(8, 5, device=device) * 3
    target = torch.randint(0, 5, (8,), device=device)
    weight = torch.rand(5, device=device) + 0.5
    assert_matches_torch(lambda a: F.cross_entropy(a, target, weight, label_smoothing=0.1),
                         lambda a: TF.cross_entropy(a, target, weight, label_smoothing=0.1), x)


def test_cross_entropy_is_finite_for_huge_logits(device):
    x = torch.tensor([[1e4, -1e4, 0.0], [-5e3, 5e3, 5e3]], dtype=torch.float64, device=device)
    target = torch.tensor([1, 0], device=device)
    assert_matches_torch(lambda a: F.cross_entropy(a, target),
                         lambda a: TF.cross_entropy(a, target), x)
    assert torch.isfinite(F.cross_entropy(x, target))


def test_cross_entropy_accepts_uint8_targets_like_torch(device):
    x = torch.randn(4, 3, dtype=torch.float64, device=device)
    target = torch.tensor([0, 2, 1, 2], dtype=torch.uint8, device=device)
    close(F.cross_entropy(x, target), TF.cross_entropy(x, target))


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy_is_nan_when_every_target_is_ignored(label_smoothing, device):
    x = torch.randn(3, 4, dtype=torch.float64, device=device)
    target = torch.full((3,), -100, device=device)
    assert torch.isnan(F.cross_entropy(x, target, label_smoothing=label_smoothing))
    assert torch.isnan(TF.cross_entropy(x, target, label_smoothing=label_smoothing))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(6, 5), (4, 5, 3)])
def test_nll_loss_matches_torch_on_any_input(shape, weighted, reduction, device):
    x = torch.randn(shape, dtype=torch.float64, device=device)  # need not be log-probabilities
    target = class_targets(shape, ignore=True, device=device)
    weight = torch.rand(5, dtype=torch.float64, device=device) + 0.5 if weighted else None
    options = dict(ignore_index=IGNORED_CLASS, reduction=reduction)
    assert_matches_torch(lambda a: F.nll_loss(a, target, weight, **options),
                         lambda a: TF.nll_loss(a, target, weight, **options), x)


# --------------------------------------------------------------------------- binary

def probabilities_and_targets(device, dtype=torch.float64):
    p = (torch.rand(6, 4, dtype=torch.float64) * 0.98 + 0.01).to(dtype=dtype, device=device)
    y = torch.rand(6, 4, dtype=torch.float64).to(dtype=dtype, device=device)  # soft labels too
    return p, y


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, (6, 4), (4,)])
def test_binary_cross_entropy_matches_torch(weight_shape, reduction, device):
    p, y = probabilities_and_targets(device)
    weight = (None if weight_shape is None
              else torch.rand(weight_shape, dtype=torch.float64, device=device))
    assert_matches_torch(lambda a, b: F.binary_cross_entropy(a, b, weight, reduction=reduction),
                         lambda a, b: TF.binary_cross_entropy(a, b, weight, reduction=reduction),
                         p, y, grad_wrt=(0, 1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_at_saturated_probabilities_matches_torch(dtype, device):
    # Exact 0 and 1 (a float32 sigmoid returns them for |x| > ~17 and ~104): the log is clamped
    # at -100 and PyTorch's gradient caps its denominator at 1e-12; ours must do the same.
    p = torch.tensor([0.0, 0.0, 1.0, 1.0, 1e-30, 1 - 1e-7, 0.5], dtype=dtype, device=device)
    y = torch.tensor([0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0], dtype=dtype, device=device)
    assert_matches_torch(lambda a: F.binary_cross_entropy(a, y, reduction="none"),
                         lambda a: TF.binary_cross_entropy(a, y, reduction="none"), p)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weighted", [False, True])
def test_binary_cross_entropy_with_logits_matches_torch(pos_weighted, weighted, reduction, dtype,
                                                        device):
    x = torch.randn(6, 4, dtype=torch.float64) * 5
    x[0] = torch.tensor([1000.0, -1000.0, 50.0, -50.0])  # a naive sigmoid/log would overflow
    x = x.to(dtype=dtype, device=device)
    y = torch.rand(6, 4, dtype=dtype, device=device)
    weight = torch.rand(6, 4, dtype=dtype, device=device) if weighted else None
    pos_weight = torch.rand(4, dtype=dtype, device=device) * 3 if pos_weighted else None
    options = dict(reduction=reduction, pos_weight=pos_weight)
    assert_matches_torch(lambda a, b: F.binary_cross_entropy_with_logits(a, b, weight, **options),
                         lambda a, b: TF.binary_cross_entropy_with_logits(a, b, weight, **options),
                         x, y, grad_wrt=(0, 1))
    assert torch.isfinite(F.binary_cross_entropy_with_logits(x, y, weight, **options)).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pos_weighted", [False, True])
def test_binary_cross_entropy_with_logits_at_boundaries_matches_torch(pos_weighted, dtype, device):
    # Logit 0 exactly (what a zero-initialised output layer gives), +-0, +-inf, nan, the largest
    # finite logits and tiny ones, each against targets 0, 1 and 1/2.
    logits = boundary_values(dtype).to(device)
    x = logits.repeat_interleave(3)
    y = torch.tensor([0.0, 1.0, 0.5], dtype=dtype, device=device).repeat(len(logits))
    pos_weight = torch.tensor([2.5], dtype=dtype, device=device) if pos_weighted else None
    options = dict(reduction="none", pos_weight=pos_weight)
    assert_matches_torch(lambda a, b: F.binary_cross_entropy_with_logits(a, b, **options),
                         lambda a, b: TF.binary_cross_entropy_with_logits(a, b, **options),
                         x, y, grad_wrt=(0, 1), equal_nan=True, upstream=torch.ones_like(x))


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_with_logits_gradient_at_logit_zero_is_half_minus_target(dtype,
                                                                                      device):
    # d/dx of the loss is sigma(x) - y; at x = 0 that is 1/2 - y, written out by hand.
    x = torch.zeros(3, dtype=dtype, device=device, requires_grad=True)
    y = torch.tensor([0.0, 1.0, 0.25], dtype=dtype, device=device)
    grad, = torch.autograd.grad(
        F.binary_cross_entropy_with_logits(x, y, reduction="sum"), x)
    assert grad.tolist() == [0.5, -0.5, 0.25]


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_with_logits_keeps_relative_precision_when_confident(dtype, device):
    # A confident right answer with target 1 has loss log(1 + e^{-x}) ~ e^{-x}: tiny, and every
    # digit kept (the docstring promises no more: for target 0 the precision is absolute).
    far = [5.0, 20.0, 40.0, 80.0] if dtype == torch.float32 else [5.0, 20.0, 40.0, 300.0, 700.0]
    reference = torch.tensor([math.log1p(math.exp(-v)) for v in far],
                             dtype=torch.float64).to(dtype).to(device)
    x = torch.tensor(far, dtype=dtype, device=device)
    y = torch.ones_like(x)
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    torch.testing.assert_close(loss, reference, rtol=ulps(dtype), atol=0)


def test_float32_binary_cross_entropy_matches_torch(device):
    p, y = probabilities_and_targets(device, torch.float32)
    assert_matches_torch(F.binary_cross_entropy, TF.binary_cross_entropy, p, y)


# --------------------------------------------------------------------------- regression

def regression_pair(device, dtype=torch.float64):
    x = torch.randn(5, 4, dtype=torch.float64) * 2
    y = torch.randn(5, 4, dtype=torch.float64) * 2
    y[0] = x[0] + torch.tensor([0.0, 0.5, -1.0, 2.0])  # distances exactly 0 and on the boundaries
    return x.to(dtype=dtype, device=device), y.to(dtype=dtype, device=device)


REGRESSION = {
    "mse": (F.mse_loss, TF.mse_loss, {}),
    "l1": (F.l1_loss, TF.l1_loss, {}),
    "smooth_l1_beta0": (F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.0}),
    "smooth_l1_beta0.5": (F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.5}),
    "smooth_l1": (F.smooth_l1_loss, TF.smooth_l1_loss, {}),
    "smooth_l1_beta2": (F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 2.0}),
    "huber_delta0.5": (F.huber_loss, TF.huber_loss, {"delta": 0.5}),
    "huber": (F.huber_loss, TF.huber_loss, {}),
    "huber_delta2": (F.huber_loss, TF.huber_loss, {"delta": 2.0}),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", REGRESSION)
def test_regression_loss_matches_torch(name, reduction, dtype, device):
    ours, theirs, options = REGRESSION[name]
    x, y = regression_pair(device, dtype)
    assert_matches_torch(lambda a, b: ours(a, b, reduction=reduction, **options),
                         lambda a, b: theirs(a, b, reduction=reduction, **options),
                         x, y, grad_wrt=(0, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse", "l1", "huber"])
def test_weighted_regression_loss_matches_torch(name, reduction, device):
    # mse and l1 divide a weighted 'mean' by the summed weights, huber by the element count.
    ours, theirs, options = REGRESSION[name]
    x, y = regression_pair(device)
    weight = torch.rand(5, 4, dtype=torch.float64, device=device)
    assert_matches_torch(lambda a, b: ours(a, b, reduction=reduction, weight=weight),
                         lambda a, b: theirs(a, b, reduction=reduction, weight=weight),
                         x, y, grad_wrt=(0, 1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", REGRESSION)
def test_regression_loss_at_boundaries_matches_torch(name, dtype, device):
    # Differences of exactly 0, exactly beta/delta (0.5, 1 and 2 are all used), +-inf, nan and
    # the largest finite numbers: values and gradients, element by element.
    ours, theirs, options = REGRESSION[name]
    edges = boundary_values(dtype)
    x = torch.cat([edges, torch.tensor([0.5, -1.0, 2.0, 3.0, 1.0], dtype=dtype)]).to(device)
    y = torch.cat([torch.zeros_like(edges),
                   torch.tensor([0.0, 0.0, 0.0, 1.0, 1.5], dtype=dtype)]).to(device)
    assert_matches_torch(lambda a, b: ours(a, b, reduction="none", **options),
                         lambda a, b: theirs(a, b, reduction="none", **options),
                         x, y, grad_wrt=(0, 1), equal_nan=True, upstream=torch.ones_like(x))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("which", ["cross_entropy", "softmax", "log_softmax"])
def test_softmax_family_at_boundaries_matches_torch(which, dtype, device):
    # Rows of: all-equal logits (the max is tied), +-inf, nan, the largest finite numbers, tiny.
    info = torch.finfo(dtype)
    inf, nan = float("inf"), float("nan")
    x = torch.tensor([[0.0, 0.0, 0.0], [inf, 0.0, 1.0], [-inf, 0.0, 1.0], [nan, 0.0, 1.0],
                      [info.max, -info.max, 0.0], [info.max, info.max, 0.0],
                      [info.tiny, -info.tiny, 0.0]], dtype=dtype, device=device)
    if which == "cross_entropy":
        target = torch.tensor([0, 1, 2, 1, 0, 1, 2], device=device)
        ours = lambda a: F.cross_entropy(a, target, reduction="none")  # noqa: E731
        theirs = lambda a: TF.cross_entropy(a, target, reduction="none")  # noqa: E731
    else:
        ours = lambda a: getattr(F, which)(a, dim=1)  # noqa: E731
        theirs = lambda a: getattr(TF, which)(a, dim=1)  # noqa: E731
    assert_matches_torch(ours, theirs, x, equal_nan=True)


def test_huber_loss_takes_positional_arguments_like_torch(device):
    x, y = regression_pair(device)
    close(F.huber_loss(x, y, "sum", 0.5), TF.huber_loss(x, y, "sum", 0.5))


# --------------------------------------------------------------------------- bad input

def ce_input(device, shape=(4, 3)):
    return torch.randn(shape, dtype=torch.float64, device=device)


def tensor(values, device):
    return torch.tensor(values, device=device)


# (description, call(F, device), exception, message fragment); torch raises the same exception.
# PyTorch is asked on the CPU only: on CUDA it checks targets and probabilities with device-side
# asserts, which cannot be caught and would break every later CUDA test. Ours raises on any device.
SAME_ERROR_AS_TORCH = [
    ("batch size mismatch", lambda f, d: f.cross_entropy(ce_input(d), tensor([0, 1, 2], d)),
     ValueError, "batch_size"),
    ("spatial size mismatch", lambda f, d: f.cross_entropy(ce_input(d, (2, 3, 5)),
                                                           tensor([[0] * 4] * 2, d)),
     RuntimeError, "Expected target size"),
    ("target out of range", lambda f, d: f.cross_entropy(ce_input(d), tensor([0, 3, 1, 1], d)),
     IndexError, "out of bounds"),
    ("negative target", lambda f, d: f.nll_loss(ce_input(d), tensor([0, -1, 1, 1], d)),
     IndexError, "out of bounds"),
    ("int32 target", lambda f, d: f.cross_entropy(ce_input(d), tensor([0, 1, 2, 0], d).int()),
     RuntimeError, "Long or Byte"),
    ("float class target", lambda f, d: f.cross_entropy(ce_input(d), tensor([0.0, 1, 2, 0], d)),
     RuntimeError, "Long or Byte"),
    ("weight of wrong length", lambda f, d: f.cross_entropy(
        ce_input(d), tensor([0, 1, 2, 0], d), torch.ones(4, dtype=torch.float64, device=d)),
     RuntimeError, "weight tensor"),
    ("label smoothing above 1", lambda f, d: f.cross_entropy(
        ce_input(d), tensor([0, 1, 2, 0], d), label_smoothing=1.5),
     RuntimeError, "label_smoothing"),
    ("ignore_index with probabilities", lambda f, d: f.cross_entropy(
        ce_input(d), torch.softmax(ce_input(d), 1), ignore_index=0),
     RuntimeError, "ignore_index"),
    ("integer probabilities", lambda f, d: f.cross_entropy(
        ce_input(d), torch.zeros(4, 3, dtype=torch.long, device=d)), RuntimeError, "floating"),
    ("unknown reduction", lambda f, d: f.cross_entropy(ce_input(d), tensor([0, 1, 2, 0], d),
                                                       reduction="avg"), ValueError, "reduction"),
    ("unknown reduction (mse)", lambda f, d: f.mse_loss(ce_input(d), ce_input(d),
                                                        reduction="average"),
     ValueError, "reduction"),
    ("bce probability above 1", lambda f, d: f.binary_cross_entropy(
        tensor([0.5, 1.5], d), tensor([1.0, 0.0], d)), RuntimeError, "between 0 and 1"),
    ("bce negative probability", lambda f, d: f.binary_cross_entropy(
        tensor([-0.1, 0.5], d), tensor([1.0, 0.0], d)), RuntimeError, "between 0 and 1"),
    ("bce nan probability", lambda f, d: f.binary_cross_entropy(
        tensor([float("nan"), 0.5], d), tensor([1.0, 0.0], d)), RuntimeError, "between 0 and 1"),
    ("bce target above 1", lambda f, d: f.binary_cross_entropy(
        tensor([0.5, 0.5], d), tensor([2.0, 0.0], d)), RuntimeError, "between 0 and 1"),
    ("bce size mismatch", lambda f, d: f.binary_cross_entropy(
        tensor([0.5, 0.5], d), tensor([[1.0, 0.0]], d)), ValueError, "target size"),
    ("bce-with-logits size mismatch", lambda f, d: f.binary_cross_entropy_with_logits(
        ce_input(d, (4, 1)), ce_input(d, (4,))), ValueError, "Target size"),
    ("mse weight of wrong size", lambda f, d: f.mse_loss(
        ce_input(d), ce_input(d), weight=torch.ones(3, dtype=torch.float64, device=d)),
     ValueError, "Weights and input"),
    ("negative smooth-l1 beta", lambda f, d: f.smooth_l1_loss(ce_input(d), ce_input(d), beta=-1.0),
     RuntimeError, "beta"),
    ("zero huber delta", lambda f, d: f.huber_loss(ce_input(d), ce_input(d), delta=0.0),
     RuntimeError, "delta"),
]


@pytest.mark.parametrize("call,exception,message", [case[1:] for case in SAME_ERROR_AS_TORCH],
                         ids=[case[0] for case in SAME_ERROR_AS_TORCH])
def test_bad_input_raises_the_same_exception_as_torch(call, exception, message, device):
    with pytest.raises(exception, match=message):
        call(F, device)
    with pytest.raises(exception):
        call(TF, torch.device("cpu"))


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_regression_losses_refuse_to_broadcast_mismatched_shapes(name, device):
    # PyTorch only warns and broadcasts (N, 1) against (N,) into an (N, N) loss; we raise.
    output, target = ce_input(device, (4, 1)), ce_input(device, (4,))
    with pytest.raises(ValueError, match="differs from input size"):
        getattr(F, name)(output, target)
    with pytest.warns(UserWarning, match="broadcasting"):
        getattr(TF, name)(output, target)


def test_negative_label_smoothing_is_rejected(device):
    # PyTorch's message says [0, 1] but it only checks the upper end; we check both.
    with pytest.raises(RuntimeError, match="label_smoothing"):
        F.cross_entropy(ce_input(device), tensor([0, 1, 2, 0], device), label_smoothing=-0.1)


def test_cross_entropy_rejects_a_0d_input(device):
    with pytest.raises(ValueError, match="0-dimensional"):
        F.cross_entropy(torch.tensor(1.0, device=device), tensor(0, device))


def test_relu_keeps_an_integer_dtype_like_torch():
    x = torch.tensor([-2, 0, 3])
    ours = F.relu(x)
    assert ours.dtype == torch.relu(x).dtype == torch.int64
    assert torch.equal(ours, torch.relu(x))


# --------------------------------------------------------------------------- Chapter 4: entropy and KL

def test_entropy_of_the_three_distributions_in_bits():
    uniform = torch.tensor([0.25, 0.25, 0.25, 0.25])
    skewed = torch.tensor([0.1, 0.1, 0.1, 0.7])
    sure = torch.tensor([0.001, 0.001, 0.001, 0.999], dtype=torch.float64)
    assert F.entropy(uniform, base=2) == 2
    torch.testing.assert_close(F.entropy(skewed, base=2), torch.tensor(1.3568), atol=1e-4, rtol=0)
    torch.testing.assert_close(F.entropy(sure, base=2), torch.tensor(0.0313, dtype=torch.float64),
                               atol=1e-4, rtol=0)


@pytest.mark.parametrize("base", [None, 2, 10])
def test_entropy_and_kl_match_torch_distributions(base, device):
    g = torch.Generator().manual_seed(4)
    p = torch.softmax(torch.randn(5, 6, generator=g, dtype=torch.float64), dim=-1).to(device)
    q = torch.softmax(torch.randn(5, 6, generator=g, dtype=torch.float64), dim=-1).to(device)
    scale = 1.0 if base is None else math.log(base)
    P, Q = torch.distributions.Categorical(probs=p), torch.distributions.Categorical(probs=q)
    torch.testing.assert_close(F.entropy(p, base=base), P.entropy() / scale)
    torch.testing.assert_close(F.kl_divergence(p, q, base=base),
                               torch.distributions.kl_divergence(P, Q) / scale)
    # torch's kl_div takes log q as input and p as target
    torch.testing.assert_close(F.kl_divergence(p, q), TF.kl_div(q.log(), p, reduction="none").sum(-1))
    # H(p, q) = H(p) + KL(p || q), with H(p, q) the soft-target cross-entropy of log q
    torch.testing.assert_close(F.entropy(p) + F.kl_divergence(p, q),
                               TF.cross_entropy(q.log(), p, reduction="none"))


def test_entropy_and_kl_treat_zero_probabilities_as_limits(device):
    p = torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]], device=device)
    torch.testing.assert_close(F.entropy(p, base=2), torch.tensor([1.0, 0.0], device=device))
    q = torch.tensor([0.25, 0.25, 0.5], device=device)
    torch.testing.assert_close(F.kl_divergence(p, q, base=2), torch.tensor([1.0, 2.0], device=device))
    assert F.kl_divergence(q, p[0]) == math.inf            # q puts mass where p has none
    x = p.clone().requires_grad_()
    F.entropy(x).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert torch.equal(p, x.detach())                      # the input is untouched


def test_entropy_dim_and_bad_input(device):
    p = torch.full((3, 4), 0.25, device=device)
    torch.testing.assert_close(F.entropy(p.T, dim=0, base=2), torch.full((3,), 2.0, device=device))
    with pytest.raises(ValueError, match="negative"):
        F.entropy(torch.tensor([1.5, -0.5], device=device))
    with pytest.raises(TypeError, match="floating"):
        F.entropy(torch.tensor([1, 0], device=device))
    with pytest.raises(ValueError, match="base"):
        F.entropy(p, base=1)
