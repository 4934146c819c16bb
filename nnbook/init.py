r"""Weight initializers and the fan-in/fan-out computation behind them.

Mirrors ``torch.nn.init``: same names, signatures and defaults. Every function fills its tensor
in place under ``torch.no_grad()`` (so it works on parameters that require gradients) and returns
it. Random draws come from PyTorch's own ``uniform_``/``normal_`` with the ``generator`` you pass;
what is written here is the arithmetic that picks the bounds and standard deviations. Because the
draws are the same, the same seed gives bit-for-bit the same tensor as ``torch.nn.init``, which
``tests/test_init.py`` asserts.
"""

import math
import warnings

import torch

__all__ = [
    "calculate_gain", "calculate_fan_in_and_fan_out", "uniform_", "normal_", "constant_",
    "zeros_", "ones_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
]

_LINEAR_LIKE = ("linear", "conv1d", "conv2d", "conv3d",
                "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    r"""Recommended gain :math:`g` for weights followed by ``nonlinearity``.

    ============================  ==========================================
    linear, conv*, sigmoid        :math:`1`
    tanh                          :math:`5/3`
    relu                          :math:`\sqrt{2}`
    leaky_relu (slope ``param``)  :math:`\sqrt{2 / (1 + \text{slope}^2)}`, slope 0.01 by default
    selu                          :math:`3/4`
    ============================  ==========================================

    The ReLU value makes :math:`\mathbb{E}[\mathrm{relu}(z)^2] \cdot g^2 = \mathrm{Var}[z]` for a
    zero-mean symmetric :math:`z`:
    ReLU zeroes half of a symmetric input, halving its second moment.
    """
    if nonlinearity in _LINEAR_LIKE:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def calculate_fan_in_and_fan_out(tensor):
    r"""Fan-in and fan-out of a weight of shape (out, in) or (out, in, k1, k2, ...).

    A linear layer's weight is (out_features, in_features): each output sums ``in`` inputs
    (fan-in) and each input feeds ``out`` outputs (fan-out). A convolution's weight is
    (out_channels, in_channels, k1, k2, ...): every weight is reused over a receptive field of
    :math:`k_1 k_2 \cdots` positions, so

    .. math:: \text{fan\_in} = \text{in} \cdot \prod_i k_i, \qquad
              \text{fan\_out} = \text{out} \cdot \prod_i k_i
    """
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than "
                         "2 dimensions")
    receptive_field = math.prod(tensor.shape[2:])  # 1 for a linear layer
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    r"""Fill ``tensor`` with draws from :math:`\mathcal{U}(a, b)`."""
    with torch.no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    r"""Fill ``tensor`` with draws from :math:`\mathcal{N}(\text{mean}, \text{std}^2)`."""
    with torch.no_grad():
        return tensor.normal_(mean, std, generator=generator)


def constant_(tensor, val):
    r"""Fill ``tensor`` with the value ``val``."""
    with torch.no_grad():
        return tensor.fill_(val)


def zeros_(tensor):
    r"""Fill ``tensor`` with 0."""
    return constant_(tensor, 0.0)


def ones_(tensor):
    r"""Fill ``tensor`` with 1."""
    return constant_(tensor, 1.0)


def _xavier_std(tensor, gain):
    # Glorot & Bengio: Var[w] = 2 / (fan_in + fan_out) balances the forward and backward signal.
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return gain * math.sqrt(2.0 / float(fan_in + fan_out))


def xavier_uniform_(tensor, gain=1.0, generator=None):
    r"""Glorot (Xavier) uniform: :math:`\mathcal{U}(-a, a)` with gain :math:`g` = ``gain``,

    .. math:: a = g \sqrt{6 / (\text{fan\_in} + \text{fan\_out})}

    (A uniform on :math:`[-a, a]` has standard deviation :math:`a / \sqrt{3}`.)
    """
    bound = math.sqrt(3.0) * _xavier_std(tensor, gain)
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    r"""Glorot (Xavier) normal: :math:`\mathcal{N}(0, \sigma^2)` with gain :math:`g` = ``gain``,

    .. math:: \sigma = g \sqrt{2 / (\text{fan\_in} + \text{fan\_out})}
    """
    return normal_(tensor, 0.0, _xavier_std(tensor, gain), generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    # He et al.: Var[w] = g^2 / fan keeps the signal's variance constant through the layers.
    return calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))


def _is_empty(tensor):
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    r"""He (Kaiming) uniform: :math:`\mathcal{U}(-b, b)` with

    .. math:: b = g \sqrt{3 / \text{fan}}, \qquad g = \texttt{calculate\_gain(nonlinearity, a)}

    ``mode`` picks the fan: 'fan_in' keeps the forward signal's variance, 'fan_out' the
    gradient's. ``a`` is the negative slope of a following leaky ReLU.
    """
    if _is_empty(tensor):
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    r"""He (Kaiming) normal: :math:`\mathcal{N}(0, \sigma^2)` with

    .. math:: \sigma = g / \sqrt{\text{fan}}, \qquad g = \texttt{calculate\_gain(nonlinearity, a)}

    ``mode`` and ``a`` as in :func:`kaiming_uniform_`.
    """
    if _is_empty(tensor):
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)
