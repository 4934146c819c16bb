r"""How the size of the signal changes through a deep stack of layers (Chapter 3).

A *probe network* is a stack of ``depth`` square linear layers of width ``width``, without biases,
each followed by the same activation:

.. math:: \mathbf{h}_0 = \mathbf{x}, \qquad \mathbf{h}_l = f(W_l \mathbf{h}_{l-1}), \quad l = 1, \dots, L.

:func:`layer_statistics` sends a batch of standard-normal inputs through it, sends a standard-normal
gradient back from the top (the loss is :math:`\sum \mathbf{h}_L \odot \mathbf{r}` with fixed
:math:`\mathbf{r} \sim \mathcal{N}(0, 1)`, whose gradient with respect to :math:`\mathbf{h}_L` is
:math:`\mathbf{r}`), and records, for every layer, the standard deviation of the activations
:math:`\mathbf{h}_l` and of the gradients :math:`\partial \text{loss} / \partial \mathbf{h}_l`, and a
fixed sample of both for histograms.

This lives in its own module rather than in ``nnbook.init``, which mirrors part of ``torch.nn.init``
(the same names and arguments); it is computed once per setting (seeded, float64, deterministic) and the plotting
functions of ``nnbook.plots`` only draw what it returns.
"""

import math

import torch

from nnbook import init

__all__ = ["INITIALIZERS", "ACTIVATIONS", "layer_statistics", "statistics_grid"]


def _pytorch_default(weight, generator):
    # What nn.Linear.reset_parameters does to its weight: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    return init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)


# name -> fills a weight of shape (out, in) in place from a generator
INITIALIZERS = {
    "normal(0, 1)": lambda w, g: init.normal_(w, 0.0, 1.0, generator=g),
    "normal(0, 0.01)": lambda w, g: init.normal_(w, 0.0, 0.01, generator=g),
    "xavier": lambda w, g: init.xavier_normal_(w, generator=g),
    "kaiming": lambda w, g: init.kaiming_normal_(w, nonlinearity="relu", generator=g),
    "pytorch default": _pytorch_default,
}

ACTIVATIONS = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "linear": lambda z: z,
}


def layer_statistics(initializer, activation, depth, *, width=128, batch=256, sample=2000, seed=0):
    r"""Per-layer statistics of the probe network (see the module's docstring), in float64.

    Returns a dict of CPU tensors: ``activation_std`` and ``gradient_std`` of shape ``(depth,)``
    (entry ``l - 1`` is layer ``l``: the standard deviation over every unit and example of
    :math:`\mathbf{h}_l` and of :math:`\partial \text{loss} / \partial \mathbf{h}_l`), and
    ``activations`` and ``gradients`` of shape ``(depth, sample)``, the same ``sample`` entries of
    every layer, for histograms. The same arguments give bit-for-bit the same numbers.
    """
    if initializer not in INITIALIZERS:
        raise ValueError(f"unknown initializer {initializer!r}; choose one of {list(INITIALIZERS)}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {list(ACTIVATIONS)}")
    if int(depth) < 1 or int(width) < 1 or int(batch) < 2:
        raise ValueError(f"need depth >= 1, width >= 1 and batch >= 2, got {depth}, {width}, {batch}")
    sample = min(int(sample), batch * width)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: one thread is faster, and the same on every machine
    try:
        return _probe(initializer, activation, int(depth), int(width), int(batch), sample, seed)
    finally:
        torch.set_num_threads(threads)


def _probe(initializer, activation, depth, width, batch, sample, seed):
    generator = torch.Generator().manual_seed(seed)
    f = ACTIVATIONS[activation]
    x = torch.randn(batch, width, generator=generator, dtype=torch.float64)
    upstream = torch.randn(batch, width, generator=generator, dtype=torch.float64)
    picked = torch.randperm(batch * width, generator=generator)[:sample]
    weights = [torch.empty(width, width, dtype=torch.float64) for _ in range(depth)]
    for w in weights:
        INITIALIZERS[initializer](w, generator)
        w.requires_grad_(True)

    h, hidden = x, []
    for w in weights:
        h = f(h @ w.T)
        h.retain_grad()  # keep d loss / d h_l of this intermediate tensor in h.grad
        hidden.append(h)
    (h * upstream).sum().backward()

    acts = torch.stack([a.detach().reshape(-1) for a in hidden])
    grads = torch.stack([a.grad.reshape(-1) for a in hidden])
    return dict(activation_std=acts.std(dim=1), gradient_std=grads.std(dim=1),
                activations=acts[:, picked].clone(), gradients=grads[:, picked].clone())


def statistics_grid(initializers, activations, depths, **kwargs):
    """``{(initializer, activation, depth): layer_statistics(...)}`` for every combination."""
    return {(i, a, d): layer_statistics(i, a, d, **kwargs)
            for i in initializers for a in activations for d in depths}
