"""Exercise set 9 grades correctly: the solutions get full marks from ``nnbook-grade`` (with the
instructor's private tests), the generated exercises get zero, every question has more instructor
cases than public ones, typical wrong answers lose points, and no stub, docstring or hint gives an
answer away."""

from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import exercise_set_checks as checks  # noqa: E402  (a module next to this file)
from nnbook.grading.sets.ex09_handwritten_digits import EXERCISE_SET as EX
from nnbook.grading.sets.ex09_handwritten_digits import (predict_all_reference,
                                                         standardize_pixels_reference,
                                                         to_device_reference)

ROOT = Path(__file__).resolve().parents[1]
NAME = "09-handwritten-digits.ipynb"
SOLUTION, EXERCISE = ROOT / "solutions" / NAME, ROOT / "exercises" / NAME
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")


def test_the_solutions_get_full_marks_with_the_private_tests(tmp_path):
    checks.assert_full_marks(tmp_path, EX, SOLUTION, "q1", extra_private_cases=1)


def test_the_generated_exercises_get_zero(tmp_path):
    checks.assert_zero(tmp_path, EX, EXERCISE)


def test_every_question_has_more_instructor_cases_than_public_ones():
    checks.assert_more_instructor_cases_than_public_ones(EX)


# --------------------------------------------------------------------------- the references

def test_standardize_reference_gives_mean_0_std_1_and_keeps_constant_pixels_finite():
    g = torch.Generator().manual_seed(0)
    train, test = torch.randn(50, 6, generator=g) * 3 + 2, torch.randn(9, 6, generator=g)
    train[:, 2] = 4.0
    out_train, out_test = standardize_pixels_reference(train, test)
    torch.testing.assert_close(out_train.mean(dim=0), torch.zeros(6), atol=1e-6, rtol=0)
    keep = [0, 1, 3, 4, 5]
    torch.testing.assert_close(out_train.std(dim=0)[keep], torch.ones(5))
    assert torch.equal(out_train[:, 2], torch.zeros(50))
    torch.testing.assert_close(out_test[:, 2], test[:, 2] - 4.0)   # subtracted, not divided
    # the digits: the corner pixel 0 is blank in every image
    digits = __import__("nnbook.data", fromlist=["load_digits"]).load_digits().images
    assert not standardize_pixels_reference(digits[:1000], digits[1000:])[1].isnan().any()


def test_predict_all_reference_matches_evaluate_and_restores_the_mode():
    from nnbook.train import evaluate
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3)).train()
    x, y = torch.randn(30, 4), torch.randint(0, 3, (30,))
    loader = DataLoader(TensorDataset(x, y), batch_size=7)
    predictions, targets = predict_all_reference(net, loader, torch.device("cpu"))
    assert net.training and torch.equal(targets, y)
    _, accuracy = evaluate(net, nn.CrossEntropyLoss(), loader)
    assert (predictions == y).float().mean().item() == pytest.approx(accuracy)
    empty = predict_all_reference(net, [], None)
    assert empty[0].dtype == empty[1].dtype == torch.int64 and empty[0].shape == (0,)


def test_to_device_reference_keeps_the_structure():
    batch = {"a": (torch.ones(2), [torch.zeros(1), "s"]), "b": 3}
    moved = to_device_reference(batch, torch.device("meta"))
    assert list(moved) == ["a", "b"] and isinstance(moved["a"], tuple)
    assert isinstance(moved["a"][1], list) and moved["a"][1][1] == "s" and moved["b"] == 3
    assert moved["a"][0].device.type == "meta" and batch["a"][0].device.type == "cpu"


@cuda
def test_the_references_on_cuda():
    moved = to_device_reference((torch.ones(2), {"y": torch.zeros(1)}), torch.device("cuda"))
    assert moved[0].is_cuda and moved[1]["y"].is_cuda
    net = nn.Linear(3, 2).cuda()
    loader = DataLoader(TensorDataset(torch.randn(5, 3), torch.tensor([0, 1, 0, 1, 1])), batch_size=2)
    predictions, targets = predict_all_reference(net, loader, torch.device("cuda"))
    assert predictions.device.type == targets.device.type == "cpu"


# --------------------------------------------------------------------------- wrong answers fail

def failures(question_id, answer):
    return checks.failures(EX, question_id, answer)


def test_standardize_slips_fail():
    def one_number(train, *others):
        mean, std = train.mean(), train.std()
        return tuple((x - mean) / std for x in (train, *others))

    def own_statistics(train, *others):
        return tuple((x - x.mean(dim=0)) / x.std(dim=0).where(x.std(dim=0) > 0, torch.ones(1))
                     if len(x) > 1 else x - train.mean(dim=0) for x in (train, *others))

    def divides_by_zero(train, *others):
        mean, std = train.mean(dim=0), train.std(dim=0)
        return tuple((x - mean) / std for x in (train, *others))

    def zeroes_constant_pixels(train, *others):
        mean, std = train.mean(dim=0), train.std(dim=0)
        return tuple(torch.where(std > 0, (x - mean) / std, torch.zeros_like(x))
                     for x in (train, *others))

    def in_place(train, *others):
        mean, std = train.mean(dim=0), train.std(dim=0)
        scale = torch.where(std > 0, std, torch.ones_like(std))
        for x in (train, *others):
            x.sub_(mean).div_(scale)
        return (train, *others)

    assert failures("q1", one_number) >= 6
    assert failures("q1", own_statistics) >= 3
    assert failures("q1", divides_by_zero) == 2          # the two cases with a constant pixel
    assert failures("q1", zeroes_constant_pixels) == 2   # the test rows differ at those pixels
    assert failures("q1", in_place) == len(EX.question("q1").cases)


def _predict(model, loader, device, *, eval_mode=True, no_grad=True, restore=True, cpu=True,
             move=True):
    was = model.training
    if eval_mode:
        model.eval()
    predictions, targets = [torch.zeros(0, dtype=torch.long)], [torch.zeros(0, dtype=torch.long)]
    with torch.set_grad_enabled(not no_grad):
        for inputs, labels in loader:
            guesses = model(inputs.to(device) if move else inputs).argmax(dim=1)
            predictions.append(guesses.cpu() if cpu else guesses)
            targets.append(labels)
    if restore:
        model.train(was)
    return torch.cat(predictions).detach(), torch.cat(targets)


def test_predict_all_slips_fail():
    assert failures("q2", _predict) == 0
    assert failures("q2", lambda *a: _predict(*a, eval_mode=False)) >= 3
    assert failures("q2", lambda *a: _predict(*a, no_grad=False)) == len(EX.question("q2").cases) - 1
    assert failures("q2", lambda *a: _predict(*a, restore=False)) >= 3
    # never moving the inputs fails without a GPU too: the meta case sees them on the CPU
    assert failures("q2", lambda *a: _predict(*a, move=False)) >= 1
    # predictions left on the model's device fail without a GPU too: the meta case's stand-in
    # returns logits that stay "on the device" until moved to the CPU
    assert failures("q2", lambda *a: _predict(*a, cpu=False)) == 1

    def no_empty_case(model, loader, device):
        model_was = model.training
        model.eval()
        with torch.no_grad():
            pairs = [(model(x.to(device)).argmax(dim=1).cpu(), y) for x, y in loader]
        model.train(model_was)
        return torch.cat([p for p, _ in pairs]), torch.cat([y for _, y in pairs])

    assert failures("q2", no_empty_case) == 1


def test_to_device_slips_fail():
    def no_op(batch, device):
        return batch

    def tuples_only(batch, device):
        if isinstance(batch, torch.Tensor):
            return batch.to(device)
        if isinstance(batch, (list, tuple)):
            return tuple(tuples_only(item, device) for item in batch)
        return batch

    def drops_others(batch, device):
        if isinstance(batch, torch.Tensor):
            return batch.to(device)
        if isinstance(batch, dict):
            return {k: drops_others(v, device) for k, v in batch.items()
                    if isinstance(v, (torch.Tensor, dict, list, tuple))}
        return type(batch)(drops_others(item, device) for item in batch)

    assert failures("q3", no_op) == 2                  # the two meta cases
    assert failures("q3", tuples_only) == 3            # lists become tuples, dicts are not moved
    assert failures("q3", drops_others) >= 2


def test_torch_pytree_utilities_are_refused_in_q3():
    import torch.utils._pytree as pytree

    def with_tree_map_only(batch, device):
        return pytree.tree_map_only(torch.Tensor, lambda t: t.to(device), batch)

    def with_tree_map(batch, device):
        return pytree.tree_map(lambda t: t.to(device) if torch.is_tensor(t) else t, batch)

    def with_flatten(batch, device):
        leaves, spec = pytree.tree_flatten(batch)
        return pytree.tree_unflatten([t.to(device) if torch.is_tensor(t) else t
                                      for t in leaves], spec)

    def with_recursive_to(batch, device):
        from torch.distributed.utils import _recursive_to

        return _recursive_to(batch, device, False)[0]

    cases = len(EX.question("q3").cases)
    answers = [with_tree_map_only, with_tree_map, with_flatten]
    if torch.distributed.is_available():
        answers.append(with_recursive_to)
    for answer in answers:
        assert failures("q3", answer) == cases, answer.__name__
    # and they work again after the answer has run
    assert pytree.tree_map(lambda x: x + 1, [1, (2,)]) == [2, (3,)]


def test_the_points():
    assert [q.points for q in EX.questions] == [2, 3, 2]


# --------------------------------------------------------------------------- nothing given away

def test_no_solution_line_leaks_into_hints_or_stubs():
    lines = checks.solution_lines(SOLUTION, trivial=("return batch",))
    checks.assert_no_solution_line_leaks(lines, checks.hints_and_stubs(EX, EXERCISE))


@pytest.mark.parametrize("giveaway", [
    r"dim *= *0", r"std *> *0", r"ones_like", r"no_grad", r"\.eval\(\)", r"model\.train\(",
    r"isinstance", r"\.to\(device\)", r"\.cpu\(\)", r"type\(batch\)",
])
def test_hints_and_stubs_do_not_state_the_answers(giveaway):
    checks.assert_no_giveaway(giveaway, checks.hints_and_stubs(EX, EXERCISE))


def test_the_exercise_notebook_states_no_answer_in_its_questions():
    markdown = "\n".join(c.source for c in nbformat.read(EXERCISE, 4).cells
                         if c.cell_type == "markdown")
    for giveaway in ["dim=0", "torch.no_grad", "model.eval()", "torch.where", "isinstance"]:
        assert giveaway not in markdown, giveaway
