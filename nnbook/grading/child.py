"""The grading child: one fresh process per submission, started by :mod:`nnbook.grading.sandbox`.

The process is forked from a fork server (:mod:`nnbook.grading.forkserver`) that has already
imported this module, and so torch, which makes starting it cheap; nothing of one submission
survives into the next. Its brief and the per-run secret token arrive in memory, as the arguments of
:func:`run` (over the server's socket, never through a file, argv or the environment); its results
leave through its own pipe to the grader. It then:

1. leaves the grader's process group (``setsid``), so that the grader can kill it and everything it
   starts; points stdout at /dev/null and stderr at a pipe the grader reads only as a diagnostic;
2. applies its limits: memory (RLIMIT_DATA above what torch itself already uses), file size
   (RLIMIT_FSIZE), processes (RLIMIT_NPROC, where the kernel applies it) and no core dumps;
3. switches the notebook's check cells off (``enter_grading_mode``);
4. runs the submission's code cells in order in one namespace, each under a soft time limit
   (SIGALRM). A cell that raises, exits, times out or cannot even be compiled is recorded, and the
   next cell still runs. IPython magics and shell commands (``%pip``, ``!ls``) are skipped, not run;
5. for each question, finds the answer by name and observes it on every case under a soft time
   limit (see :mod:`nnbook.grading.runner`);
6. sends each step's record as soon as it has it (one small record per cell, so the cost is linear
   in the notebook's length), authenticated with an HMAC under the token, so a later crash or kill
   loses nothing that was already observed.

The hard limits (wall clock, total memory, process count) are enforced from outside, by the
grader's watchdog. Nothing here decides a grade: the parent judges the observations.
"""

import builtins
import contextlib
import hashlib
import hmac
import io
import json
import os
import signal
import sys
import traceback
from pathlib import Path

import torch

from nnbook.grading.questions import enter_grading_mode
from nnbook.grading.registry import load_sets
from nnbook.grading.runner import CELL_FILENAME, GradingTimeout, describe_exception, observe, plan

try:  # imported here so that the fork server preloads it too
    from IPython.core.inputtransformer2 import TransformerManager
except ImportError:  # without IPython, cells run as plain Python and magics are syntax errors
    TransformerManager = None

__all__ = ["Reporter", "record_tag", "frame", "encode_record", "run"]


def record_tag(token: bytes, name: str, data: bytes) -> bytes:
    """The HMAC that authenticates one record; it covers the record's name as well as its bytes."""
    return hmac.new(token, name.encode() + b"\0" + data, hashlib.sha256).hexdigest().encode()


JSON_RECORDS = ("cell", "done")  # small plain records go as JSON; observations (tensors) via torch.save


def encode_record(name: str, payload) -> bytes:
    if name in JSON_RECORDS:
        return json.dumps(payload).encode()
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def frame(token: bytes, name: str, data: bytes) -> bytes:
    """One record on the result channel: ``NAME LENGTH TAG`` newline, then LENGTH bytes."""
    return b"%s %d %s\n" % (name.encode(), len(data), record_tag(token, name, data)) + data


class Reporter:
    """Sends records, as they are made, over the child's own result channel (a pipe to the grader).

    A record already sent survives a later crash or kill; the channel is nobody else's, so no
    other submission can delete or overwrite it.
    """

    def __init__(self, channel: int, token: bytes):
        self._channel, self._token = channel, token

    def write(self, name: str, payload) -> None:
        view = memoryview(frame(self._token, name, encode_record(name, payload)))
        while view:
            view = view[os.write(self._channel, view):]


# --------------------------------------------------------------------------- limits

@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise GradingTimeout in this thread after ``seconds`` (where SIGALRM exists)."""
    if not hasattr(signal, "setitimer"):
        yield  # Windows: only the parent's hard limit applies
        return

    def on_alarm(signum, frame):
        raise GradingTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _data_size() -> int:
    """Bytes of this process's data segment (VmData) on Linux; 0 elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _tasks_of_this_user() -> int:
    """How many processes and threads this user runs now (what RLIMIT_NPROC counts), from /proc."""
    uid, count = os.getuid(), 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                status = Path("/proc", name, "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if int(fields.get("Uid", "-1").split()[0]) == uid:
                count += int(fields.get("Threads", "1"))
    return count


def limit_processes(max_processes: int) -> None:
    """RLIMIT_NPROC: at most ``max_processes`` more processes or threads than this user runs now.

    The kernel counts per user, not per submission, and does not apply the limit to root; the
    grader's watchdog counts each submission's own processes as well (see nnbook.grading.sandbox).
    """
    try:
        import resource
    except ImportError:
        return
    if not sys.platform.startswith("linux") or os.getuid() == 0:
        return
    # Generous (threads count too): a backstop against a fork bomb between two of the watchdog's
    # looks, which enforces the exact per-submission number.
    limit = _tasks_of_this_user() + 2 * max_processes + 16
    soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))


def limit_resources(memory_mb: int, file_mb: int) -> None:
    """Cap memory on top of the current footprint, the size of written files, and core dumps."""
    try:
        import resource
    except ImportError:  # Windows
        return
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if file_mb:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big write fails instead of killing us
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb * 2**20, file_mb * 2**20))
    if memory_mb and sys.platform.startswith("linux"):
        # RLIMIT_DATA counts private writable memory (heap, anonymous mmap), not the address space
        # that shared libraries and CUDA reserve, so it limits what the submission allocates.
        limit = _data_size() + memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))  # hard too: it cannot be raised back


def _enter(work_dir: str) -> None:
    """Work in ``work_dir``; if something deleted it, in a fresh folder of our own instead."""
    try:
        os.makedirs(work_dir, mode=0o700, exist_ok=True)
        os.chdir(work_dir)
    except OSError:
        import tempfile

        os.chdir(tempfile.mkdtemp(prefix="nnbook-grade-work-"))


def _detach(work_dir: str, stderr_fd: int, threads: int) -> None:
    """Own process group, own folder, no terminal I/O, quiet libraries, few threads."""
    if hasattr(os, "setsid"):
        os.setsid()
    _enter(work_dir)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # input() sees end-of-file instead of waiting for ever
    os.dup2(devnull, 1)
    os.dup2(stderr_fd, 2)
    os.close(stderr_fd)
    sys.stdin = open(os.devnull)
    sys.stdout = open(os.devnull, "w")  # nothing the notebook prints is ever read
    sys.stderr = open(os.devnull, "w")  # its warnings neither; fd 2 keeps crash reports
    os.environ.update({"MPLBACKEND": "Agg", "TQDM_DISABLE": "1", "OMP_NUM_THREADS": str(threads)})
    torch.set_num_threads(threads)


# --------------------------------------------------------------------------- running the notebook

_transformer = None


def to_python(source: str) -> str:
    """Turn IPython syntax (``%magic``, ``!cmd``) into Python calls on ``get_ipython()``."""
    global _transformer
    if TransformerManager is None:
        return source
    try:
        _transformer = _transformer or TransformerManager()  # one per child: building it is slow
        return _transformer.transform_cell(source)
    except Exception:  # let compile() report the problem
        return source


class QuietShell:
    """Stands in for IPython while grading: magics and shell commands are skipped and noted,
    except the cell magics that only wrap their cell (``%%time``, ``%%capture``), whose cell runs."""

    RUN_BODY = ("time", "capture")

    def __init__(self, namespace: dict):
        self.user_ns = namespace
        self.skipped = []
        self.cell_number = 0

    def _skip(self, what: str):
        self.skipped.append(f"cell {self.cell_number}: skipped {what}")

    def run_line_magic(self, name, line, _stack_depth=1):
        self._skip(f"%{name}")

    def run_cell_magic(self, name, line, cell):
        if name not in self.RUN_BODY:
            return self._skip(f"%%{name}")
        exec(compile(to_python(cell), CELL_FILENAME.format(self.cell_number), "exec"), self.user_ns)

    def system(self, command):
        self._skip("a shell command (!)")

    def getoutput(self, command, split=True, depth=0):
        self._skip("a shell command (!)")
        return []


def fresh_namespace():
    namespace = {"__name__": "__main__", "__builtins__": builtins, "display": lambda *a, **k: None}
    shell = QuietShell(namespace)
    namespace["get_ipython"] = lambda: shell
    return namespace, shell


def run_cell(number: int, source: str, namespace: dict, seconds: float) -> dict:
    """Run one code cell; return {'cell', 'status' (ok, error or timeout), 'message'}."""
    report = {"cell": number, "status": "ok", "message": ""}
    try:
        code = compile(to_python(source), CELL_FILENAME.format(number), "exec")
    except (SyntaxError, ValueError) as exc:
        line = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        return {**report, "status": "error", "message": f"{type(exc).__name__}: {getattr(exc, 'msg', exc)}{line}"}
    except (RecursionError, MemoryError) as exc:  # nesting too deep for Python's compiler
        return {**report, "status": "error", "message": f"{type(exc).__name__}: the cell is too deeply "
                                                       f"nested for Python to compile"}
    try:
        with time_limit(seconds):
            exec(code, namespace)
    except GradingTimeout:
        return {**report, "status": "timeout", "message": f"stopped after the {seconds:g} s limit for one cell"}
    except BaseException as exc:  # SystemExit and KeyboardInterrupt included: grading goes on
        return {**report, "status": "error", "message": describe_exception(exc)}
    return report


def observe_question(question, namespace: dict, seconds: float, cuda: bool) -> dict:
    """{'observations': [...]} for one question, or {'missing': reason} when it cannot run."""
    answer = namespace.get(question.answer)
    if answer is None:
        return {"missing": f"no function named {question.answer} was defined "
                           f"(keep the name from the exercise notebook, and check its cell runs)"}
    if not callable(answer):
        return {"missing": f"{question.answer} should be a function, but it is of type {type(answer).__name__}"}
    observations, key = [], ""
    try:
        with time_limit(seconds):
            for key, case, device in plan(question, public_only=False, cuda=cuda):
                observations.append(observe(question, key, case, device, answer))
    except GradingTimeout:
        observations.append({"case": key, "outcome": "timeout"})
    except BaseException as exc:  # the cases themselves broke (e.g. the notebook patched torch)
        return {"missing": f"the grader could not run the cases: {describe_exception(exc)}"}
    return {"observations": observations}


def _run(brief: dict, reporter: Reporter) -> None:
    exercise = load_sets(brief["tests_dir"])[brief["exercise_set"]]
    if brief["cuda"]:
        torch.zeros(1, device="cuda")  # initialise CUDA before the memory limit is measured
    limit_resources(brief["memory_mb"], brief["file_mb"])
    limit_processes(brief["max_processes"])
    enter_grading_mode()
    namespace, shell = fresh_namespace()
    for number, source in brief["cells"]:
        shell.cell_number, shell.skipped = number, []
        report = run_cell(number, source, namespace, brief["step_seconds"])
        reporter.write("cell", {**report, "skipped": shell.skipped})  # one small record per cell
    for question in exercise.questions:
        reporter.write(question.id, observe_question(question, namespace, brief["step_seconds"], brief["cuda"]))
    reporter.write("done", {"done": True})


def run(brief: dict, scratch: str, channel: int, stderr_fd: int) -> None:
    """The child's whole life. ``scratch`` holds its working folder ``work/``; ``channel`` and
    ``stderr_fd`` are the write ends of its result pipe and its stderr pipe."""
    status = 0
    try:
        _detach(os.path.join(scratch, "work"), stderr_fd, brief["threads"])
        _run(brief, Reporter(channel, brief["token"].encode()))
    except BaseException:  # the grader's own failure: leave a traceback for the teacher's notes
        with os.fdopen(2, "w", closefd=False) as stderr:
            traceback.print_exc(file=stderr)
        status = 3
    # os._exit: no interpreter shutdown, so objects the notebook left behind (atexit hooks,
    # __del__ methods, threads) cannot run code after the records are written.
    os._exit(status)
