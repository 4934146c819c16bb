"""Exercise set 8 grades correctly: the solutions get full marks from ``nnbook-grade`` (with the
instructor's private tests), the generated exercises get zero, every question has more instructor
cases than public ones, typical wrong answers lose points, and no stub, docstring or hint gives an
answer away."""

from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn

import exercise_set_checks as checks  # noqa: E402  (a module next to this file)
from nnbook.grading.forbidden import ForbiddenFunction, forbidden
from nnbook.grading.sets.ex08_phone_prices import EXERCISE_SET as EX
from nnbook.grading.sets.ex08_phone_prices import (FORBIDDEN_Q1, FORBIDDEN_Q2, FORBIDDEN_Q3,
                                                   confusion_counts_reference,
                                                   evaluate_model_reference,
                                                   fold_standardization_reference,
                                                   standardize_splits_reference)
from nnbook.tabular import fit_standardizer, standardize
from nnbook.train import evaluate

ROOT = Path(__file__).resolve().parents[1]
NAME = "08-phone-prices.ipynb"
SOLUTION, EXERCISE = ROOT / "solutions" / NAME, ROOT / "exercises" / NAME


def test_the_solutions_get_full_marks_with_the_private_tests(tmp_path):
    checks.assert_full_marks(tmp_path, EX, SOLUTION, "q3", extra_private_cases=1)


def test_the_generated_exercises_get_zero(tmp_path):
    checks.assert_zero(tmp_path, EX, EXERCISE)


def test_every_question_has_more_instructor_cases_than_public_ones():
    checks.assert_more_instructor_cases_than_public_ones(EX)


# --------------------------------------------------------------------------- the references

def test_the_references_agree_with_the_library_and_torch():
    g = torch.Generator().manual_seed(0)
    x_train, x_other = torch.randn(30, 4, generator=g) * 5, torch.randn(9, 4, generator=g)
    mean, std = fit_standardizer(x_train)
    z_train, z_other = standardize_splits_reference(x_train, x_other)
    torch.testing.assert_close(z_other, standardize(x_other, mean, std))
    torch.testing.assert_close(z_train, standardize(x_train, mean, std))

    predicted, target = torch.randint(0, 4, (50,), generator=g), torch.randint(0, 4, (50,), generator=g)
    counts = confusion_counts_reference(predicted, target, 4)
    for i in range(4):
        for j in range(4):
            assert counts[i, j] == ((target == i) & (predicted == j)).sum()

    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))
    loader = [(torch.randn(n, 5, generator=g), torch.randint(0, 3, (n,), generator=g)) for n in (7, 2, 5)]
    model.train()
    assert evaluate_model_reference(model, nn.CrossEntropyLoss(), loader) == pytest.approx(
        evaluate(model, nn.CrossEntropyLoss(), loader))
    assert model.training

    layer = nn.Linear(6, 3)
    mu, sigma = torch.randn(6, generator=g) * 100, torch.rand(6, generator=g) * 50 + 1
    x = mu + sigma * torch.randn(10, 6, generator=g)
    with torch.no_grad():
        w, b = fold_standardization_reference(layer.weight, layer.bias, mu, sigma)
        torch.testing.assert_close(x @ w.T + b, layer((x - mu) / sigma), rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------- wrong answers fail

def failures(question_id, answer):
    return checks.failures(EX, question_id, answer)


@pytest.mark.filterwarnings("ignore:std.*degrees of freedom")
def test_q1_statistics_from_both_splits_or_a_division_by_zero_fail():
    def leaky(x_train, x_other):
        both = torch.cat([x_train, x_other])
        mean, std = both.mean(dim=0), both.std(dim=0)
        return (x_train - mean) / std, (x_other - mean) / std

    def divides_by_zero(x_train, x_other):
        mean, std = x_train.mean(dim=0), x_train.std(dim=0)
        return (x_train - mean) / std, (x_other - mean) / std

    def own_statistics(x_train, x_other):
        def z(x):
            return (x - x.mean(dim=0)) / x.std(dim=0)
        return z(x_train), z(x_other)

    assert failures("q1", leaky) >= 4
    assert failures("q1", divides_by_zero) == 2   # the two constant-column cases
    assert failures("q1", own_statistics) >= 5


def test_q1_the_library_standardizer_is_forbidden():
    def library(x_train, x_other):
        mean, std = fit_standardizer(x_train)
        return standardize(x_train, mean, std), standardize(x_other, mean, std)

    assert failures("q1", library) == len(EX.question("q1").cases)
    assert {name for _, name in FORBIDDEN_Q1} == {"fit_standardizer", "standardize"}


def test_q2_a_loop_passes_and_a_transposed_or_unchecked_matrix_fails():
    def loop(predicted, target, num_classes):
        if len(target) and (min(predicted.min(), target.min()) < 0
                            or max(predicted.max(), target.max()) >= num_classes):
            raise ValueError("out of range")
        counts = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=target.device)
        for p, t in zip(predicted.tolist(), target.tolist()):
            counts[t, p] += 1
        return counts

    def transposed(predicted, target, num_classes):
        return loop(target, predicted, num_classes)

    def unchecked(predicted, target, num_classes):
        one = nn.functional.one_hot
        return one(target.long().clamp(0, num_classes - 1), num_classes).T @ one(
            predicted.long().clamp(0, num_classes - 1), num_classes)

    assert failures("q2", loop) == 0
    assert failures("q2", transposed) >= 4
    assert failures("q2", unchecked) == 2


def test_q2_bincount_is_forbidden():
    def with_bincount(predicted, target, num_classes):
        return torch.bincount(target * num_classes + predicted,
                              minlength=num_classes ** 2).reshape(num_classes, num_classes)

    def method(predicted, target, num_classes):
        return (target * num_classes + predicted).bincount(
            minlength=num_classes ** 2).reshape(num_classes, num_classes)

    assert failures("q2", with_bincount) == len(EX.question("q2").cases)
    assert failures("q2", method) == len(EX.question("q2").cases)
    with forbidden(FORBIDDEN_Q2), pytest.raises(ForbiddenFunction):
        torch.bincount(torch.tensor([1, 2]))


def test_q2_the_books_confusion_matrix_is_forbidden_under_every_name():
    import nnbook.digits
    import nnbook.tabular
    import nnbook.train
    from nnbook.tabular import confusion_matrix as imported_earlier

    every = len(EX.question("q2").cases)
    for function in (nnbook.train.confusion_matrix, nnbook.tabular.confusion_matrix,
                     nnbook.digits.confusion_matrix, imported_earlier):
        def answer(predicted, target, num_classes, function=function):
            return function(predicted, target, num_classes).to(target.device)
        assert failures("q2", answer) == every


def test_q2_numpy_scikit_learn_and_an_earlier_copy_of_bincount_are_forbidden():
    import numpy
    from torch import bincount as copied

    def with_numpy(predicted, target, num_classes):
        pairs = (target.long() * num_classes + predicted.long()).cpu().numpy()
        counts = numpy.bincount(pairs, minlength=num_classes ** 2)
        return torch.as_tensor(counts).reshape(num_classes, num_classes).to(target.device)

    def with_array(predicted, target, num_classes):
        pairs = numpy.asarray(target.long().cpu() * num_classes + predicted.long().cpu())
        counts = numpy.zeros(num_classes ** 2, dtype=numpy.int64)
        numpy.add.at(counts, pairs, 1)
        return torch.as_tensor(counts).reshape(num_classes, num_classes).to(target.device)

    def with_copy(predicted, target, num_classes):
        return copied(target.long() * num_classes + predicted.long(),
                      minlength=num_classes ** 2).reshape(num_classes, num_classes)

    every = len(EX.question("q2").cases)
    for answer in (with_numpy, with_array, with_copy):
        assert failures("q2", answer) == every, answer.__name__


def test_q2_the_solution_method_runs_in_floating_point():
    # CUDA has no integer matrix product: the solution's one-hot tables are float64
    source = checks.solution_lines(SOLUTION, set())
    assert any(".double()" in line for line in source)


def test_q3_typical_slips_fail():
    def mean_of_batch_means(model, loss_fn, loader):
        answer = evaluate_model_reference(model, loss_fn, loader)
        losses = []
        with torch.no_grad():
            was = model.training
            model.eval()
            losses = [loss_fn(model(x), y).item() for x, y in loader]
            model.train(was)
        return sum(losses) / len(losses), answer[1]

    def no_eval(model, loss_fn, loader):
        total, correct, count = 0.0, 0, 0
        with torch.no_grad():
            for x, y in loader:
                out = model(x)
                total += loss_fn(out, y).item() * len(y)
                correct += (out.argmax(dim=1) == y).sum().item()
                count += len(y)
        return total / count, correct / count

    def leaves_eval_mode(model, loss_fn, loader):
        result = evaluate_model_reference(model, loss_fn, loader)
        model.eval()
        return result

    def with_gradients(model, loss_fn, loader):
        was = model.training
        model.eval()
        total, correct, count = 0.0, 0, 0
        for x, y in loader:
            out = model(x)
            total += loss_fn(out, y).item() * len(y)
            correct += (out.argmax(dim=1) == y).sum().item()
            count += len(y)
        model.train(was)
        return total / count, correct / count

    def graph_recorded(forward, seen_by_loss):
        """An evaluation loop that runs the model with gradients on (a graph is recorded) and
        computes only the loss under no_grad, on what ``seen_by_loss`` makes of the outputs."""
        def answer(model, loss_fn, loader):
            was = model.training
            model.eval()
            total, correct, count = 0.0, 0, 0
            for x, y in loader:
                out = forward(model, x)
                with torch.no_grad():
                    total += loss_fn(seen_by_loss(out), y).item() * len(y)
                correct += (out.argmax(dim=1) == y).sum().item()
                count += len(y)
            model.train(was)
            if count == 0:
                raise ValueError("no examples")
            return total / count, correct / count
        return answer

    call, through_forward = (lambda model, x: model(x)), (lambda model, x: model.forward(x))
    same, detached = (lambda out: out), (lambda out: out.detach())
    # the graph reaches the loss; the loss sees a detached copy; model.forward(x) skips the
    # model's own hooks, not its layers'
    graph_in_the_forward_pass = graph_recorded(call, same)
    graph_then_detached = graph_recorded(call, detached)
    graph_through_forward = graph_recorded(through_forward, detached)

    # every case with a batch records a graph (only the empty loader passes)
    for answer in (graph_in_the_forward_pass, graph_then_detached, graph_through_forward):
        assert failures("q3", answer) == len(EX.question("q3").cases) - 1
    assert failures("q3", mean_of_batch_means) >= 3
    assert failures("q3", no_eval) >= 2  # dropout in training mode, and the empty loader
    assert failures("q3", leaves_eval_mode) >= 4
    assert failures("q3", with_gradients) == len(EX.question("q3").cases)  # the empty one divides by 0


def test_q3_the_library_evaluate_is_forbidden():
    def library(model, loss_fn, loader):
        return evaluate(model, loss_fn, loader)

    import nnbook.train
    assert failures("q3", lambda m, l, d: nnbook.train.evaluate(m, l, d)) == len(EX.question("q3").cases)
    assert failures("q3", library) == len(EX.question("q3").cases)
    assert (nnbook.train, "evaluate") in FORBIDDEN_Q3


def test_q4_a_bias_without_the_mean_or_weights_times_std_fail():
    def forgets_mean(weight, bias, mean, std):
        return weight / std, bias

    def multiplies(weight, bias, mean, std):
        folded = weight * std
        b = -(folded @ mean)
        return folded, b if bias is None else b + bias

    def ignores_missing_bias(weight, bias, mean, std):
        folded = weight / std
        return folded, bias - folded @ mean

    assert failures("q4", forgets_mean) >= 5
    assert failures("q4", multiplies) >= 5
    assert failures("q4", ignores_missing_bias) == 1


# --------------------------------------------------------------------------- nothing given away

TRIVIAL = {"return total / count, correct / count", "count += len(targets)"}


def test_no_stub_or_hint_contains_a_line_of_a_solution():
    lines = checks.solution_lines(SOLUTION, TRIVIAL)
    checks.assert_no_solution_line_leaks(lines, checks.hints_and_stubs(EX, EXERCISE), at_least=12)


@pytest.mark.parametrize("giveaway", [
    r"one_hot", r"\.T *@", r"model\.eval", r"no_grad", r"model\.train\(", r"\* *len",
    r"weight */ *std", r"@ *mean", r"ones_like", r"std *> *0",
])
def test_hints_and_stubs_do_not_state_the_formulas(giveaway):
    checks.assert_no_giveaway(giveaway, checks.hints_and_stubs(EX, EXERCISE))


def test_the_exercise_notebook_states_no_answer_in_its_questions():
    markdown = "\n".join(c.source for c in nbformat.read(EXERCISE, 4).cells
                         if c.cell_type == "markdown")
    for giveaway in ["one_hot", "no_grad", "model.eval()", "weight / std", "W / σ",
                     "len(targets)"]:
        assert giveaway not in markdown, giveaway


def test_the_hints_count_what_the_questions_list():
    # Q3 has four bullet points; its hint names four things, the empty loader among them
    assert EX.question("q3").hint.startswith("four things")
    assert "empty loader" in EX.question("q3").hint
    markdown = "\n".join(c.source for c in nbformat.read(EXERCISE, 4).cells
                         if c.cell_type == "markdown")
    # Q2's text names what the grader refuses and what it cannot block, and no method
    assert "not blocked" in markdown and "matrix product" not in markdown
    # Q1's text does not state the divisor, nor a distance (an absolute value)
    assert "distance" not in markdown and "own units" not in markdown
