"""Generate the student notebooks in exercises/ from the solution notebooks in solutions/.

    python tools/make_exercises.py            # regenerate exercises/NN-topic.ipynb for every solution
    python tools/make_exercises.py --check    # exit 1 if exercises/ differs from what would be generated

In a solution notebook, answer code sits between two marker lines (nbgrader's markers)::

    def linear_forward(x, weight, bias):
        ### BEGIN SOLUTION hint: multiply x by the transposed weight
        return x @ weight.T + bias
        ### END SOLUTION

The exercise notebook replaces everything from BEGIN to END, markers included, by a stub at the
BEGIN line's indentation that raises NotImplementedError with the hint (the text after ``hint:``,
optional). Code cells lose their outputs and execution counts; everything else (markdown, other
code, cell ids, cell and notebook metadata such as ``nnbook.exercise_set``) stays identical.
"""

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BEGIN = re.compile(r"^(?P<indent>\s*)### BEGIN SOLUTION(?:\s+hint:\s*(?P<hint>.*?))?\s*$")
END = re.compile(r"^\s*### END SOLUTION\s*$")


class MarkerError(ValueError):
    """Solution markers that are missing, unbalanced or nested."""


def stub(indent: str, hint: str) -> list:
    message = "Replace this line with your answer." + (f" Hint: {hint}" if hint else "")
    return [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError({message!r})"]


def strip_solutions(source: str, where: str = "cell") -> str:
    """``source`` with every BEGIN/END SOLUTION block replaced by a stub."""
    out, opened_at = [], None  # opened_at: the line of the BEGIN marker we are inside, if any
    for number, line in enumerate(source.split("\n"), start=1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if opened_at:
                raise MarkerError(f"{where}, line {number}: BEGIN SOLUTION inside another solution block")
            opened_at = number
            out += stub(begin.group("indent"), begin.group("hint") or "")
        elif end:
            if not opened_at:
                raise MarkerError(f"{where}, line {number}: END SOLUTION without a BEGIN SOLUTION")
            opened_at = None
        elif not opened_at:
            out.append(line)
    if opened_at:
        raise MarkerError(f"{where}, line {opened_at}: BEGIN SOLUTION without an END SOLUTION")
    return "\n".join(out)


def make_exercise(solution: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """The student version of a solution notebook (a new object; the input is not modified)."""
    exercise_set = solution.metadata.get("nnbook", {}).get("exercise_set")
    if not exercise_set:
        raise MarkerError(f"{name}: metadata.nnbook.exercise_set is missing; the grader needs it")
    notebook = nbformat.from_dict(solution)  # a deep copy
    blocks = 0
    for index, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        stripped = strip_solutions(cell.source, f"{name}, cell {index}")
        blocks += stripped != cell.source
        cell.source, cell.outputs, cell.execution_count = stripped, [], None
    if not blocks:
        raise MarkerError(f"{name}: no ### BEGIN SOLUTION blocks, so there is nothing to hide")
    return notebook


def exercise_text(solution_path: Path) -> str:
    """The exact text of the exercise notebook generated from ``solution_path``."""
    solution = nbformat.read(solution_path, as_version=4)
    text = nbformat.writes(make_exercise(solution, solution_path.name))
    return text if text.endswith("\n") else text + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on a difference")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)  # for tests
    args = parser.parse_args(argv)
    solutions, exercises = args.root / "solutions", args.root / "exercises"
    problems = []
    for solution in sorted(solutions.glob("*.ipynb")):
        target = exercises / solution.name
        wanted = exercise_text(solution)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == wanted:
            continue
        if args.check:
            problems.append(f"{target.relative_to(args.root)} is {'missing' if current is None else 'out of date'}")
        else:
            exercises.mkdir(exist_ok=True)
            target.write_text(wanted, encoding="utf-8")
            print(f"wrote {target.relative_to(args.root)}")
    for orphan in sorted(exercises.glob("*.ipynb")):
        if not (solutions / orphan.name).exists():
            problems.append(f"{orphan.relative_to(args.root)} has no solutions/{orphan.name} to come from")
    for problem in problems:
        print(problem)
    if problems and args.check:
        print("run: python tools/make_exercises.py")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
