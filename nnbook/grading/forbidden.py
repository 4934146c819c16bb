"""Forbidden functions: a question may refuse the library calls that would do its work.

While a learner's answer runs (in the check cells and in the grader), each forbidden
``(owner, name)`` is replaced by a function that raises :class:`ForbiddenFunction`; the
reference answer runs without the restriction. Used by exercise sets whose questions say
"without torch's own X".

>>> import torch
>>> with forbidden([(torch, "logsumexp")]):
...     try:
...         torch.logsumexp(torch.zeros(2), 0)
...     except ForbiddenFunction as error:
...         print(error)
torch.logsumexp is not allowed in this question
>>> float(torch.logsumexp(torch.zeros(1), 0))
0.0
"""

import contextlib
import types

import torch
import torch.nn.functional as TF

import nnbook.functional

__all__ = ["AUTOGRAD", "AtenOps", "ForbiddenFunction", "forbidden", "without", "matching",
           "methods_of"]

#: put this in ``functions`` to refuse autograd itself. It replaces the engine that
#: ``Tensor.backward``, ``torch.autograd.grad`` (also a copy imported earlier) and ``torch.func.grad``/
#: ``vjp`` run through; it refuses any operation that would save a tensor for a backward pass (so an
#: engine captured before the block, or a ``grad_fn`` node called directly, finds no graph to run);
#: and it forbids forward mode (``torch.func.jvp``/``jacfwd``/``hessian``, ``torch.autograd.forward_ad``),
#: ``torch.autograd.functional`` and ATen's backward kernels (``torch.ops.aten.*_backward*``).
#: What it cannot stop: a learner who writes the derivative by hand, which is the exercise.
AUTOGRAD = "autograd engine"

# ATen's backward kernels by name: torch.ops.aten loads an operator on first access, so ``dir``
# does not list them until something has used them
_ATEN_BACKWARD = (
    "nll_loss_backward", "nll_loss2d_backward", "nll_loss_nd_backward", "_log_softmax_backward_data",
    "_softmax_backward_data", "sigmoid_backward", "tanh_backward", "threshold_backward",
    "gelu_backward", "elu_backward", "hardtanh_backward", "leaky_relu_backward", "silu_backward",
    "softplus_backward", "mse_loss_backward", "binary_cross_entropy_backward",
    "binary_cross_entropy_with_logits_backward", "smooth_l1_loss_backward", "huber_loss_backward",
    "native_layer_norm_backward", "native_batch_norm_backward", "native_dropout_backward",
    "embedding_dense_backward", "convolution_backward", "linear_backward", "mkldnn_linear_backward",
    "mkldnn_linear_backward_input", "mkldnn_linear_backward_weights", "_make_dual", "_unpack_dual",
    "logsumexp_backward", "log_sigmoid_backward", "mish_backward", "hardsigmoid_backward",
    "hardswish_backward", "prelu_backward", "_prelu_kernel_backward", "glu_backward",
    "rrelu_with_noise_backward", "soft_margin_loss_backward", "multilabel_margin_loss_backward",
    "multi_margin_loss_backward", "l1_loss_backward", "kl_div_backward",
)


def _autograd_functions():
    """(owner, name) of the routes around the engine that the AUTOGRAD entry also forbids."""
    import torch.autograd.forward_ad
    import torch.autograd.functional
    import torch.func
    return ([(torch, name) for name in ("_make_dual", "_unpack_dual", "_make_dual_copy",
                                        "_log_softmax_backward_data", "_softmax_backward_data")
             if hasattr(torch, name)]
            + [(torch.autograd.forward_ad, name) for name in ("make_dual", "unpack_dual")]
            + [(torch.func, name) for name in ("grad", "grad_and_value", "vjp", "jvp", "jacfwd",
                                               "jacrev", "hessian", "linearize")
               if hasattr(torch.func, name)]
            + [(torch.autograd.functional, name) for name in ("vjp", "jvp", "jacobian", "hessian",
                                                              "vhp", "hvp")]
            + matching(torch.ops.aten, ["_backward"], names=_ATEN_BACKWARD))


def _refuse_saving(tensor):
    # a pack hook: runs whenever an operation saves a tensor for a backward pass
    raise ForbiddenFunction("autograd is not allowed in this question (an operation recorded a "
                            "tensor for a backward pass)")


class ForbiddenFunction(RuntimeError):
    """Raised by a library function that a question does not allow its answer to call."""


def _qualified(owner, name):
    prefix = {torch.Tensor: "Tensor", TF: "torch.nn.functional", torch._C._nn: "torch._C._nn",
              nnbook.functional: "nnbook.functional", torch.ops.aten: "torch.ops.aten"}.get(
        owner, getattr(owner, "__qualname__", getattr(owner, "__name__", "?")))
    return f"{prefix}.{name}"


class _RefusingEngine:
    """Stands in for autograd's C++ engine: every method raises ForbiddenFunction."""

    def __getattr__(self, name):
        def refuse(*args, **kwargs):
            raise ForbiddenFunction("autograd is not allowed in this question")
        return refuse


def _refuse_by_code(*args, **kwargs):
    # runs as the forbidden function's own code, so copies imported earlier refuse too
    # (it runs with the forbidden function's globals, so it names nothing of this module's)
    from nnbook.grading.forbidden import ForbiddenFunction
    code = __import__("sys")._getframe().f_code
    name = getattr(code, "co_qualname", code.co_name)       # co_qualname: Python 3.11 and later
    raise ForbiddenFunction(f"{name} is not allowed in this question")


class AtenOps:
    """An entry of ``functions``: refuse every ATen operator whose name contains a fragment.

    Some owners cannot be patched (``torch._C._VariableFunctions`` is immutable, and its
    ``batch_norm`` reaches the same kernel as ``torch.batch_norm``); this entry refuses the
    operators themselves, at PyTorch's dispatcher (a ``TorchDispatchMode``), whichever Python
    name led to them. ``AtenOps(["batch_norm"])`` refuses ``aten::native_batch_norm``,
    ``aten::_native_batch_norm_legit`` and every other operator with that fragment in its name.
    """

    def __init__(self, fragments):
        self.fragments = tuple(fragments)

    def mode(self):
        from torch.utils._python_dispatch import TorchDispatchMode
        fragments = self.fragments

        class _Refusing(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                name = func._schema.name.split("::")[-1]
                if any(fragment in name for fragment in fragments):
                    raise ForbiddenFunction(f"torch.ops.aten.{name} is not allowed in this "
                                            "question")
                return func(*args, **(kwargs or {}))

        return _Refusing()


def _load_lazy_parts_of_torch():
    # PyTorch imports some of its own modules on first use (torch._dynamo, when an answer first
    # reaches code that needs it); importing one while operators are replaced by refusing
    # functions fails inside PyTorch ("'function' object has no attribute 'default'") and would
    # fail an honest answer. So they are loaded before anything is replaced (the grader's fork
    # server has loaded them already; a child under its resource limits may not manage to).
    try:
        import torch._dynamo  # noqa: F401
    except Exception:  # loading is a convenience: the ban itself does not depend on it
        pass


@contextlib.contextmanager
def forbidden(functions):
    """Make each (owner, name) in ``functions`` raise ForbiddenFunction until the block ends.

    The entry :data:`AUTOGRAD` replaces autograd's engine (``Variable._execution_engine``), refuses
    saving tensors for backward (``torch.autograd.graph.saved_tensors_hooks``) and forbids the
    routes around the engine listed at :data:`AUTOGRAD`; all of it is undone when the block ends,
    also after an exception. An :class:`AtenOps` entry refuses operators at the dispatcher. A plain
    Python function without a closure also has its code swapped, so that a copy bound under
    another name (``from module import f as g``) refuses as well.
    """
    _load_lazy_parts_of_torch()
    saved = []
    engine = None
    codes = []
    hooks = contextlib.ExitStack()
    functions = list(functions)
    if AUTOGRAD in functions:
        functions += [entry for entry in _autograd_functions() if entry not in functions]
    modes = contextlib.ExitStack()  # AtenOps entries
    try:
        for entry in functions:
            if isinstance(entry, AtenOps):
                modes.enter_context(entry.mode())
                continue
            if entry == AUTOGRAD:
                if engine is None:
                    engine = torch.autograd.Variable._execution_engine
                    torch.autograd.Variable._execution_engine = _RefusingEngine()
                    hooks.enter_context(
                        torch.autograd.graph.saved_tensors_hooks(_refuse_saving, lambda x: x))
                continue
            owner, name = entry
            if any(owner is o and name == n for o, n, _, _ in saved):
                continue
            original = getattr(owner, name)
            if (isinstance(original, types.FunctionType) and not original.__code__.co_freevars):
                codes.append((original, original.__code__))
                names = {"co_name": original.__name__}
                if hasattr(original.__code__, "co_qualname"):  # Python 3.11 and later
                    names["co_qualname"] = _qualified(owner, name)
                original.__code__ = _refuse_by_code.__code__.replace(**names)
            own = name in vars(owner)
            # the raw attribute, so that a staticmethod comes back as a staticmethod
            saved.append((owner, name, own, vars(owner)[name] if own else getattr(owner, name)))

            def refuse(*args, _name=_qualified(owner, name), **kwargs):
                raise ForbiddenFunction(f"{_name} is not allowed in this question")

            setattr(owner, name, refuse)
        yield
    finally:
        hooks.close()
        modes.close()
        for function, code in reversed(codes):
            function.__code__ = code
        if engine is not None:
            torch.autograd.Variable._execution_engine = engine
        for owner, name, own, original in reversed(saved):
            if own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)


def matching(owner, fragments, names=()):
    """(owner, name) for every attribute of ``owner`` whose name contains one of ``fragments``.

    ``names`` adds attributes that ``dir`` does not list yet (``torch.ops.aten`` loads its
    operators on first access); those that do not exist are skipped. So
    ``matching(torch, ["batch_norm"])`` finds ``torch.batch_norm``, ``torch.native_batch_norm``,
    ``torch._native_batch_norm_legit`` and the others, whatever this PyTorch version calls them.
    """
    found = {name for name in dir(owner) if any(fragment in name for fragment in fragments)}
    found |= {name for name in names if hasattr(owner, name)}
    return [(owner, name) for name in sorted(found)]


def methods_of(cls):
    """(cls, name) for every function ``cls`` defines itself, private helpers included.

    Forbidding only ``forward`` leaves the helpers it calls usable; this forbids them all.
    """
    return [(cls, name) for name, value in vars(cls).items()
            if not name.startswith("__") and callable(getattr(cls, name))
            and (isinstance(value, (staticmethod, classmethod)) or callable(value))]


def without(functions, reference):
    """A Question ``call``: run the answer with ``functions`` forbidden (the reference freely)."""
    def call(function, args):
        if function is reference:
            return function(*args)
        with forbidden(functions):
            return function(*args)
    return call
