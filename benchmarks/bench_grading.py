"""Time the grader on a class of 30 notebooks for the first exercise set.

The class is made from the solution and exercise notebooks: mostly full answers, some untouched
stubs, and (with ``--with-bad``) a few that loop for ever or exhaust memory, which cost their
time limits. Prints the total wall-clock time, the time per submission, and the slowest one.
Times are wall-clock (a busy machine inflates them).

    python benchmarks/bench_grading.py
    python benchmarks/bench_grading.py --submissions 60 --workers 4 --with-bad
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from nnbook.grading.grader import Limits, grade_folder

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "01-neurons-and-layers.ipynb"
EXERCISE = ROOT / "exercises" / "01-neurons-and-layers.ipynb"
LOOP = "def count_parameters(layer_sizes):\n    while True:\n        pass"
HOG = "def compose_linear(w1, b1, w2, b2):\n    hoard = [0.0] * (5 * 10**8)\n    return w2 @ w1, w2 @ b1 + b2"


def with_answer(name: str, source: str):
    nb = nbformat.read(SOLUTION, as_version=4)
    next(c for c in nb.cells if c.cell_type == "code" and f"def {name}(" in c.source).source = source
    return nb


def make_class(folder: Path, size: int, with_bad: bool) -> None:
    """``size`` notebooks: every fifth an untouched exercise, and with_bad: two bad ones."""
    bad = [with_answer("count_parameters", LOOP), with_answer("compose_linear", HOG)] if with_bad else []
    for index in range(size):
        if index < len(bad):
            nb = bad[index]
        elif index % 5 == 4:
            nb = nbformat.read(EXERCISE, as_version=4)
        else:
            nb = nbformat.read(SOLUTION, as_version=4)
        nbformat.write(nb, folder / f"Copy of student{index:02d}.ipynb")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=30)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--with-bad", action="store_true", help="include a looping and a memory-hungry submission")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_class(folder, args.submissions, args.with_bad)
        start, cpu = time.perf_counter(), time.process_time()
        grades = grade_folder(folder, limits=Limits(timeout=args.timeout), workers=args.workers)
        total = time.perf_counter() - start
    seconds = [g.seconds for g in grades]
    statuses = {}
    for grade in grades:
        for q in grade.questions:
            statuses[q.status] = statuses.get(q.status, 0) + 1
    print(f"{'submissions':<32}{len(grades):>10}")
    print(f"{'workers':<32}{args.workers:>10}")
    print(f"{'total wall-clock (s)':<32}{total:>10.2f}")
    print(f"{'per submission, total/count (s)':<32}{total / len(grades):>10.2f}")
    print(f"{'median one submission (s)':<32}{statistics.median(seconds):>10.2f}")
    print(f"{'slowest one submission (s)':<32}{max(seconds):>10.2f}")
    print(f"{'grader CPU time (s)':<32}{time.process_time() - cpu:>10.2f}")
    print(f"{'question statuses':<32}{', '.join(f'{k} {v}' for k, v in sorted(statuses.items())):>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
