"""``nnbook-grade``: grade a folder of exercise notebooks and write grades.csv and feedback files.

    nnbook-grade SUBMISSIONS_DIR --out grades.csv --feedback feedback/
    python -m nnbook.grading SUBMISSIONS_DIR --tests private_tests/ --set 01-neurons-and-layers

Exit status: 0 when every notebook was graded (whatever the grades, and whatever the notebooks do),
2 when the command cannot run (no such folder, no notebooks, unknown --set, a private tests folder that does not load).
"""

import argparse
import os
import sys
import time
from pathlib import Path

from nnbook.grading.grader import Limits, grade_folder, summary_table, write_csv, write_feedback
from nnbook.grading.registry import load_sets
from nnbook.grading.sandbox import memory_limit_supported

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnbook-grade", description="Grade every exercise notebook (.ipynb) in a folder.",
        epilog="Each notebook runs in its own limited process; see the book's 'Grading a class' page.")
    parser.add_argument("submissions", type=Path, help="folder of submitted notebooks (sub-folders too)")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"),
                        help="CSV to write: one row per submission and question (default: grades.csv)")
    parser.add_argument("--feedback", type=Path, default=None,
                        help="folder for one feedback .txt per submission (default: 'feedback' next to --out)")
    parser.add_argument("--tests", type=Path, default=None,
                        help="folder of private tests (*.py defining EXERCISE_SET) that add to or replace "
                             "the course's")
    parser.add_argument("--set", dest="set_name", default=None,
                        help="grade every notebook as this exercise set, whatever its metadata says")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="wall-clock seconds per submission (default: 60)")
    parser.add_argument("--memory", type=int, default=2048,
                        help="MB a submission may allocate on top of the grader's own "
                             "(default: 2048; 0: no limit)")
    parser.add_argument("--processes", type=int, default=16,
                        help="processes a submission may run besides its own; more and it is stopped "
                             "(default: 16; 0: no limit; watched on Linux)")
    parser.add_argument("--workers", type=int, default=None,
                        help="submissions graded at the same time (default: CPU cores, at most 8)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.submissions.is_dir():
        parser.exit(2, f"nnbook-grade: error: {args.submissions} is not a folder\n")
    if args.workers is not None and args.workers < 1:
        parser.exit(2, "nnbook-grade: error: --workers must be at least 1\n")
    try:
        sets = load_sets(args.tests)
        workers = args.workers or min(8, os.cpu_count() or 1)
        limits = Limits(timeout=args.timeout, memory_mb=args.memory, processes=args.processes,
                        threads=max(1, (os.cpu_count() or 1) // workers))
    except Exception as exc:  # a teacher's tests folder can fail in any way; say so and stop
        parser.exit(2, f"nnbook-grade: error: {type(exc).__name__}: {exc}\n")
    if args.set_name is not None and args.set_name not in sets:
        parser.exit(2, f"nnbook-grade: error: no exercise set named {args.set_name!r}; "
                       f"known sets: {', '.join(sorted(sets))}\n")
    if args.memory and not memory_limit_supported():
        print("nnbook-grade: warning: the memory and process limits are only enforced on Linux", file=sys.stderr)
    start = time.monotonic()
    grades = grade_folder(args.submissions, tests_dir=args.tests, set_name=args.set_name, limits=limits,
                          workers=workers, progress=not args.no_progress)
    if not grades:
        parser.exit(2, f"nnbook-grade: error: no .ipynb files under {args.submissions}\n")
    feedback_dir = args.feedback or args.out.parent / "feedback"
    write_csv(grades, args.out)
    write_feedback(grades, feedback_dir)
    print(summary_table(grades))
    count = f"{len(grades)} notebook{'s' if len(grades) != 1 else ''}"
    seconds = time.monotonic() - start
    print(f"\nGraded {count} in {seconds:.1f} s with {workers} worker{'s' if workers != 1 else ''}.")
    print(f"Grades: {args.out}\nFeedback: {feedback_dir}{os.sep}")
    return 0
