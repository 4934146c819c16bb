"""Answers as plain data: encode any returned value, describe it, and compare it with the expected one.

A student's function may return anything: a tensor on the wrong device, a NumPy array, a generator,
an object whose ``repr`` raises. :func:`encode` turns whatever came back into a small tree of
tuples made only of ``str``, ``int``, ``float``, ``bool``, ``None``, lists and CPU tensors. That
form has two jobs:

* it crosses from the grading child process to the grader through ``torch.load(weights_only=True)``,
  which refuses to run code, so a hostile answer cannot execute anything in the grader;
* :func:`compare` works on it alone, so the notebook's public checks and the grader judge an
  answer by exactly the same rules.

Encoded kinds: ``("tensor", device_type, dtype, shape, cpu_values_or_None, note)``,
``("int", v)``, ``("float", v)``, ``("bool", v)``, ``("str", s)``, ``("none",)``,
``("tuple", items)``, ``("list", items)``, ``("dict", [(key, value), ...])`` and
``("other", type_name, short_repr)``.
"""

import math
import numbers

import torch

__all__ = ["encode", "plain_tensor", "owned", "describe", "compare", "tolerances", "Unconvertible"]

# Answers bigger than this are described but not copied: they are wrong for every exercise we
# set, and copying them could exhaust memory or the result file's size limit.
MAX_TENSOR_ELEMENTS = 10_000_000
MAX_ITEMS = 1_000
MAX_DEPTH = 10
MAX_TEXT = 200


def encode(value, depth: int = 0):
    """Return the plain-data form of ``value`` (see the module docstring)."""
    if issubclass(type(value), torch.Tensor):  # type() cannot be faked, unlike isinstance's __class__
        return _encode_tensor(value)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, numbers.Integral):
        return ("int", int(value))
    if isinstance(value, numbers.Real):
        return ("float", float(value))
    if isinstance(value, str):
        return ("str", value[:MAX_TEXT])
    if value is None:
        return ("none",)
    if isinstance(value, (tuple, list)) and depth < MAX_DEPTH:
        kind = "tuple" if isinstance(value, tuple) else "list"
        return (kind, [encode(item, depth + 1) for item in value[:MAX_ITEMS]])
    if isinstance(value, dict) and depth < MAX_DEPTH:
        items = list(value.items())[:MAX_ITEMS]
        return ("dict", [(_short_repr(key), encode(item, depth + 1)) for key, item in items])
    return ("other", _type_name(value), _short_repr(value))


class Unconvertible(Exception):
    """A returned tensor that cannot be turned into a plain one."""


def plain_tensor(t: torch.Tensor):
    """(device type, a plain dense CPU copy of ``t``): the grader's own tensor, made from the data.

    Attributes are read through torch's C getters with ``__torch_function__`` switched off, so a
    subclass cannot lie about its dtype, shape or device; the copy is checked to be exactly a
    ``torch.Tensor``, so none of the subclass's methods survives. Anything that fails raises
    :class:`Unconvertible` with the reason.
    """
    base = torch._C.TensorBase
    try:
        with torch._C.DisableTorchFunction():
            device = base.device.__get__(t)
            layout = base.layout.__get__(t)
            numel = base.numel(t)
            if device.type == "meta":
                return device.type, None, "it holds no values (meta device)"
            if layout != torch.strided:
                return device.type, None, f"it is a {layout} tensor, not a dense one"
            if numel > MAX_TENSOR_ELEMENTS:
                return device.type, None, f"it has {numel:,} elements, too many to compare"
            values = base.contiguous(base.to(base.detach(t), "cpu", copy=True))
    except Exception as exc:
        raise Unconvertible(f"{type(exc).__name__}") from None
    if type(values) is not torch.Tensor:  # a __torch_dispatch__ subclass that will not let go
        raise Unconvertible(f"copying it gave a {type(values).__name__}")
    return device.type, values, ""


def _encode_tensor(t: torch.Tensor):
    try:
        device, values, note = plain_tensor(t)
    except Unconvertible as exc:
        return ("other", _type_name(t), f"could not be converted into a plain tensor ({exc})")
    if values is None:
        base = torch._C.TensorBase
        with torch._C.DisableTorchFunction():
            return ("tensor", device, str(base.dtype.__get__(t)), tuple(int(n) for n in base.shape.__get__(t)),
                    None, note)
    # dtype and shape are read from the plain copy, the data itself.
    return ("tensor", device, str(values.dtype), tuple(values.shape), values, "")


def owned(encoded, depth: int = 0):
    """An encoded value as it came from a submission, checked and rebuilt by the grader: plain
    Python and exact ``torch.Tensor`` objects only, each tensor's dtype and shape read from its
    data. Raises ValueError for anything else (a malformed observation is that case's failure)."""
    if depth > MAX_DEPTH + 2 or not isinstance(encoded, (tuple, list)) or not encoded:
        raise ValueError("malformed value")
    kind = encoded[0]
    if kind == "tensor":
        _, device, dtype, shape, values, note = encoded
        if values is None:
            return ("tensor", str(device), str(dtype), tuple(int(n) for n in shape), None, str(note))
        if type(values) is not torch.Tensor or values.layout != torch.strided:
            raise ValueError("not a plain tensor")
        return ("tensor", str(device), str(values.dtype), tuple(values.shape), values, "")
    if kind in ("tuple", "list"):
        return (kind, [owned(item, depth + 1) for item in encoded[1]])
    if kind == "dict":
        return (kind, [(str(k), owned(v, depth + 1)) for k, v in encoded[1]])
    if kind in ("int", "float", "bool", "str") and type(encoded[1]).__name__ == {"int": "int", "float": "float",
                                                                                  "bool": "bool", "str": "str"}[kind]:
        return (kind, encoded[1])
    if kind == "none":
        return ("none",)
    if kind == "other":
        return ("other",) + tuple(str(item) for item in encoded[1:3])
    raise ValueError("malformed value")


def _type_name(value) -> str:
    cls = type(value)
    module = getattr(cls, "__module__", "")
    name = getattr(cls, "__qualname__", cls.__name__)
    return name if module in ("builtins", "") else f"{module}.{name}"


def _short_repr(value) -> str:
    try:
        text = repr(value)
    except Exception:  # a hostile or broken __repr__ must not stop the grading
        text = f"<{_type_name(value)}>"
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


# --------------------------------------------------------------------------- describing

def describe(encoded) -> str:
    """A short English phrase for an encoded value: 'a tensor of shape (4, 512), torch.float32, on cpu'."""
    kind = encoded[0]
    if kind == "tensor":
        _, device, dtype, shape, _, _ = encoded
        return f"a tensor of shape {_shape(shape)}, {dtype}, on {device}"
    if kind in ("int", "float", "bool", "str"):
        return f"the {kind} {encoded[1]!r}"
    if kind == "none":
        return "None"
    if kind in ("tuple", "list"):
        count = len(encoded[1])
        return f"a {kind} of {count} item{'s' if count != 1 else ''}"
    if kind == "dict":
        return f"a dict with {len(encoded[1])} keys"
    if len(encoded) > 2 and str(encoded[2]).startswith("could not be"):
        return f"a {encoded[1]} object that {encoded[2]}"
    return f"a {encoded[1]} object"


def _shape(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _number(x: float) -> str:
    return f"{x:.6g}"


# --------------------------------------------------------------------------- comparing

def tolerances(dtype: str):
    """(rtol, atol) for comparing floating tensors of this dtype: loose enough for a different but
    correct order of summation, tight enough to catch a wrong formula."""
    if dtype in ("torch.float16", "torch.bfloat16"):
        return 1e-2, 1e-3
    if dtype == "torch.float64":
        return 1e-7, 1e-9
    return 1e-4, 1e-5


def compare(expected, got, label: str = "the result", device: str = "cpu"):
    """Return None when ``got`` matches ``expected`` (both encoded), else one sentence saying what
    is wrong. Tensors in ``expected`` are required to be on ``device`` (the inputs' device)."""
    kind = expected[0]
    if kind == "tensor":
        return _compare_tensor(expected, got, label, device)
    if kind in ("tuple", "list"):
        return _compare_sequence(expected, got, label, device)
    if kind == "dict":
        return _compare_dict(expected, got, label, device)
    if kind == "int":
        if got[0] != "int":
            return f"{label} should be the int {expected[1]}, but it is {describe(got)}"
        return None if got[1] == expected[1] else f"{label} should be {expected[1]}, but it is {got[1]}"
    if kind == "float":
        if got[0] not in ("float", "int") or not math.isclose(got[1], expected[1], rel_tol=1e-6, abs_tol=1e-9):
            return f"{label} should be about {_number(expected[1])}, but it is {describe(got)}"
        return None
    return None if got == expected else f"{label} should be {describe(expected)}, but it is {describe(got)}"


def _compare_sequence(expected, got, label, device):
    if got[0] not in ("tuple", "list"):
        return f"{label} should be a {expected[0]} of {len(expected[1])} items, but it is {describe(got)}"
    if len(got[1]) != len(expected[1]):
        return f"{label} should have {len(expected[1])} items, but it has {len(got[1])}"
    for index, (want, have) in enumerate(zip(expected[1], got[1])):
        problem = compare(want, have, f"item {index} of {label}", device)
        if problem:
            return problem
    return None


def _compare_dict(expected, got, label, device):
    # a dict holding tensors cannot be compared with ==: compare its keys, then each value
    if got[0] != "dict":
        return f"{label} should be a dict, but it is {describe(got)}"
    want_keys, got_keys = [k for k, _ in expected[1]], [k for k, _ in got[1]]
    if got_keys != want_keys:
        return (f"{label} should have the keys {', '.join(want_keys)}, in this order, but it has "
                f"{', '.join(got_keys) or 'none'}")
    for (key, want), (_, have) in zip(expected[1], got[1]):
        problem = compare(want, have, f"item {key} of {label}", device)
        if problem:
            return problem
    return None


def _compare_tensor(expected, got, label, device):
    if got[0] != "tensor":
        return f"{label} should be a torch.Tensor, but it is {describe(got)}"
    _, _, want_dtype, want_shape, want, _ = expected
    _, got_device, got_dtype, got_shape, have, note = got
    if got_device != device:
        return f"{label} should be on the inputs' device ({device}), but it is on {got_device}"
    if tuple(got_shape) != tuple(want_shape):
        return f"{label} should have shape {_shape(want_shape)}, but it has shape {_shape(got_shape)}"
    if got_dtype != want_dtype:
        return f"{label} should have dtype {want_dtype}, but it has dtype {got_dtype}"
    if have is None:
        return f"{label} cannot be compared: {note}"
    return _compare_values(want, have, label, want_dtype)


def _compare_values(want: torch.Tensor, have: torch.Tensor, label: str, dtype: str):
    if not want.is_floating_point() and not want.is_complex():
        wrong = have != want
    else:
        rtol, atol = tolerances(dtype)
        nan = torch.isnan(have) & ~torch.isnan(want)
        if nan.any():
            return f"{label} contains NaN at {int(nan.sum())} of {have.numel()} positions"
        wrong = ~torch.isclose(have, want, rtol=rtol, atol=atol, equal_nan=True)
    if not wrong.any():
        return None
    first = tuple(int(i) for i in wrong.nonzero()[0])
    where = f"index {list(first)}" if first else "its only position"
    return (f"{label} has wrong values at {int(wrong.sum())} of {have.numel()} positions; "
            f"at {where} it should be {_number(want[first].item())} but is {_number(have[first].item())}")
