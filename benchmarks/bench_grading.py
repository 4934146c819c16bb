"""Time the grader on a folder of 30 ordinary submissions and on a folder of 30 hostile ones.

* ordinary: copies of the first exercise set's solution notebook, every fifth one the untouched
  exercise notebook (solutions/ and exercises/ as they are, whatever their questions);
* hostile: the hostile entries of the grader's regression corpus (tests/grading_corpus.py: a
  stopped or killed fork server, fork bombs, memory spread over forks, deleted scratch folders,
  lying tensor subclasses, 10,000 cells, JSON nested 100,000 deep, folders and broken links named
  .ipynb, names that are not UTF-8, ...), repeated to fill the folder, graded against the tests'
  fixture exercise set.

Prints, per folder: the total wall-clock time, seconds per submission (total / count), the median
and slowest submission, and the count of each question status. Times are wall-clock with the
grader's default limits unless told otherwise (a busy machine inflates them; hostile submissions
mostly cost the time limits they run into).

    python benchmarks/bench_grading.py
    python benchmarks/bench_grading.py --folder hostile --submissions 30 --workers 2 --timeout 60
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from nnbook.grading.grader import Limits, grade_folder

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import grading_corpus as corpus  # noqa: E402  (the corpus generator lives with the tests)

SOLUTION = ROOT / "solutions" / "01-neurons-and-layers.ipynb"
EXERCISE = ROOT / "exercises" / "01-neurons-and-layers.ipynb"


def make_ordinary(folder: Path, size: int) -> None:
    """``size`` notebooks of the course's first set: solutions, every fifth an untouched exercise."""
    solution, exercise = nbformat.read(SOLUTION, as_version=4), nbformat.read(EXERCISE, as_version=4)
    for index in range(size):
        nbformat.write(exercise if index % 5 == 4 else solution, folder / f"Copy of student{index:02d}.ipynb")


def make_hostile(folder: Path, size: int, work: Path) -> None:
    """``size`` hostile corpus entries, the list repeated (in sub-folders) until the folder is full."""
    hostile = [name for name, entry in corpus.CORPUS.items() if entry.hostile]
    for index in range(size):
        name = hostile[index % len(hostile)]
        round_ = index // len(hostile)
        target = folder / f"round{round_}" if round_ else folder
        corpus.write_entry(target, name, corpus.CORPUS[name], work)


def run(kind: str, size: int, workers: int, timeout: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder, work = Path(tmp, "submissions"), Path(tmp, "work")
        folder.mkdir()
        work.mkdir()
        tests_dir = None
        if kind == "ordinary":
            make_ordinary(folder, size)
        else:
            make_hostile(folder, size, work)
            tests_dir = corpus.FIXTURE
        start = time.perf_counter()
        grades = grade_folder(folder, tests_dir=tests_dir, limits=Limits(timeout=timeout), workers=workers)
        total = time.perf_counter() - start
    statuses = {}
    for grade in grades:
        for q in grade.questions:
            statuses[q.status] = statuses.get(q.status, 0) + 1
    seconds = [g.seconds for g in grades]
    return {"folder": kind, "submissions": len(grades), "total": total, "per": total / len(grades),
            "median": statistics.median(seconds), "slowest": max(seconds),
            "statuses": ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", choices=("ordinary", "hostile", "both"), default="both")
    parser.add_argument("--submissions", type=int, default=30)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=Limits().timeout, help="seconds per submission")
    args = parser.parse_args(argv)
    kinds = ("ordinary", "hostile") if args.folder == "both" else (args.folder,)
    print(f"workers {args.workers}, time limit {args.timeout:g} s per submission, "
          f"memory {Limits().memory_mb} MB, processes {Limits().processes}")
    print(f"{'folder':<10}{'count':>7}{'total s':>10}{'s/subm.':>10}{'median s':>10}{'slowest s':>11}  statuses")
    for kind in kinds:
        r = run(kind, args.submissions, args.workers, args.timeout)
        print(f"{r['folder']:<10}{r['submissions']:>7}{r['total']:>10.1f}{r['per']:>10.2f}{r['median']:>10.2f}"
              f"{r['slowest']:>11.2f}  {r['statuses']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
