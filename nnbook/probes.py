r"""Measurements inside a network: gradient norms layer by layer, and dead ReLU units.

Chapter 2 uses these to show, on a real network rather than with a formula, that gradients fade
through a deep stack of sigmoid layers, and that too large a learning rate kills ReLU units.
Everything is seeded and, unless asked otherwise, computed in float64, so the numbers the
chapter asserts are the same on every run.

* :func:`quadrant_task` is a small synthetic classification task that no straight line solves;
* :func:`deep_network` builds a plain stack ``Linear, act, Linear, act, ..., Linear``;
* :func:`layer_gradient_norms` measures :math:`\lVert \partial L / \partial W_l \rVert` for every
  layer :math:`l` of such a stack, with autograd;
* :func:`hidden_outputs` and :func:`dead_fraction` find the units that output 0 on every example.
"""

import math

import torch
from torch import nn

__all__ = ["ACTIVATION_MODULES", "quadrant_task", "deep_network", "layer_gradient_norms",
           "hidden_outputs", "dead_fraction"]

# The activations a deep_network can use, as the module classes nn.Sequential needs.
ACTIVATION_MODULES = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def quadrant_task(n=512, n_features=10, *, seed=0, dtype=torch.float64):
    r"""``n`` points :math:`\mathbf{x} \sim \mathcal{N}(0, I)` in ``n_features`` dimensions, labelled
    1 where :math:`x_1 x_2 > 0` (first or third quadrant of the first two features) and 0 elsewhere.

    The other features are noise. No straight cut separates the classes (the XOR pattern), so a
    network needs its hidden layers. Returns ``(X, y)`` with ``X`` of shape ``(n, n_features)`` and
    integer labels ``y`` of shape ``(n,)``.
    """
    if n_features < 2:
        raise ValueError(f"n_features must be at least 2, got {n_features}")
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, n_features, generator=generator, dtype=dtype)
    return X, (X[:, 0] * X[:, 1] > 0).long()


def _gain(activation):
    # The weight scale torch.nn.init.calculate_gain recommends for each activation (Chapter 3
    # derives it): 1 for the sigmoid, 5/3 for tanh, sqrt(2) for ReLU.
    return {"sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0)}[activation]


def deep_network(activation, depth, *, n_in=10, width=64, n_out=2, seed=0, dtype=torch.float64):
    r"""``depth`` hidden layers of ``width`` units with ``activation``, then a linear output layer.

    Every weight matrix of a layer with :math:`n_\text{in}` inputs starts as
    :math:`W_{ji} \sim \mathcal{N}(0, g^2 / n_\text{in})`, with the gain :math:`g` that PyTorch
    recommends for the activation (``torch.nn.init.calculate_gain``: 1 for the sigmoid, 5/3 for
    tanh, :math:`\sqrt 2` for ReLU; 1 for the output layer), and every bias starts at 0.
    """
    if activation not in ACTIVATION_MODULES:
        raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATION_MODULES)}")
    if depth < 0:
        raise ValueError(f"depth must be at least 0, got {depth}")
    generator = torch.Generator().manual_seed(seed)
    sizes = [n_in] + [width] * depth + [n_out]
    layers = []
    for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layer = nn.Linear(fan_in, fan_out, dtype=dtype)
        gain = _gain(activation) if k < depth else 1.0
        with torch.no_grad():
            layer.weight.copy_(torch.randn(fan_out, fan_in, generator=generator, dtype=dtype)
                               * gain / math.sqrt(fan_in))
            layer.bias.zero_()
        layers.append(layer)
        if k < depth:
            layers.append(ACTIVATION_MODULES[activation]())
    return nn.Sequential(*layers)


def layer_gradient_norms(activation, depth, *, width=64, n=512, seed=0):
    r"""The norm :math:`\lVert \partial L / \partial W_l \rVert` of the loss gradient with respect to
    the weight matrix of each layer :math:`l = 1, \dots, \text{depth} + 1` (the last is the output
    layer), at the start of training.

    The network is :func:`deep_network` (float64), the data :func:`quadrant_task` with ``n``
    points and the loss :math:`L` the cross-entropy of the network's two logits. The gradients
    come from autograd (``loss.backward()``). Returns a float64 tensor of ``depth + 1`` norms,
    first layer first.
    """
    X, y = quadrant_task(n, seed=seed)
    net = deep_network(activation, depth, width=width, seed=seed + 1)
    nn.functional.cross_entropy(net(X), y).backward()
    return torch.stack([layer.weight.grad.norm() for layer in net if isinstance(layer, nn.Linear)])


def hidden_outputs(model, x):
    """The output of every ReLU, sigmoid or tanh module of an ``nn.Sequential`` ``model`` for input
    ``x``, in order: one tensor of shape ``(N, units)`` per hidden layer. Computed without
    gradients."""
    outputs = []
    with torch.no_grad():
        for module in model:
            x = module(x)
            if isinstance(module, tuple(ACTIVATION_MODULES.values())):
                outputs.append(x)
    return outputs


def dead_fraction(activations):
    r"""The share of units that output exactly 0 for every example of a batch.

    ``activations`` has shape ``(N, units)``, one row per example (a ReLU layer's outputs). A unit
    is *dead on this batch* when its column is all zeros: then no example sends a gradient through
    it, and gradient descent on this batch never changes its incoming weights. An empty batch says
    nothing about any unit, so it is an error.
    """
    if activations.dim() != 2:
        raise ValueError(f"expected activations of shape (N, units), got {tuple(activations.shape)}")
    if activations.shape[0] == 0 or activations.shape[1] == 0:
        raise ValueError("an empty batch (or a layer without units) has no dead fraction")
    return (activations == 0).all(dim=0).double().mean().item()
