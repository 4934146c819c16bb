"""tools/make_exercises.py: exercises/ is generated from solutions/, exactly, and kept in sync."""

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("make_exercises", ROOT / "tools" / "make_exercises.py")
make_exercises = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_exercises)


def test_committed_exercises_match_the_generator():
    assert make_exercises.main(["--check"]) == 0, "run: python tools/make_exercises.py"


def test_every_solution_has_an_exercise_and_names_its_set():
    solutions = sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb"))
    assert solutions and solutions == sorted(p.name for p in (ROOT / "exercises").glob("*.ipynb"))
    for name in solutions:
        metadata = json.loads((ROOT / "exercises" / name).read_text(encoding="utf-8"))["metadata"]
        assert metadata["nnbook"]["exercise_set"] == Path(name).stem


def test_a_solution_block_becomes_a_stub_with_its_hint():
    source = ("def f(x):\n"
              '    """Doc."""\n'
              "    ### BEGIN SOLUTION hint: double it\n"
              "    y = 2 * x\n"
              "    return y\n"
              "    ### END SOLUTION\n"
              "\n"
              "z = 1")
    assert make_exercises.strip_solutions(source) == (
        "def f(x):\n"
        '    """Doc."""\n'
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError('Replace this line with your answer. Hint: double it')\n"
        "\n"
        "z = 1")
    plain = make_exercises.strip_solutions("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")
    assert plain == "# YOUR CODE HERE\nraise NotImplementedError('Replace this line with your answer.')"


@pytest.mark.parametrize("source, problem", [
    ("### BEGIN SOLUTION\nx = 1", "without an END"),
    ("x = 1\n### END SOLUTION", "without a BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
])
def test_unbalanced_markers_are_reported_with_their_place(source, problem):
    with pytest.raises(make_exercises.MarkerError, match=f"cell 3, line .*{problem}"):
        make_exercises.strip_solutions(source, "cell 3")


def _solution():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title\n### BEGIN SOLUTION is only special in code"),
        nbformat.v4.new_code_cell("def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION",
                                  execution_count=2, metadata={"tags": ["answer"]},
                                  outputs=[nbformat.v4.new_output("stream", text="hi\n")]),
    ])
    nb.metadata["nnbook"] = {"exercise_set": "99-demo"}
    return nb


def test_only_answers_outputs_and_counts_change():
    solution = _solution()
    exercise = make_exercises.make_exercise(solution)
    assert exercise.metadata == solution.metadata
    assert exercise.cells[0] == solution.cells[0]
    code, original = exercise.cells[1], solution.cells[1]
    assert code.outputs == [] and code.execution_count is None
    assert code.metadata == original.metadata and code.id == original.id
    assert "NotImplementedError" in code.source and "return x" not in code.source
    assert original.execution_count == 2 and "return x" in original.source  # the input is untouched


def test_a_solution_without_a_set_or_without_answers_is_refused():
    nb = _solution()
    del nb.metadata["nnbook"]
    with pytest.raises(make_exercises.MarkerError, match="exercise_set is missing"):
        make_exercises.make_exercise(nb)
    nb = _solution()
    nb.cells[1].source = "x = 1"
    with pytest.raises(make_exercises.MarkerError, match="no ### BEGIN SOLUTION"):
        make_exercises.make_exercise(nb)


def test_check_mode_detects_stale_missing_and_orphaned_exercises(tmp_path, capsys):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "exercises").mkdir()
    nbformat.write(_solution(), tmp_path / "solutions" / "99-demo.ipynb")
    assert make_exercises.main(["--check", "--root", str(tmp_path)]) == 1
    assert "exercises/99-demo.ipynb is missing" in capsys.readouterr().out
    assert make_exercises.main(["--root", str(tmp_path)]) == 0
    assert make_exercises.main(["--check", "--root", str(tmp_path)]) == 0
    stale = tmp_path / "exercises" / "99-demo.ipynb"
    stale.write_text(stale.read_text().replace("YOUR CODE HERE", "my edit"))
    (tmp_path / "exercises" / "98-orphan.ipynb").write_text("{}")
    assert make_exercises.main(["--check", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "99-demo.ipynb is out of date" in out and "98-orphan.ipynb has no solutions/" in out
