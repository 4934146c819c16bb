"""Grade a folder with one container per submission: submissions cannot see or touch each other.

    python -m nnbook.grading.containers SUBMISSIONS --image nnbook-grader --set 01-neurons-and-layers \\
        --out grades.csv --feedback feedback/ [--tests private_tests/] [--timeout 60] [--memory 2048]

``nnbook-grade`` alone runs every submission as the teacher's own user, so one submission's
process can, if it sets out to, read or delete what another has written, signal another's process
or read the grader's memory (see :mod:`nnbook.grading.grader`). This command runs ``nnbook-grade``
once per submission, each time in a fresh container (Docker, or any program with Docker's
``run`` and ``kill`` command lines, such as Podman) that:

* sees only a copy of that one submission (read-only) and the private tests (read-only);
* has no network (``--network none``), a read-only root file system with a private ``/tmp``,
  drops every capability, runs as an unprivileged user (``nobody``) that cannot gain privileges;
* has its own process and mount namespaces, so it cannot see, signal or read another submission's
  processes or files;
* has a memory limit that covers all its processes together and the page cache (``--memory``) and
  a process limit (``--pids-limit``): cgroup limits, which forks cannot multiply;
* is killed (``docker kill``) if it outlives the submission's time limit plus two minutes for the
  container itself to start and stop.

What each container writes (its CSV rows and feedback file) is read back here and merged into one
``grades.csv`` and one feedback folder, exactly as ``nnbook-grade`` would write them. Paths that
are not regular files (folders or broken links named ``.ipynb``) never reach a container: they are
graded ``unreadable`` here, as ``nnbook-grade`` does. The exercise set must be given (``--set``),
since a container sees one notebook and cannot fall back on the folder's common set.

The image needs only Python, torch and ``nnbook``; a Dockerfile is in the teachers' guide.
"""

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from nnbook.grading import feedback
from nnbook.grading.grader import CSV_COLUMNS, Limits, csv_rows, feedback_path, unreadable_grade
from nnbook.grading.notebooks import find_notebooks, read_submission
from nnbook.grading.registry import load_sets

__all__ = ["docker_command", "grade_in_containers", "main"]

START_STOP_SECONDS = 120  # a container's own start and stop, on top of the submission's time limit
STAGED_NAME = "submission.ipynb"


def docker_command(docker: str, image: str, name: str, staged: Path, out: Path, tests_dir, set_name: str,
                   limits: Limits) -> list:
    """The ``docker run`` command line that grades the one notebook in ``staged``."""
    memory = limits.memory_mb + 2048 if limits.memory_mb else 0  # the grader's own footprint on top
    command = [docker, "run", "--rm", "--name", name, "--network", "none", "--read-only",
               "--tmpfs", "/tmp:rw,size=512m", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
               "--user", "65534:65534", "--pids-limit", str(max(limits.processes, 1) + 64), "--cpus", "1",
               "--env", "HOME=/tmp", "--env", "MPLCONFIGDIR=/tmp",
               "-v", f"{staged}:/submission:ro", "-v", f"{out}:/out"]
    if memory:
        command += ["--memory", f"{memory}m", "--memory-swap", f"{memory}m"]
    if tests_dir:
        command += ["-v", f"{Path(tests_dir).resolve()}:/tests:ro"]
    command += [image, "nnbook-grade", "/submission", "--set", set_name, "--out", "/out/grades.csv",
                "--feedback", "/out/feedback", "--workers", "1", "--no-progress",
                "--timeout", f"{limits.timeout:g}", "--memory", str(limits.memory_mb),
                "--processes", str(limits.processes)]
    if tests_dir:
        command += ["--tests", "/tests"]
    return command


def _run_container(command: list, docker: str, name: str, seconds: float):
    """(exit code or None when it had to be killed, the end of its error output)."""
    try:
        result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, timeout=seconds)
        return result.returncode, result.stderr.decode("utf-8", "replace")[-800:].strip()
    except subprocess.TimeoutExpired:
        subprocess.run([docker, "kill", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        return None, ""


def _grade_one(path: Path, folder: Path, exercise, work: Path, args, limits: Limits):
    """(CSV rows, feedback text) for one submission."""
    submission = read_submission(path, folder)
    if submission.error:  # a folder, a broken link, not a notebook: nothing to run
        grade = unreadable_grade(submission, exercise, f"unreadable: {submission.error}")
        return _rows(grade), feedback.submission_report(grade)
    staged, out = work / "in", work / "out"
    staged.mkdir()
    out.mkdir()
    out.chmod(0o777)  # the container's unprivileged user writes here
    shutil.copyfile(path, staged / STAGED_NAME)
    (staged / STAGED_NAME).chmod(0o644)
    name = f"nnbook-grade-{uuid.uuid4().hex[:12]}"
    command = docker_command(args.docker, args.image, name, staged, out, args.tests, exercise.name, limits)
    code, error = _run_container(command, args.docker, name, limits.timeout + START_STOP_SECONDS)
    try:
        with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))[1:]
        text = (out / "feedback" / "submission.txt").read_text(encoding="utf-8")
    except OSError:
        why = ("the container ran past its time limit and was killed" if code is None else
               f"the container failed (exit code {code}){': ' + error if error else ''}")
        grade = unreadable_grade(submission, exercise, why)
        for q in grade.questions:
            q.status = "error"
        return _rows(grade), feedback.submission_report(grade)
    rows = [[submission.name] + row[1:] for row in rows if row]
    text = text.replace(f"Submission: {STAGED_NAME}", f"Submission: {submission.name}", 1)
    return rows, text


def _rows(grade):
    return [list(row) for row in csv_rows([grade])]


def grade_in_containers(folder, args, limits: Limits):
    """[(submission name, rows, feedback text)] for every submission under ``folder``, in order."""
    folder = Path(folder)
    exercise = load_sets(args.tests)[args.set_name]
    results = []
    with tempfile.TemporaryDirectory(prefix="nnbook-containers-") as tmp:
        for index, path in enumerate(find_notebooks(folder)):
            work = Path(tmp, str(index))
            work.mkdir()
            rows, text = _grade_one(path, folder, exercise, work, args, limits)
            results.append((read_submission(path, folder).name, rows, text))
    return results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nnbook.grading.containers",
                                     description="Grade every notebook in a folder, each in its own container.")
    parser.add_argument("submissions", type=Path)
    parser.add_argument("--image", required=True, help="a container image with nnbook installed")
    parser.add_argument("--set", dest="set_name", required=True, help="the exercise set to grade against")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"))
    parser.add_argument("--feedback", type=Path, default=None)
    parser.add_argument("--tests", type=Path, default=None, help="folder of private tests (mounted read-only)")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--memory", type=int, default=2048)
    parser.add_argument("--processes", type=int, default=16)
    parser.add_argument("--docker", default="docker", help="the container command (docker, podman)")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.submissions.is_dir():
        parser.exit(2, f"error: {args.submissions} is not a folder\n")
    try:
        sets = load_sets(args.tests)
    except Exception as exc:
        parser.exit(2, f"error: {type(exc).__name__}: {exc}\n")
    if args.set_name not in sets:
        parser.exit(2, f"error: no exercise set named {args.set_name!r}; known sets: {', '.join(sorted(sets))}\n")
    if shutil.which(args.docker) is None:
        parser.exit(2, f"error: no {args.docker!r} command on this machine\n")
    limits = Limits(timeout=args.timeout, memory_mb=args.memory, processes=args.processes)
    results = grade_in_containers(args.submissions, args, limits)
    if not results:
        parser.exit(2, f"error: no .ipynb files under {args.submissions}\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="", encoding="utf-8", errors="backslashreplace") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for _, rows, _ in results:
            writer.writerows(rows)
    feedback_dir = args.feedback or args.out.parent / "feedback"
    for name, _, text in results:
        path = feedback_path(feedback_dir, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", errors="backslashreplace")
    print(f"Graded {len(results)} notebooks, each in its own container.\nGrades: {args.out}\n"
          f"Feedback: {feedback_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
