r"""Activations, their hand-derived derivatives, softmax, and losses, built from elementary ops.

Each function has the name, signature, defaults and meaning of its twin in
``torch.nn.functional``, so ``import nnbook.functional as F`` can stand in for
``import torch.nn.functional as F``. The forward passes use only elementary tensor operations
(``torch.exp``, ``torch.log``, ``torch.where``, sums, ...); autograd differentiates them, and the
``*_grad`` functions give the same derivatives written out by hand. ``tests/test_functional.py``
asserts that values and gradients equal PyTorch's.

Two deliberate differences from PyTorch, both to turn a silent wrong number into an error:

- ``mse_loss``, ``l1_loss``, ``smooth_l1_loss`` and ``huber_loss`` raise ``ValueError`` when input
  and target differ in size (PyTorch broadcasts them and only warns, so an output of shape (N, 1)
  against a target of shape (N,) silently becomes an (N, N) loss);
- ``cross_entropy`` rejects a negative ``label_smoothing`` (PyTorch's message says the value must
  lie in [0, 1] but only checks the upper end).

The legacy ``size_average``/``reduce`` arguments are left out; arguments after ``weight`` are
keyword-only so that no positional call can mean something different here and in PyTorch.
"""

import warnings

import torch

__all__ = [
    "sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad",
    "leaky_relu", "leaky_relu_grad", "softmax", "log_softmax", "softmax_jacobian", "softmax_jvp",
    "nll_loss", "cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "entropy", "kl_divergence",
]


# --------------------------------------------------------------------------- activations
#
# sigmoid and tanh are evaluated in two branches, one for x >= 0 and one for x < 0, so that
# exp() only ever sees a non-positive number and cannot overflow. Each branch reads its input
# through _split_at_zero(): the branch that torch.where discards sees 0 instead of a huge value, so
# it cannot produce inf, whose gradient would turn into 0 * inf = nan.
#
# The split is itself a torch.where on the very same test (x >= 0) as the final choice, never a
# clamp(). torch.where's gradient is exact by construction (the upstream gradient where the test
# holds, 0 elsewhere), whereas the gradient clamp() passes at exactly its bound is a convention
# that has changed between releases (torch 2.14 made clamp_min's derivative at the bound 0, where
# earlier releases gave 1), which would silently zero the derivative at x = 0. nan fails the test
# x >= 0, so it is routed into the x < 0 branch unchanged and propagates, as in PyTorch.

def _split_at_zero(input):
    """(x where x >= 0 else 0, x where not x >= 0 else 0), with exact gradients at x = 0."""
    nonnegative = input >= 0
    zero = torch.zeros((), dtype=input.dtype, device=input.device)
    return nonnegative, torch.where(nonnegative, input, zero), torch.where(nonnegative, zero, input)


def sigmoid(input):
    r"""Logistic sigmoid, :math:`\sigma(x) = 1 / (1 + e^{-x})`.

    Computed as :math:`1 / (1 + e^{-x})` for :math:`x \ge 0` and :math:`e^{x} / (1 + e^{x})` for
    :math:`x < 0` (the same number, without overflow).
    """
    nonnegative, positive, negative = _split_at_zero(input)
    exp_of_negative = torch.exp(negative)
    from_positive = 1 / (1 + torch.exp(-positive))
    from_negative = exp_of_negative / (1 + exp_of_negative)
    return torch.where(nonnegative, from_positive, from_negative)


def sigmoid_grad(input):
    r"""Derivative of the sigmoid, :math:`\sigma'(x) = \sigma(x)\,(1 - \sigma(x))`."""
    s = sigmoid(input)
    return s * (1 - s)


def _tanh_of_nonpositive(u):
    # tanh(u) = (e^{2u} - 1) / (e^{2u} + 1); expm1 keeps full precision for tiny |u|, where
    # e^{2u} - 1 would cancel catastrophically.
    e = torch.expm1(2 * u)
    return e / (e + 2)


def tanh(input):
    r"""Hyperbolic tangent, :math:`\tanh(x) = (e^{2x} - 1) / (e^{2x} + 1)`.

    Uses :math:`\tanh(x) = -\tanh(-x)` so that the formula is only evaluated at :math:`x \le 0`.
    """
    nonnegative, positive, negative = _split_at_zero(input)
    from_positive = -_tanh_of_nonpositive(-positive)
    from_negative = _tanh_of_nonpositive(negative)
    return torch.where(nonnegative, from_positive, from_negative)


def tanh_grad(input):
    r"""Derivative of tanh, :math:`\tanh'(x) = 1 - \tanh^2(x)`."""
    return 1 - tanh(input) ** 2


def _write_back(input, result, inplace):
    # In-place variants overwrite the input, as PyTorch's do.
    return input.copy_(result) if inplace else result


def relu(input, inplace=False):
    r""":math:`\mathrm{ReLU}(x) = \max(x, 0)`."""
    # where() rather than clamp(min=0): where's gradient at x = 0 is fixed by the test (here 0, the
    # convention relu'(0) = 0 that PyTorch uses), while the gradient clamp passes at its bound has
    # changed between torch releases. Testing x <= 0 lets a nan through, as PyTorch does.
    # zeros_like keeps the dtype: an integer tensor stays integer, as in PyTorch.
    return _write_back(input, torch.where(input <= 0, torch.zeros_like(input), input), inplace)


def relu_grad(input):
    r"""Derivative of ReLU: 1 where :math:`x > 0`, else 0 (0 at the kink, as in PyTorch).

    At nan it is 1, as PyTorch's backward gives: it zeroes the gradient only where x <= 0.
    """
    return (~(input <= 0)).to(input.dtype)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    r"""Leaky ReLU: :math:`x` where :math:`x > 0`, else :math:`\alpha x` (``negative_slope``)."""
    return _write_back(input, torch.where(input > 0, input, input * negative_slope), inplace)


def leaky_relu_grad(input, negative_slope=0.01):
    r"""Derivative of leaky ReLU: 1 where :math:`x > 0`, else :math:`\alpha` (at the kink too)."""
    ones = torch.ones_like(input)
    return torch.where(input > 0, ones, ones * negative_slope)


# --------------------------------------------------------------------------- softmax

def _softmax_dim(name, ndim, dim):
    # PyTorch still accepts dim=None, picks a dimension for you and warns; we do the same.
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. "
                  "Change the call to include dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def _shift_by_max(input, dim):
    # Softmax is unchanged by subtracting a constant from every logit; subtracting the largest
    # makes every exponent <= 0, so exp() cannot overflow however large the logits are. The max is
    # detached because the result does not depend on it (its gradient would be exactly zero).
    return input - input.amax(dim=dim, keepdim=True).detach()


def softmax(input, dim=None, *, dtype=None):
    r"""Softmax along ``dim``.

    .. math:: \mathrm{softmax}(x)_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}}, \qquad m = \max_j x_j
    """
    if dtype is not None:
        input = input.to(dtype)
    dim = _softmax_dim("softmax", input.dim(), dim)
    exps = torch.exp(_shift_by_max(input, dim))
    return exps / exps.sum(dim=dim, keepdim=True)


def log_softmax(input, dim=None, *, dtype=None):
    r"""Log-softmax along ``dim``.

    .. math:: \log \mathrm{softmax}(x)_i = x_i - m - \log \sum_j e^{x_j - m}, \quad m = \max_j x_j

    Computed directly (the log-sum-exp trick), never as ``log(softmax(x))``, which gives
    ``log(0) = -inf`` as soon as one probability underflows.
    """
    if dtype is not None:
        input = input.to(dtype)
    dim = _softmax_dim("log_softmax", input.dim(), dim)
    shifted = _shift_by_max(input, dim)
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


def softmax_jacobian(input):
    r"""Jacobian of softmax over the last dimension.

    .. math:: J = \mathrm{diag}(s) - s s^\top, \qquad s = \mathrm{softmax}(x)

    For input of shape (..., C) returns shape (..., C, C), one Jacobian per row.
    """
    s = softmax(input, dim=-1)
    return torch.diag_embed(s) - s.unsqueeze(-1) * s.unsqueeze(-2)


def softmax_jvp(input, vector, dim=-1):
    r"""Product of softmax's Jacobian with ``vector``.

    .. math:: J v = s \odot (v - \langle s, v \rangle), \qquad s = \mathrm{softmax}(x)

    ``J`` is symmetric, so this is also the vector-Jacobian product that backpropagation needs:
    with ``vector`` = dL/ds it returns dL/dx, without building the C x C matrix.
    """
    if vector.shape != input.shape:
        raise ValueError(f"softmax_jvp: vector shape {tuple(vector.shape)} must equal "
                         f"input shape {tuple(input.shape)}")
    s = softmax(input, dim=dim)
    return s * (vector - (s * vector).sum(dim=dim, keepdim=True))


# --------------------------------------------------------------------------- loss helpers

def _check_reduction(reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_same_size(name, input, target):
    if input.size() != target.size():
        raise ValueError(
            f"{name}: target size {tuple(target.size())} differs from input size "
            f"{tuple(input.size())}. PyTorch would broadcast them (with only a warning), which "
            "almost always computes the wrong loss; reshape one of them, e.g. output.squeeze(-1).")


def _check_weight_size(weight, input):
    if weight is not None and weight.size() != input.size():
        raise ValueError("Weights and input must have the same size.")


def _weighted(loss, weight, reduction, mean_divides_by_weight):
    # PyTorch's elementwise-weighted regression losses: mse and l1 divide the weighted sum by
    # the sum of the weights, huber by the number of elements.
    if weight is None:
        return _reduce(loss, reduction)
    loss = loss * weight
    if reduction == "mean" and mean_divides_by_weight:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


# --------------------------------------------------------------------------- classification

def _class_dim(input):
    if input.dim() == 0:
        raise ValueError("expected input of shape (C,), (N, C) or (N, C, d1, ...), "
                         "got a 0-dimensional tensor")
    return 0 if input.dim() == 1 else 1


def _check_class_targets(input, target, weight):
    """Validate class-index targets the way PyTorch's nll_loss does."""
    if target.dtype not in (torch.long, torch.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {target.dtype}")
    if input.dim() == 1:
        if target.dim() != 0:
            raise ValueError(f"for input of shape (C,) the target must be a single class index "
                             f"(a 0-dimensional tensor), got target size {tuple(target.shape)}")
    elif target.dim() == 0 or target.shape[0] != input.shape[0]:
        batch = target.shape[0] if target.dim() else "none"
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({batch}).")
    elif target.shape[1:] != input.shape[2:]:
        expected = [input.shape[0], *input.shape[2:]]
        raise RuntimeError(f"Expected target size {expected}, got {list(target.shape)}")
    _check_class_weight(weight, input.shape[_class_dim(input)])


def _check_class_weight(weight, classes, prefix=""):
    if weight is not None and (weight.dim() != 1 or weight.numel() != classes):
        raise RuntimeError(f"{prefix}weight tensor should be defined either for all {classes} "
                           f"classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")


def _safe_targets(target, ignored):
    # Ignored entries may hold any value, even an invalid index; point them at class 0 so that
    # indexing with them is safe (their contribution is zeroed afterwards).
    return target.masked_fill(ignored, 0)


def _target_weights(safe_target, ignored, weight, like):
    """Per-element weight w[target], 0 where the target is ignored (1 elsewhere if no weight)."""
    w = like.new_ones(safe_target.shape) if weight is None else weight[safe_target]
    return torch.where(ignored, 0.0, w)


def nll_loss(input, target, weight=None, *, ignore_index=-100, reduction="mean"):
    r"""Negative log-likelihood of class indices: :math:`\ell_n = -w_{y_n}\, x_{n, y_n}`.

    ``input`` holds log-probabilities of shape (C,), (N, C) or (N, C, d1, ...); ``target`` holds
    class indices of shape (), (N,) or (N, d1, ...). Targets equal to ``ignore_index`` contribute
    nothing. ``reduction='mean'`` is a weighted mean, :math:`\sum_n \ell_n / \sum_n w_{y_n}` over
    the targets not ignored (nan when every target is ignored, as in PyTorch).
    """
    _check_reduction(reduction)
    class_dim = _class_dim(input)
    _check_class_targets(input, target, weight)
    target = target.long()  # a uint8 target compared with -100 would wrap around to 156
    ignored = target == ignore_index
    out_of_range = ~ignored & ((target < 0) | (target >= input.shape[class_dim]))
    if out_of_range.any():
        raise IndexError(f"Target {target[out_of_range].flatten()[0].item()} is out of bounds.")
    safe_target = _safe_targets(target, ignored)
    w = _target_weights(safe_target, ignored, weight, input)
    picked = input.gather(class_dim, safe_target.unsqueeze(class_dim)).squeeze(class_dim)
    loss = torch.where(ignored, 0.0, -w * picked)
    if reduction == "mean":
        return loss.sum() / w.sum()
    return _reduce(loss, reduction)


def _cross_entropy_with_probabilities(log_probs, target, weight, reduction, label_smoothing):
    # Soft targets: loss_n = -sum_c w_c q_nc log p_nc; 'mean' averages over samples (it does not
    # divide by any weights, unlike the class-index case).
    class_dim = _class_dim(log_probs)
    classes = log_probs.shape[class_dim]
    if not target.is_floating_point():
        raise RuntimeError("Expected floating point type for target with class probabilities, "
                           f"got {target.dtype}")
    _check_class_weight(weight, classes, prefix="cross_entropy: ")
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    terms = log_probs * target
    if weight is not None:
        terms = terms * _along_class_dim(weight, log_probs)
    return _reduce(-terms.sum(dim=class_dim), reduction)


def _along_class_dim(weight, input):
    # View a per-class vector so that it broadcasts against input's class dimension.
    shape = [1] * input.dim()
    shape[_class_dim(input)] = -1
    return weight.view(shape)


def _uniform_target_loss(log_probs, target, weight, ignore_index, reduction):
    # The part of label smoothing that spreads mass evenly: sum_c -w_c log p_nc, normalised
    # exactly as nll_loss normalises (by the summed target weights for 'mean').
    class_dim = _class_dim(log_probs)
    terms = log_probs if weight is None else log_probs * _along_class_dim(weight, log_probs)
    target = target.long()
    ignored = target == ignore_index
    loss = torch.where(ignored, 0.0, -terms.sum(dim=class_dim))
    if reduction == "mean":
        target_weights = _target_weights(_safe_targets(target, ignored), ignored, weight, log_probs)
        return loss.sum() / target_weights.sum()
    return _reduce(loss, reduction)


def cross_entropy(input, target, weight=None, *, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    r"""Cross-entropy of logits: ``nll_loss(log_softmax(input, class_dim), target)``.

    ``input`` holds unnormalised logits of shape (C,), (N, C) or (N, C, d1, ...). ``target`` is
    either class indices (shape (), (N,) or (N, d1, ...); see :func:`nll_loss` for ``weight``,
    ``ignore_index`` and the weighted mean) or class probabilities of the same shape as ``input``,
    :math:`\ell_n = -\sum_c w_c\, q_{nc} \log p_{nc}`, averaged over samples for 'mean'.

    With label smoothing :math:`\varepsilon` and C classes the loss becomes
    :math:`(1 - \varepsilon)\,\ell^{\text{target}} + \frac{\varepsilon}{C}\,\ell^{\text{uniform}}`,
    where :math:`\ell^{\text{uniform}}_n = -\sum_c w_c \log p_{nc}` is reduced like the first term
    (so a weighted 'mean' divides both by the summed weights of the targets).
    """
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = _class_dim(input)
    log_probs = log_softmax(input, dim=class_dim)
    if target.shape == input.shape:
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        return _cross_entropy_with_probabilities(log_probs, target, weight, reduction,
                                                 label_smoothing)
    nll = nll_loss(log_probs, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0:
        return nll
    uniform = _uniform_target_loss(log_probs, target, weight, ignore_index, reduction)
    return (1 - label_smoothing) * nll + uniform * (label_smoothing / input.shape[class_dim])


# --------------------------------------------------------------------------- binary

# PyTorch declares this floor as a C++ float, so it is the float32 number nearest 1e-12.
_BCE_GRAD_FLOOR = float(torch.tensor(1e-12, dtype=torch.float32))


class _BinaryCrossEntropy(torch.autograd.Function):
    r"""Elementwise :math:`-[y \log x + (1 - y) \log(1 - x)]` with each log clamped at -100.

    PyTorch does not differentiate the clamped formula: its backward is hand-written as
    :math:`(x - y) / \max(x (1 - x), 10^{-12})` for the input and :math:`-\mathrm{logit}(x)` for
    the target. We do the same, so that gradients stay equal even for saturated probabilities
    (x = 0 or 1 exactly, common in float32), where plain autograd would give 0/0 = nan.
    """

    @staticmethod
    def forward(ctx, input, target):
        ctx.save_for_backward(input, target)
        log_p = torch.log(input).clamp(min=-100)
        log_one_minus_p = torch.log1p(-input).clamp(min=-100)
        return (target - 1) * log_one_minus_p - target * log_p

    @staticmethod
    def backward(ctx, grad_output):
        input, target = ctx.saved_tensors
        grad_input = grad_target = None
        if ctx.needs_input_grad[0]:
            grad_input = (grad_output * (input - target)
                          / (input * (1 - input)).clamp(min=_BCE_GRAD_FLOOR))
        if ctx.needs_input_grad[1]:
            grad_target = grad_output * (torch.log1p(-input) - torch.log(input))
        return grad_input, grad_target


def binary_cross_entropy(input, target, weight=None, *, reduction="mean"):
    r"""Binary cross-entropy of probabilities.

    .. math:: \ell_n = -w_n \left[ y_n \log x_n + (1 - y_n) \log(1 - x_n) \right]

    Each log is clamped at -100, as in PyTorch, so a probability of exactly 0 or 1 gives a large
    but finite loss. ``weight`` broadcasts to the input's shape; 'mean' divides by the number of
    elements. Prefer :func:`binary_cross_entropy_with_logits`: it never needs the clamp.
    """
    _check_reduction(reduction)
    if target.size() != input.size():
        raise ValueError(f"Using a target size ({target.size()}) that is different to the input "
                         f"size ({input.size()}) is deprecated. "
                         "Please ensure they have the same size.")
    for name, values in (("input", input), ("target", target)):
        if not ((values >= 0) & (values <= 1)).all():  # also catches nan
            raise RuntimeError(f"all elements of {name} should be between 0 and 1")
    loss = _BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight.expand(target.size())
    return _reduce(loss, reduction)


def _log_sigmoid(input):
    r""":math:`\log \sigma(x) = -\log(1 + e^{-x})`, in the two overflow-free branches of sigmoid."""
    nonnegative, positive, negative = _split_at_zero(input)
    from_positive = -torch.log1p(torch.exp(-positive))
    from_negative = negative - torch.log1p(torch.exp(negative))
    return torch.where(nonnegative, from_positive, from_negative)


def binary_cross_entropy_with_logits(input, target, weight=None, *, reduction="mean",
                                     pos_weight=None):
    r"""Binary cross-entropy of logits.

    .. math::
        \ell_n = -w_n \left[ p\, y_n \log \sigma(x_n) + (1 - y_n) \log(1 - \sigma(x_n)) \right]

    ``pos_weight`` (:math:`p`, broadcast along the last dimension, one per class) scales the
    positive term. Uses :math:`\log(1 - \sigma(x)) = \log \sigma(x) - x`, so the loss is
    :math:`(1 - y)\,x - (1 + (p - 1)\,y) \log \sigma(x)`, finite for finite logits of any size,
    with the same nan and inf as PyTorch's formula at infinite logits. A confident right answer
    with :math:`y = 1` (:math:`x \gg 0`) keeps full relative precision,
    :math:`-\log\sigma(x) \approx e^{-x}`; with :math:`y = 0` (:math:`x \ll 0`) the precision is
    absolute, as in PyTorch (the two large terms cancel).
    """
    _check_reduction(reduction)
    if target.size() != input.size():
        raise ValueError(f"Target size ({target.size()}) must be the same as input size "
                         f"({input.size()})")
    log_sig = _log_sigmoid(input)
    if pos_weight is not None:
        log_sig = log_sig * ((pos_weight - 1) * target + 1)
    loss = (1 - target) * input - log_sig
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# --------------------------------------------------------------------------- regression

def mse_loss(input, target, *, reduction="mean", weight=None):
    r"""Squared error, :math:`\ell_n = w_n (x_n - y_n)^2`.

    A weighted 'mean' divides by :math:`\sum_n w_n` (without ``weight``, :math:`w_n = 1`).
    """
    _check_reduction(reduction)
    _check_same_size("mse_loss", input, target)
    _check_weight_size(weight, input)
    return _weighted((input - target) ** 2, weight, reduction, mean_divides_by_weight=True)


def l1_loss(input, target, *, reduction="mean", weight=None):
    r"""Absolute error, :math:`\ell_n = w_n |x_n - y_n|`.

    A weighted 'mean' divides by :math:`\sum_n w_n` (without ``weight``, :math:`w_n = 1`).
    """
    _check_reduction(reduction)
    _check_same_size("l1_loss", input, target)
    _check_weight_size(weight, input)
    return _weighted(torch.abs(input - target), weight, reduction, mean_divides_by_weight=True)


def smooth_l1_loss(input, target, *, reduction="mean", beta=1.0):
    r"""Smooth L1 loss, quadratic near zero and linear beyond ``beta``, with :math:`d = x - y`:

    .. math::
        \ell_n = \begin{cases} \tfrac12 d_n^2 / \beta & |d_n| < \beta \\
                               |d_n| - \tfrac12 \beta & \text{otherwise} \end{cases}

    ``beta = 0`` is exactly the L1 loss.
    """
    _check_reduction(reduction)
    _check_same_size("smooth_l1_loss", input, target)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    distance = torch.abs(input - target)
    if beta == 0:  # the quadratic branch would divide by zero
        return _reduce(distance, reduction)
    near, near_distance = _near_and_far(distance, beta)
    loss = torch.where(near, 0.5 * near_distance**2 / beta, distance - 0.5 * beta)
    return _reduce(loss, reduction)


def _near_and_far(distance, threshold):
    # The quadratic branch of smooth L1 and Huber is evaluated on distances below the threshold
    # only (0 elsewhere): the square of an infinite or huge distance, though torch.where
    # discards it, would send back the gradient 0 * inf = nan. A nan distance counts as near, so
    # that its gradient is nan, as in PyTorch (the linear branch would give |x|'(nan) = 0).
    near = ~(distance >= threshold)
    return near, torch.where(near, distance, torch.zeros_like(distance))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    r"""Huber loss, quadratic near zero and linear beyond ``delta``, with :math:`d = x - y`:

    .. math::
        \ell_n = \begin{cases} \tfrac12 d_n^2 & |d_n| < \delta \\
                               \delta (|d_n| - \tfrac12 \delta) & \text{otherwise} \end{cases}

    Equal to ``delta * smooth_l1_loss(..., beta=delta)``. A weighted 'mean' divides by the number
    of elements (not by the summed weights), as in PyTorch.
    """
    _check_reduction(reduction)
    _check_same_size("huber_loss", input, target)
    _check_weight_size(weight, input)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    distance = torch.abs(input - target)
    near, near_distance = _near_and_far(distance, delta)
    loss = torch.where(near, 0.5 * near_distance**2, delta * (distance - 0.5 * delta))
    return _weighted(loss, weight, reduction, mean_divides_by_weight=False)


# --------------------------------------------------------------------------- information

def _log_in_base(values, base):
    if base is None:
        return torch.log(values)
    if not base > 1:
        raise ValueError(f"base must be a number greater than 1 (or None for nats), got {base}")
    return torch.log(values) / torch.log(torch.tensor(float(base), dtype=values.dtype,
                                                      device=values.device))


def _check_distribution(name, p):
    if not p.is_floating_point():
        raise TypeError(f"{name} must hold floating-point probabilities, got {p.dtype}")
    if (p < 0).any():
        raise ValueError(f"{name} holds a negative probability")


def entropy(p, dim=-1, *, base=None):
    r"""Entropy of the distributions in ``p`` along ``dim``: :math:`H(p) = -\sum_k p_k \log p_k`.

    In nats (natural logarithm) by default, in bits with ``base=2``. Terms with :math:`p_k = 0`
    count 0 (the limit of :math:`p \log p` as :math:`p \to 0`), not :math:`0 \cdot (-\infty)`
    = nan. ``p`` is not renormalised: pass probabilities that sum to 1.

    >>> entropy(torch.tensor([0.25, 0.25, 0.25, 0.25]), base=2)
    tensor(2.)
    """
    _check_distribution("p", p)
    safe = torch.where(p > 0, p, torch.ones_like(p))  # log 1 = 0: the term vanishes
    return -(p * _log_in_base(safe, base)).sum(dim=dim)


def kl_divergence(p, q, dim=-1, *, base=None):
    r"""Kullback-Leibler divergence :math:`\mathrm{KL}(p \,\|\, q) = \sum_k p_k \log(p_k / q_k)`.

    Along ``dim``, in nats by default, bits with ``base=2``. Terms with :math:`p_k = 0` count 0;
    a term with :math:`p_k > 0` and :math:`q_k = 0` makes the divergence :math:`+\infty`.
    It is the cross-entropy minus the entropy, :math:`H(p, q) - H(p)`, and never negative.
    """
    _check_distribution("p", p)
    _check_distribution("q", q)
    safe_p = torch.where(p > 0, p, torch.ones_like(p))
    log_ratio = _log_in_base(safe_p, base) - _log_in_base(q, base)
    return torch.where(p > 0, p * log_ratio, torch.zeros_like(log_ratio)).sum(dim=dim)
