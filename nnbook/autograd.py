r"""A small reverse-mode automatic differentiation engine on torch tensors.

In the spirit of Karpathy's micrograd, but every :class:`Value` holds a whole tensor. An
operation computes its output from its inputs' ``.data`` and records, in the output, its inputs
(the *parents*) and a *backward rule*: given :math:`g = \partial L / \partial\,\text{output}`,
the rule returns :math:`\partial L / \partial\,\text{input}` for each parent (the chain rule).
:meth:`Value.backward` orders the graph so that every node comes after everything that uses it,
then walks that order applying the rules, summing the contributions of a node used more than
once. Leaves created with ``requires_grad=True`` receive the result in ``.grad``, which, as in
PyTorch, *accumulates* over calls to ``backward`` until you reset it (``v.grad = None``).

The operations are those of the book's worked network: ``+``, ``-``, ``*``, ``@``,
:meth:`~Value.relu`, :meth:`~Value.sigmoid`, :meth:`~Value.sum`, :meth:`~Value.mean` and
:func:`cross_entropy` of logits. Autograd itself is never used: the engine works on plain
tensors under ``torch.no_grad()``. ``tests/test_autograd.py`` checks it against
``torch.autograd`` in float64, operation by operation and on a whole training run.
"""

import torch

from nnbook import functional as F
from nnbook.backprop import cross_entropy_backward

__all__ = ["Value", "cross_entropy", "linear", "parameters_of"]


def _unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the gradient of a broadcast input.

    An input of shape (3,) added to a (N, 3) batch is used N times, once per row, so its gradient
    is the sum of the N rows' gradients; a dimension of size 1 that was stretched is summed too.
    """
    while grad.dim() > len(shape):            # leading dimensions that broadcasting added
        grad = grad.sum(dim=0)
    for dim, size in enumerate(shape):
        if size == 1 and grad.shape[dim] != 1:
            grad = grad.sum(dim=dim, keepdim=True)
    return grad


class Value:
    """A tensor that remembers how it was computed.

    ``data`` is the tensor; ``grad`` is :math:`\\partial L / \\partial\\,\\text{data}` after
    ``L.backward()`` (leaves with ``requires_grad=True`` only, else ``None``); ``parents`` are the
    Values it was computed from and ``backward_rule(g)`` returns one gradient per parent.
    """

    def __init__(self, data, requires_grad=False, *, parents=(), backward_rule=None, op=""):
        self.data = data.detach() if isinstance(data, torch.Tensor) else torch.as_tensor(data)
        self.grad = None
        self.parents = tuple(parents)
        self.backward_rule = backward_rule
        self.op = op                                   # the operation's name, for printing
        self.requires_grad = bool(requires_grad) or any(p.requires_grad for p in self.parents)

    def __repr__(self):
        origin = f", op={self.op!r}" if self.op else ""
        return f"Value(shape={tuple(self.data.shape)}{origin})"

    @property
    def shape(self):
        return self.data.shape

    def _result(self, data, parents, rule, op):
        return Value(data, parents=parents, backward_rule=rule, op=op)

    # ----------------------------------------------------------------------------- operations

    def __add__(self, other):
        r"""z = a + b (with broadcasting): :math:`\partial L/\partial a = g` summed to a's shape."""
        other = _as_value(other)
        try:
            data = self.data + other.data
        except RuntimeError:
            raise ValueError(f"cannot add shapes {tuple(self.shape)} and {tuple(other.shape)}: "
                             "they do not broadcast") from None
        a, b = self.shape, other.shape
        return self._result(data, (self, other),
                            lambda g: (_unbroadcast(g, a), _unbroadcast(g, b)), "+")

    __radd__ = __add__

    def __neg__(self):
        """z = -a: dL/da = -g."""
        return self._result(-self.data, (self,), lambda g: (-g,), "neg")

    def __sub__(self, other):
        return self + (-_as_value(other))

    def __rsub__(self, other):
        return _as_value(other) + (-self)

    def __mul__(self, other):
        r"""z = a * b elementwise: :math:`\partial L/\partial a = g\,b`, :math:`\partial L/\partial b = g\,a`."""
        other = _as_value(other)
        try:
            data = self.data * other.data
        except RuntimeError:
            raise ValueError(f"cannot multiply shapes {tuple(self.shape)} and "
                             f"{tuple(other.shape)}: they do not broadcast") from None
        a, b = self.data, other.data
        return self._result(data, (self, other), lambda g: (
            _unbroadcast(g * b, a.shape), _unbroadcast(g * a, b.shape)), "*")

    __rmul__ = __mul__

    def __matmul__(self, other):
        r"""Z = A @ B for matrices (N, K) @ (K, M):
        :math:`\partial L/\partial A = G B^\top`, :math:`\partial L/\partial B = A^\top G`."""
        other = _as_value(other)
        a, b = self.data, other.data
        if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
            raise ValueError(f"matmul needs matrices (N, K) @ (K, M), got {tuple(a.shape)} @ "
                             f"{tuple(b.shape)}")
        return self._result(a @ b, (self, other), lambda g: (g @ b.T, a.T @ g), "@")

    def __rmatmul__(self, other):
        return _as_value(other) @ self

    @property
    def T(self):
        """The transpose of a matrix: dL/da = g transposed back."""
        if self.data.dim() != 2:
            raise ValueError(f".T needs a matrix, got shape {tuple(self.shape)}")
        return self._result(self.data.T, (self,), lambda g: (g.T,), "T")

    def relu(self):
        r"""z = max(a, 0): :math:`\partial L/\partial a = g \odot [a > 0]`."""
        a = self.data
        return self._result(F.relu(a), (self,), lambda g: (g * F.relu_grad(a),), "relu")

    def sigmoid(self):
        r"""z = σ(a): :math:`\partial L/\partial a = g \odot σ(a)(1 - σ(a))`."""
        a = self.data
        return self._result(F.sigmoid(a), (self,), lambda g: (g * F.sigmoid_grad(a),), "sigmoid")

    def sum(self):
        r"""z = Σ a_i (a scalar): :math:`\partial L/\partial a_i = g` for every i."""
        shape = self.shape
        return self._result(self.data.sum(), (self,), lambda g: (g.expand(shape).clone(),), "sum")

    def mean(self):
        r"""z = (1/n) Σ a_i: :math:`\partial L/\partial a_i = g / n`."""
        shape, n = self.shape, self.data.numel()
        return self._result(self.data.mean(), (self,),
                            lambda g: ((g / n).expand(shape).clone(),), "mean")

    # ----------------------------------------------------------------------------- backward

    def backward(self, gradient=None):
        r"""Fill ``.grad`` of every leaf that requires it with :math:`\partial\,\text{self} / \partial\,\text{leaf}`.

        For a scalar ``self`` the starting gradient is 1; otherwise pass ``gradient``, a tensor of
        ``self``'s shape (the gradient of some scalar with respect to ``self``). Gradients add to
        what ``.grad`` already holds.
        """
        if not self.requires_grad:
            raise RuntimeError("this Value does not depend on any Value with requires_grad=True")
        if gradient is None:
            if self.data.numel() != 1:
                raise RuntimeError(f"backward() without a gradient needs a scalar, but this Value "
                                   f"has shape {tuple(self.shape)}; pass gradient= of that shape")
            gradient = torch.ones_like(self.data)
        gradient = torch.as_tensor(gradient, dtype=self.data.dtype, device=self.data.device)
        if gradient.shape != self.shape:
            raise ValueError(f"gradient has shape {tuple(gradient.shape)} but the Value has shape "
                             f"{tuple(self.shape)}")
        grads = {id(self): gradient}
        with torch.no_grad():
            for node in reversed(self._topological_order()):
                g = grads.pop(id(node))
                if not node.parents:                      # a leaf: store, accumulating
                    if node.requires_grad:
                        node.grad = g.clone() if node.grad is None else node.grad + g
                    continue
                for parent, parent_grad in zip(node.parents, node.backward_rule(g)):
                    if parent.requires_grad:              # a node used twice gets both terms
                        key = id(parent)
                        grads[key] = grads[key] + parent_grad if key in grads else parent_grad

    def _topological_order(self):
        """Every node reachable from self, each after all of its parents (iterative DFS)."""
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node.parents
                             if p.requires_grad and id(p) not in seen)
        return order


def _as_value(x):
    return x if isinstance(x, Value) else Value(torch.as_tensor(x))


def cross_entropy(logits, target):
    r"""Mean cross-entropy of logits (N, C) against class indices (N,).

    .. math::
        L = \frac1N \sum_n \Bigl(\log \sum_c e^{z_{nc}} - z_{n y_n}\Bigr), \qquad
        \frac{\partial L}{\partial z} = g\,\frac{\mathrm{softmax}(z) - \mathrm{onehot}(y)}{N}
    """
    z = logits.data
    if z.dim() != 2 or target.dim() != 1 or len(target) != len(z):
        raise ValueError(f"cross_entropy needs logits (N, C) and targets (N,), got "
                         f"{tuple(z.shape)} and {tuple(target.shape)}")
    return logits._result(F.cross_entropy(z, target), (logits,),
                          lambda g: (g * cross_entropy_backward(z, target),), "cross_entropy")


def linear(x, weight, bias=None):
    r"""The layer of ``torch.nn.Linear``: :math:`z = x W^\top + b`, built from ``@``, ``.T`` and ``+``."""
    z = _as_value(x) @ weight.T
    return z if bias is None else z + bias


def parameters_of(model):
    """{name: Value} holding a float copy of each parameter of ``model``, with requires_grad=True.

    The copies are independent of the model: training them leaves the model unchanged.
    """
    return {name: Value(p.detach().clone(), requires_grad=True)
            for name, p in model.named_parameters()}
