r"""Backpropagation by hand, and finite differences to check it.

:func:`loss_and_gradients` runs an ``nn.Sequential`` of linear layers and activations forward,
remembering each layer's input, then walks back through the layers applying the chain rule one
layer at a time, with autograd switched off. For a layer :math:`z = x W^\top + b` receiving
:math:`g = \partial L / \partial z`:

.. math::
    \frac{\partial L}{\partial W} = g^\top x, \qquad
    \frac{\partial L}{\partial b} = \textstyle\sum_n g_n, \qquad
    \frac{\partial L}{\partial x} = g\, W,

and for an elementwise activation :math:`a = f(z)`:
:math:`\partial L / \partial z = \partial L / \partial a \odot f'(z)`. The loss is the mean
cross-entropy of the logits :math:`z`, whose gradient is
:math:`(\mathrm{softmax}(z) - \mathrm{onehot}(y)) / N`.

:func:`numerical_gradient` and :func:`gradient_check` estimate the same derivatives from function
values alone, :math:`(f(x + \epsilon e_i) - f(x - \epsilon e_i)) / 2\epsilon`, which is how you
test a backward pass you wrote yourself.
"""

import warnings

import torch

from nnbook import functional as F
from nnbook import nn as nnbook_nn

__all__ = ["make_mlp", "forward", "cross_entropy_backward", "backward", "loss_and_gradients",
           "numerical_gradient", "relative_error", "gradient_check", "gradient_flow"]

_ACTIVATIONS = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh,
                "leaky_relu": torch.nn.LeakyReLU}
_LINEAR_TYPES = (torch.nn.Linear, nnbook_nn.Linear)


def make_mlp(sizes=(20, 13, 8, 3), activations=("relu", "sigmoid"), bias=True, device=None,
             dtype=None):
    """A ``torch.nn.Sequential`` of ``torch.nn.Linear`` layers with an activation between each pair.

    The default is the three-layer classifier 20 -> 13 -> 8 -> 3 with ReLU, then sigmoid, between
    the layers; the last layer outputs logits (no activation: cross-entropy applies the softmax).
    """
    if len(activations) != len(sizes) - 2:
        raise ValueError(f"{len(sizes) - 1} linear layers need {len(sizes) - 2} activations "
                         f"between them, got {len(activations)}")
    unknown = [name for name in activations if name not in _ACTIVATIONS]
    if unknown:
        raise ValueError(f"unknown activation {unknown[0]!r}; choose from {sorted(_ACTIVATIONS)}")
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(n_in, n_out, bias=bias, device=device, dtype=dtype))
        if i < len(activations):
            layers.append(_ACTIVATIONS[activations[i]]())
    return torch.nn.Sequential(*layers)


def _layer_forward(layer, x):
    if isinstance(layer, _LINEAR_TYPES):
        output = x @ layer.weight.T
        return output if layer.bias is None else output + layer.bias
    if isinstance(layer, torch.nn.ReLU):
        return F.relu(x)
    if isinstance(layer, torch.nn.LeakyReLU):
        return F.leaky_relu(x, layer.negative_slope)
    if isinstance(layer, torch.nn.Sigmoid):
        return F.sigmoid(x)
    if isinstance(layer, torch.nn.Tanh):
        return F.tanh(x)
    raise TypeError(f"no hand-written rule for {type(layer).__name__}; supported layers are "
                    "Linear, ReLU, LeakyReLU, Sigmoid and Tanh")


def _layer_backward(layer, x, grad_output):
    """Given dL/d(output) of one layer and its input x, return dL/dx and dL/d(each parameter)."""
    if isinstance(layer, _LINEAR_TYPES):
        grads = {"weight": grad_output.T @ x}
        if layer.bias is not None:
            grads["bias"] = grad_output.sum(dim=0)  # the bias is added to every sample
        return grad_output @ layer.weight, grads
    if isinstance(layer, torch.nn.ReLU):
        return grad_output * F.relu_grad(x), {}
    if isinstance(layer, torch.nn.LeakyReLU):
        return grad_output * F.leaky_relu_grad(x, layer.negative_slope), {}
    if isinstance(layer, torch.nn.Sigmoid):
        return grad_output * F.sigmoid_grad(x), {}
    if isinstance(layer, torch.nn.Tanh):
        return grad_output * F.tanh_grad(x), {}
    raise TypeError(f"no hand-written rule for {type(layer).__name__}")


def _named_layers(model):
    if not isinstance(model, torch.nn.Sequential):
        raise TypeError(f"expected a torch.nn.Sequential, got {type(model).__name__}")
    return list(model.named_children())


def forward(model, inputs):
    """Run ``model`` layer by layer; return its output and the list of every layer's input."""
    if inputs.dim() != 2:
        raise ValueError(f"expected inputs of shape (N, features), got {tuple(inputs.shape)}")
    layer_inputs = []
    x = inputs
    for _, layer in _named_layers(model):
        layer_inputs.append(x)
        x = _layer_forward(layer, x)
    return x, layer_inputs


def cross_entropy_backward(logits, target):
    r"""Gradient of the mean cross-entropy with respect to the logits.

    .. math:: \frac{\partial L}{\partial z} = \frac{\mathrm{softmax}(z) - \mathrm{onehot}(y)}{N}
    """
    grad = F.softmax(logits, dim=1)
    grad[torch.arange(len(target), device=logits.device), target] -= 1
    return grad / len(target)


def backward(model, layer_inputs, grad_output):
    """Chain rule from the last layer to the first; return {parameter name: gradient}.

    Names are those of ``model.named_parameters()`` (e.g. ``'0.weight'``), in the same order.
    """
    grads = {}
    for (name, layer), x in reversed(list(zip(_named_layers(model), layer_inputs))):
        grad_output, param_grads = _layer_backward(layer, x, grad_output)
        for param_name, grad in param_grads.items():
            grads[f"{name}.{param_name}"] = grad
    return {name: grads[name] for name, _ in model.named_parameters()}


def loss_and_gradients(model, inputs, target):
    """Mean cross-entropy of ``model(inputs)`` against class indices ``target``, and its gradients.

    Everything runs with autograd switched off: the gradients come from the hand-written rules
    alone. Returns ``(loss, {parameter name: gradient})``, names as in ``named_parameters()``.
    """
    with torch.no_grad():
        logits, layer_inputs = forward(model, inputs)
        loss = F.cross_entropy(logits, target)
        grads = backward(model, layer_inputs, cross_entropy_backward(logits, target))
    return loss, grads


# --------------------------------------------------------------------------- finite differences

def numerical_gradient(f, tensor, eps=1e-6):
    r"""Central-difference estimate of the gradient of a scalar function.

    .. math::
        \frac{\partial f}{\partial x_i} \approx
        \frac{f(x + \epsilon e_i) - f(x - \epsilon e_i)}{2\epsilon}

    ``f(tensor)`` must return a scalar. Each entry of ``tensor`` is nudged in place, one at a
    time, and put back exactly, so ``f`` may just as well ignore its argument and read a model
    parameter. The error is :math:`O(\epsilon^2)` plus rounding of order
    :math:`\text{machine-}\epsilon / \epsilon`: use float64, where :math:`\epsilon = 10^{-6}` gives
    about 10 correct digits (float32 gives about 2).
    """
    if not tensor.is_contiguous():
        raise ValueError("numerical_gradient needs a contiguous tensor (it edits it in place)")
    if tensor.dtype != torch.float64:
        warnings.warn(f"finite differences in {tensor.dtype} are inaccurate; use float64",
                      UserWarning, stacklevel=2)
    flat = tensor.detach().view(-1)  # shares memory with tensor
    grad = torch.zeros_like(flat)
    with torch.no_grad():
        for i in range(flat.numel()):
            original = flat[i].item()
            flat[i] = original + eps
            f_plus = _scalar(f(tensor))
            flat[i] = original - eps
            f_minus = _scalar(f(tensor))
            flat[i] = original
            grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad.view(tensor.shape)


def _scalar(value):
    if isinstance(value, torch.Tensor) and value.numel() != 1:
        raise ValueError(f"f must return a scalar, got a tensor of shape {tuple(value.shape)}")
    return float(value)


def relative_error(analytic, numerical, floor=1e-8):
    r"""Largest elementwise relative error between two gradients.

    .. math:: \max_i \frac{|a_i - n_i|}{\max(|a_i|, |n_i|, \text{floor})}

    The floor keeps entries where both are (nearly) zero from dividing noise by noise.
    """
    if analytic.shape != numerical.shape:
        raise ValueError(f"shapes differ: {tuple(analytic.shape)} and {tuple(numerical.shape)}")
    scale = torch.maximum(analytic.abs(), numerical.abs()).clamp(min=floor)
    return ((analytic - numerical).abs() / scale).max().item()


def gradient_check(f, tensor, analytic=None, eps=1e-6):
    """Compare a gradient with central differences; return the largest relative error.

    ``analytic`` is the gradient to check (by default autograd's gradient of ``f(tensor)``).
    In float64 a correct gradient gives about 1e-10 to 1e-5: the worst entries are the smallest
    ones, where the rounding of f's value (~1e-16 / eps) is a large share of the entry, and entries
    whose nudge crosses a ReLU kink. A wrong gradient gives 1e-2 or more.
    """
    if analytic is None:
        x = tensor if tensor.requires_grad else tensor.detach().requires_grad_()
        analytic, = torch.autograd.grad(f(x), x)
    return relative_error(analytic, numerical_gradient(f, tensor, eps))


def gradient_flow(model, inputs, target):
    r"""How large the gradient is at each stage of the backward pass, last layer first.

    Runs the hand-written pass of :func:`loss_and_gradients` and returns two lists of
    ``(label, norm)``: ``signal``, the Frobenius norm of :math:`\partial L / \partial z_l` and
    :math:`\partial L / \partial a_l` for every layer output (``z`` after a linear layer, ``a``
    after an activation; ``l`` counts the linear layers from 1), and ``weights``, the norm of
    :math:`\partial L / \partial W_l` for every linear layer.
    """
    with torch.no_grad():
        logits, layer_inputs = forward(model, inputs)
        grad = cross_entropy_backward(logits, target)
        layers = [layer for _, layer in _named_layers(model)]
        labels, count = [], 0
        for layer in layers:
            count += isinstance(layer, _LINEAR_TYPES)
            labels.append(f"{'z' if isinstance(layer, _LINEAR_TYPES) else 'a'}{count}")
        signal, weights = [], []
        for layer, x, label in reversed(list(zip(layers, layer_inputs, labels))):
            signal.append((label, grad.norm().item()))
            grad, param_grads = _layer_backward(layer, x, grad)
            if "weight" in param_grads:
                weights.append((f"W{label[1:]}", param_grads["weight"].norm().item()))
    return signal, weights
