"""Exercise set 9, "Handwritten digits, and the GPU": the questions of
solutions/09-handwritten-digits.ipynb.

q1 ``standardize_pixels(train, *others)``       standardize every pixel (column) with the training
                                                rows' own mean and standard deviation, a constant
                                                pixel included, and apply the same map to the other
                                                parts (2 points)
q2 ``predict_all(model, loader, device)``       an evaluation loop: every prediction and target of
                                                a loader, in order, on the CPU, computed in eval
                                                mode without gradients on ``device``, the model's
                                                mode restored (3 points)
q3 ``to_device(batch, device)``                 move a nested batch (tuples, lists, dicts) of
                                                tensors to a device, leaving everything else as it
                                                is, without torch's pytree utilities (2 points)

Public cases are the ones the notebook's check cells run; the others are instructor cases that
only the grader runs (constant pixels, float64, no other parts, empty parts, a model left in
training mode, dropout, an empty loader, the ``meta`` device, nested dicts). Every case also checks
that the inputs were not modified, and tensor cases are repeated on the GPU when one is present
(q2 and q3 then move to ``cuda``).

q2 and q3 are graded through a ``call`` that turns what the answer returned into plain data: for q2
the predictions and targets as lists, the device type of the returned tensors, the model's mode
afterwards, whether any forward pass ran with gradients on and on which device types the model got
its inputs (a case with a stand-in model "on" the ``meta`` device fails an answer that never moves
its inputs, or never moves its predictions back to the CPU, even on a machine without a GPU: the
stand-in's logits are a tensor subclass that stays itself until moved to the CPU); for q3 (run
with torch's pytree utilities forbidden, ``FORBIDDEN_Q3``) the structure, with each
tensor's device type, dtype, shape and values. ``meta`` tensors have no values, so a case on the
``meta`` device tells an answer that moves nothing from one that moves everything, even on a
machine without a GPU.
"""

import torch
import torch.utils._pytree
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from nnbook.grading.forbidden import forbidden, matching
from nnbook.grading.inputs import randn
from nnbook.grading.questions import Case, ExerciseSet, Question


# --------------------------------------------------------------------------- q1: standardize_pixels

def standardize_pixels_reference(train, *others):
    """Each column minus the training mean, divided by the training standard deviation (1 where it is 0)."""
    mean, std = train.mean(dim=0), train.std(dim=0)
    scale = torch.where(std > 0, std, torch.ones_like(std))
    return tuple((x - mean) / scale for x in (train, *others))


def _pixels(seed, rows, columns, dtype, device, constant=()):
    x = randn(seed, rows, columns, dtype=dtype, device=device, scale=4.0) + 5.0
    for column, value in constant:
        x[:, column] = value
    return x


def _standardize_case(name, train_rows, other_rows, columns, seed, *, public=False,
                      dtype=torch.float32, constant=(), hint=""):
    def make_args(device):
        train = _pixels(seed, train_rows, columns, dtype, device, constant)
        others = [_pixels(seed + 10 + k, rows, columns, dtype, device)
                  for k, rows in enumerate(other_rows)]
        return (train, *others)
    return Case(name, make_args, public=public, hint=hint)


Q1 = Question(
    id="q1", answer="standardize_pixels", args=("train", "others"),
    reference=standardize_pixels_reference, points=2,
    title="Standardize every pixel with the training images' statistics",
    hint="decide along which dimension the statistics are taken, and what dividing means for a "
         "pixel that never changes in the training images",
    cases=(
        _standardize_case("training and test, 6 pixels", 20, (7,), 6, 900, public=True),
        _standardize_case("a constant pixel", 10, (5,), 4, 910, constant=((1, 0.0),), public=True,
                          hint="a pixel that is the same in every training image has spread 0"),
        _standardize_case("validation and test parts", 30, (8, 9), 5, 920),
        _standardize_case("no other part", 12, (), 3, 930),
        _standardize_case("two constant pixels, one of them not 0", 15, (6,), 5, 940,
                          constant=((0, 0.0), (3, 5.0)),
                          hint="the other parts may differ from the training value at a constant "
                               "pixel: are the distances between them kept?"),
        _standardize_case("an empty other part (0 rows)", 10, (0,), 4, 950),
        _standardize_case("float64, 64 pixels", 50, (20,), 64, 960, dtype=torch.float64),
        _standardize_case("two training rows", 2, (3,), 4, 970),
    ),
)


# --------------------------------------------------------------------------- q2: predict_all

def predict_all_reference(model, loader, device=None):
    """(predictions, targets): int64 CPU tensors over the loader, in eval mode, without gradients."""
    was_training = model.training
    model.eval()
    predictions, targets = [torch.zeros(0, dtype=torch.long)], [torch.zeros(0, dtype=torch.long)]
    with torch.no_grad():
        for inputs, labels in loader:
            if device is not None:
                inputs = inputs.to(device)
            predictions.append(model(inputs).argmax(dim=1).cpu())
            targets.append(labels.cpu().long())
    model.train(was_training)
    return torch.cat(predictions), torch.cat(targets)


class _Watched(nn.Module):
    """Linear → Dropout(0.5) → Linear: different outputs in training mode; remembers whether any
    forward pass ran with gradients enabled or in training mode."""

    def __init__(self, features, classes, seed):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.first, self.drop, self.second = nn.Linear(features, 16), nn.Dropout(0.5), nn.Linear(16, classes)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=generator))
        self.forward_with_grad = False

    def forward(self, x):
        self.forward_with_grad |= torch.is_grad_enabled()
        return self.second(self.drop(torch.relu(self.first(x))))


class _LogitsOnDevice(torch.Tensor):
    """Logits "on the model's device": the values sit on the CPU (meta tensors hold none), but
    every result computed from them keeps this type until it is moved to the CPU (``.cpu()``,
    ``.to("cpu")``, ``.to(a CPU tensor)``, ...), so an answer that never moves its predictions back
    is seen even without a GPU."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        to_cpu = func is torch.Tensor.cpu
        if func is torch.Tensor.to:
            device = torch._C._nn._parse_to(*args[1:], **kwargs)[0]
            to_cpu = device is not None and device.type == "cpu"
        result = super().__torch_function__(func, types, args, kwargs)
        if to_cpu and isinstance(result, torch.Tensor):
            with torch._C.DisableTorchFunctionSubclass():
                result = result.as_subclass(torch.Tensor)
        return result


class _SeesDevice(nn.Module):
    """A stand-in classifier "on" the ``meta`` device: it remembers where its inputs were and
    returns logits that depend only on the example's position (meta tensors hold no values), as
    :class:`_LogitsOnDevice`, which tells whether the predictions were moved back to the CPU."""

    def __init__(self, classes):
        super().__init__()
        self.classes, self.seen = classes, 0
        self.forward_with_grad = False
        self.input_devices = set()

    def forward(self, x):
        self.forward_with_grad |= torch.is_grad_enabled()
        self.input_devices.add(x.device.type)
        positions = torch.arange(self.seen, self.seen + x.shape[0])
        self.seen += x.shape[0]
        logits = torch.nn.functional.one_hot(positions * 3 % self.classes, self.classes).float()
        logits = logits + 0.5 * self.training  # a mode that changes nothing here; it is checked
        return logits.as_subclass(_LogitsOnDevice)


def _setup_predict(args):
    """The model (on the case's device, in the case's mode) and a CPU loader a case describes."""
    x, y, batch_size, seed, training, classes, where = args
    torch.manual_seed(seed)  # the dropout an answer forgets to switch off is repeatable
    if where == "meta":
        model, device = _SeesDevice(classes), torch.device("meta")
    else:
        model, device = _Watched(x.shape[1], classes, seed).to(x.device), x.device
    model.train(training)
    loader = DataLoader(TensorDataset(x.cpu(), y.cpu()), batch_size=batch_size)
    return model, loader, device


def _watch_inputs(model):
    """Record the device type of every input the model is called with."""
    model.input_devices = set()
    def hook(module, inputs):
        module.input_devices.add(inputs[0].device.type)
    return model.register_forward_pre_hook(hook)


def _run_predict(answer, args):
    """Plain data about the answer's run: values, where they came back, and how the model was used."""
    model, loader, device = _setup_predict(args)
    if not isinstance(model, _SeesDevice):
        _watch_inputs(model)
    result = answer(model, loader, device)
    if not (isinstance(result, tuple) and len(result) == 2
            and all(isinstance(t, torch.Tensor) for t in result)):
        return ("not a pair of tensors", type(result).__name__)
    predictions, targets = result

    def where(t):
        if isinstance(t, _LogitsOnDevice):
            return "returned on the model's device (never moved to the CPU)"
        return "returned on " + t.device.type

    if any(t.device.type == "meta" for t in result):
        return ("returned on meta", "returned on " + targets.device.type)
    with torch._C.DisableTorchFunctionSubclass():
        values = predictions.tolist(), targets.tolist()
    return (*values, str(predictions.dtype), str(targets.dtype), where(predictions), where(targets),
            "training mode after" if model.training else "eval mode after",
            "a forward pass with gradients" if model.forward_with_grad else "no gradients",
            "the model was given inputs on " + ", ".join(sorted(model.input_devices)))


def _predict_case(name, n, batch_size, seed, *, public=False, training=True, features=5,
                  classes=4, meta=False, hint=""):
    def make_args(device):
        x = randn(seed + 1, n, features, device=device)
        y = torch.randint(0, classes, (n,), generator=torch.Generator().manual_seed(seed + 2))
        return x, y.to(device), batch_size, seed, training, classes, "meta" if meta else "inputs"
    return Case(name, make_args, public=public, hint=hint)


Q2 = Question(
    id="q2", answer="predict_all", args=("inputs", "targets", "batch_size", "seed", "training",
                                         "classes", "device"),
    reference=predict_all_reference, points=3, call=_run_predict,
    title="An evaluation loop that returns every prediction",
    hint="list what must be true while the model predicts, and what must be true of the model "
         "when the function returns",
    cases=(
        _predict_case("12 examples in batches of 5, model in training mode", 12, 5, 1000,
                      public=True),
        _predict_case("one batch, model already in eval mode", 8, 8, 1010, training=False,
                      public=True),
        _predict_case("batches of 1", 6, 1, 1020),
        _predict_case("an empty loader", 0, 4, 1030,
                      hint="no batches: what are all the predictions of nothing?"),
        _predict_case("10 classes, 40 examples in batches of 16", 40, 16, 1040, classes=10),
        _predict_case("a model in training mode, 64 features", 20, 7, 1050, features=64),
        _predict_case("a model on the meta device, batches of 3", 7, 3, 1060, meta=True,
                      hint="the model's inputs must be on the device you were given, and what "
                           "you return must be on the CPU"),
    ),
)


# --------------------------------------------------------------------------- q3: to_device

def to_device_reference(batch, device):
    """The same structure with every tensor moved to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {key: to_device_reference(value, device) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device_reference(item, device) for item in batch)
    return batch


def _describe(value, device):
    if isinstance(value, torch.Tensor):
        values = None if value.device.type == "meta" else value.detach().cpu().tolist()
        where = "on the device" if value.device.type == device.type else "elsewhere"
        return ("tensor", where, str(value.dtype), tuple(value.shape), values)
    if isinstance(value, dict):
        return ("dict", [(repr(k), _describe(v, device)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_describe(item, device) for item in value])
    return ("value", repr(value))


def _first_tensor(batch):
    if isinstance(batch, torch.Tensor):
        return batch
    items = batch.values() if isinstance(batch, dict) else batch
    for item in items if isinstance(items, (list, tuple, type({}.values()))) else ():
        found = _first_tensor(item)
        if found is not None:
            return found
    return None


#: torch's pytree utilities map a function over nested containers, which is what q3 asks for:
#: every ``tree_*`` function of ``torch.utils._pytree`` (``tree_map``, ``tree_map_only``,
#: ``tree_flatten``/``tree_unflatten``, ...) and of ``optree`` when it is installed
FORBIDDEN_Q3 = matching(torch.utils._pytree, ["tree_"]) + [(torch.utils._pytree,
                                                            "arg_tree_leaves")]
try:
    import optree
except ImportError:
    pass
else:
    FORBIDDEN_Q3 += matching(optree, ["tree_"])
#: and the ready-made "move a nested batch" helpers: torch.distributed's, and those of
#: Hugging Face Accelerate and PyTorch Lightning, which Colab may have installed
for _module, _names in (("torch.distributed.utils", ["_recursive_to", "_to_kwargs"]),
                        ("accelerate.utils", ["send_to_device"]),
                        ("accelerate.utils.operations", ["send_to_device", "recursively_apply"]),
                        ("lightning.fabric.utilities.apply_func", ["move_data_to_device"]),
                        ("lightning.pytorch.utilities", ["move_data_to_device"]),
                        ("pytorch_lightning.utilities", ["move_data_to_device"]),
                        ("lightning_utilities.core.apply_func", ["apply_to_collection"])):
    try:
        _found = __import__(_module, fromlist=["_"])
    except Exception:  # not installed, or a build without torch.distributed
        continue
    FORBIDDEN_Q3 += [(_found, name) for name in _names if hasattr(_found, name)]


def _run_to_device(answer, args):
    """Move the batch to "meta", or to the device its tensors are on (the grader's CPU or GPU leg),
    the answer without torch's pytree utilities."""
    batch, where = args
    device = torch.device("meta") if where == "meta" else _first_tensor(batch).device
    if answer is to_device_reference:
        return _describe(answer(batch, device), device)
    with forbidden(FORBIDDEN_Q3):
        moved = answer(batch, device)
    return _describe(moved, device)


def _batch(kind, seed, device):
    x, y = randn(seed, 3, 4, device=device), torch.arange(3, device=device)
    if kind == "pair":
        return (x, y)
    if kind == "list":
        return [x, y, randn(seed + 1, 2, dtype=torch.float64, device=device)]
    if kind == "dict":
        return {"image": x, "label": y, "name": "digit", "index": 7}
    if kind == "nested":
        return {"inputs": (x, [y, {"mask": x > 0}]), "meta": ["a", 1.5, None]}
    if kind == "tensor":
        return x
    if kind == "empty":
        return (torch.zeros(0, 4, device=device), [])
    raise ValueError(kind)


def _device_case(name, kind, seed, *, public=False, meta=False, hint=""):
    def make_args(device):
        return _batch(kind, seed, device), "meta" if meta else "the inputs' device"
    return Case(name, make_args, public=public, hint=hint)


Q3 = Question(
    id="q3", answer="to_device", args=("batch", "where"), reference=to_device_reference,
    points=2, call=_run_to_device,
    title="Move a nested batch to a device",
    hint="what must your function do with a dict whose values are tuples of tensors?",
    cases=(
        _device_case("(inputs, targets)", "pair", 1100, public=True),
        _device_case("a dict with a string and an int", "dict", 1110, public=True),
        _device_case("(inputs, targets) to the meta device", "pair", 1120, meta=True,
                     hint="on the meta device a tensor keeps its shape and dtype but no values: "
                          "was it moved?"),
        _device_case("a list stays a list", "list", 1130),
        _device_case("nested dicts, tuples and lists", "nested", 1140),
        _device_case("nested, to the meta device", "nested", 1150, meta=True),
        _device_case("a single tensor", "tensor", 1160),
        _device_case("an empty tensor and an empty list", "empty", 1170),
    ),
)


EXERCISE_SET = ExerciseSet(
    name="09-handwritten-digits",
    title="Handwritten digits, and the GPU",
    questions=(Q1, Q2, Q3),
)
