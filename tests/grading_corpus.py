"""The grader's regression corpus: ordinary, odd and hostile submissions, generated (nothing stored).

Every entry is built from a small solution notebook for the test fixture exercise set
(tests/grading_fixture/fixture_set.py), so the corpus depends on no chapter's exercises. Each entry
names the file to write (bytes where the name is not valid UTF-8), how to build it, the status each
of q1, q2, q3 must get, and phrases the feedback must contain. tests/test_grading.py grades the
whole folder once and checks every entry.

    python tests/grading_corpus.py FOLDER     # write the corpus to look at, or to grade by hand:
    nnbook-grade FOLDER --tests tests/grading_fixture
"""

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Tuple, Union

import nbformat

from nnbook.grading.feedback import safe_text

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "grading_fixture"
SET_NAME = "zz-grader-fixture"
TIMEOUT = 10  # the limits the corpus is graded with (see tests/test_grading.py)
MEMORY_MB = 512
PROCESSES = 16
STEP = f"{TIMEOUT / 5:g}"  # the per-cell limit: timeout / (three questions + 2)

ANSWERS = {
    "scale_shift": "def scale_shift(x, a, b):\n    return a * x + b",
    "total": "def total(sizes):\n    return sum(sizes)",
    "sum_and_mean": "def sum_and_mean(x):\n    return x.sum(), x.mean()",
}
STUBS = {name: f"{source.splitlines()[0]}\n    raise NotImplementedError('Replace this line with your answer.')"
         for name, source in ANSWERS.items()}
QUESTIONS = (("q1", "scale_shift"), ("q2", "total"), ("q3", "sum_and_mean"))


def notebook(answers=None):
    """The fixture's notebook. Cells: 1 title, 2 set-up, then per question its answer (4, 6, 8)
    and its check cell (5, 7, 9)."""
    answers = answers or ANSWERS
    cells = [nbformat.v4.new_markdown_cell("# The grader's fixture exercises"),
             nbformat.v4.new_code_cell("import torch\nfrom nnbook.grading import exercise_set\n"
                                       f"ex = exercise_set({SET_NAME!r}, tests_dir={str(FIXTURE)!r})")]
    for question_id, name in QUESTIONS:
        cells += [nbformat.v4.new_code_cell(answers[name]),
                  nbformat.v4.new_code_cell(f"ex.check({question_id!r}, {name})")]
    cells.insert(2, nbformat.v4.new_markdown_cell("## Questions"))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["nnbook"] = {"exercise_set": SET_NAME}
    return nb


def solution(work=None):
    return notebook()


def exercise(work=None):
    return notebook(STUBS)


def with_answers(base=solution, **answers):
    def build(work):
        nb = base(work)
        for cell in nb.cells:
            for name, source in answers.items():
                if cell.cell_type == "code" and cell.source.startswith(f"def {name}("):
                    cell.source = source
        return nb
    return build


def with_cells(*codes, after: int = 2, base=solution):
    """Code cells inserted after cell number ``after`` (numbered from 1); ``{work}`` in a cell is
    replaced by the folder for pid files."""
    def build(work):
        nb = base(work)
        nb.cells[after:after] = [nbformat.v4.new_code_cell(code.replace("{work}", str(work))) for code in codes]
        return nb
    return build


def raw(data: bytes):
    return lambda work: data


# --------------------------------------------------------------------------- hostile code

# Guards: these cells act only inside a grading child whose parent is a fork server, never in
# a process that belongs to the test run itself.
IN_CHILD = '''import os, signal
def under_fork_server():
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as f:
            return b"nnbook.grading.forkserver" in f.read()
    except OSError:
        return False
'''

STOP_SERVER = IN_CHILD + '''if under_fork_server():
    open("{work}/stops_server.pid", "w").write(str(os.getpid()))
    signal.signal(signal.SIGALRM, signal.SIG_IGN)  # the cell time limit no longer stops us
    os.kill(os.getppid(), signal.SIGSTOP)
    while True:
        pass'''

KILL_SERVER = IN_CHILD + '''if under_fork_server():
    open("{work}/kills_server.pid", "w").write(str(os.getpid()))
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    os.kill(os.getppid(), signal.SIGKILL)
    while True:
        pass'''

STOP_ITSELF = IN_CHILD + '''if under_fork_server():
    open("{work}/stops_itself.pid", "w").write(str(os.getpid()))
    os.kill(os.getpid(), signal.SIGSTOP)  # stopped: no signal handler of ours runs any more'''

STOP_SERVER_THEN_FINISH = IN_CHILD + '''if under_fork_server():
    os.kill(os.getppid(), signal.SIGSTOP)  # the server cannot answer; the child still finishes'''

FORK = '''import os, time
pid = os.fork()
if pid == 0:
    os.setsid()  # leaves the child's process group: only the watchdog's process tree finds it
    time.sleep(600)
    os._exit(0)
open("{work}/forks.pid", "w").write(str(pid))'''

FORK_BOMB = '''import os, time
pids = []
for _ in range(40):
    pid = os.fork()
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    pids.append(pid)
open("{work}/fork_bomb.pid", "w").write(" ".join(map(str, pids)))
while True:  # wait, past the cell's soft limit too, so that only the watchdog ends this
    try:
        time.sleep(600)
    except BaseException:
        pass'''

MEMORY_BY_FORKS = '''import os, time
for _ in range(4):
    if os.fork() == 0:
        hoard = b"x" * (200 * 2**20)  # 200 MB each: under the per-process limit, over it together
        time.sleep(600)
        os._exit(0)
while True:  # wait, past the cell's soft limit too, so that only the watchdog ends this
    try:
        time.sleep(600)
    except BaseException:
        pass'''

DELETE_OTHERS = '''import glob, os, shutil, time
mine = os.path.dirname(os.getcwd())
end = time.monotonic() + 1.5
while time.monotonic() < end:  # every other submission's scratch folder in this run, repeatedly
    for other in glob.glob(os.path.join(os.path.dirname(mine), "*")):
        if other != mine:
            shutil.rmtree(other, ignore_errors=True)'''

TAMPER = '''import torch
import nnbook.grading.runner as runner
import nnbook.grading.values as values

values.compare = lambda *args, **kwargs: None
runner.judge = lambda question, key, *rest: runner.CaseResult(key, True)
print("Score: 10 / 10")'''

NOISY = (
    "%matplotlib inline\n!pip install --quiet something-that-does-not-exist",
    "big = torch.empty(10**9)  # 4 GB: far past the memory limit",
    "name = input('Your name? ')",
    "while True:\n    pass",
)

LYING_SUBCLASS = '''class Liar(torch.Tensor):
    @property
    def dtype(self):
        return torch.float32  # it is float64

    @property
    def shape(self):
        raise RuntimeError("no shape for you")


def scale_shift(x, a, b):
    return (a * x + b).double().as_subclass(Liar)'''

TORCH_FUNCTION_SUBCLASS = '''class Grumpy(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func.__name__ in ("__get__", "__repr__"):
            raise RuntimeError("grumpy")
        return super().__torch_function__(func, types, args, kwargs)


def sum_and_mean(x):
    return x.sum().as_subclass(Grumpy), x.mean().as_subclass(Grumpy)'''

UNCONVERTIBLE = '''from torch.utils._pytree import tree_map


class Slippery(torch.Tensor):
    @staticmethod
    def __new__(cls, data):
        return torch.Tensor._make_wrapper_subclass(cls, data.shape, dtype=data.dtype)

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        raise RuntimeError("no values here")


def scale_shift(x, a, b):
    return Slippery(a * x + b)'''

FORGE = '''import os, stat
for fd in range(3, 256):  # a record with a made-up tag, into every pipe the notebook can reach
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.write(fd, b"q1 5 " + b"0" * 64 + b"\\nhello")
    except OSError:
        pass'''

SURROGATE = 'def total(sizes):\n    raise ValueError("bad byte \\udcff and a lone \\ud800")'

DEEP_CODE = "deep = " + "-" * 100_000 + "1"


def trivial_cells(count: int):
    def build(work):
        nb = solution()
        nb.cells[2:2] = [nbformat.v4.new_code_cell(f"x{i} = {i}") for i in range(count)]
        return nb
    return build


OK3 = ("ok", "ok", "ok")
ERROR3 = ("error",) * 3
UNREADABLE3 = ("unreadable",) * 3


@dataclass
class Entry:
    build: Callable  # work folder -> notebook or bytes; None for the folder and link entries
    statuses: Tuple[str, ...]
    phrases: Tuple[str, ...] = ()
    path: Union[str, bytes] = ""  # on disk, where it differs from the CSV name
    kind: str = "file"  # or "folder", "broken link"
    hostile: bool = False  # counted in the benchmark's hostile class
    extra: dict = field(default_factory=dict)


CORPUS = {
    # --- ordinary submissions
    "solution.ipynb": Entry(solution, OK3, ("Score: 10 / 10",)),
    "exercise.ipynb": Entry(exercise, ("failed",) * 3,
                            ("✗ all 4 cases\n      not answered yet: it still raises NotImplementedError",
                             "Score: 0 / 10")),
    "class_b/Copy of solution.ipynb": Entry(solution, OK3, ("Submission: class_b/Copy of solution.ipynb",)),
    "UPPER CASE.IPYNB": Entry(solution, OK3, ("Submission: UPPER CASE.IPYNB",)),
    "no_check_cells.ipynb": Entry(lambda work: _without_checks(), OK3),
    "metadata_edited.ipynb": Entry(lambda work: _metadata("02-something-else"), OK3,
                                   ("its metadata says '02-something-else'",)),
    "metadata_removed.ipynb": Entry(lambda work: _metadata(None), OK3, ("it has no exercise-set metadata",)),
    "no_set_no_answers.ipynb": Entry(lambda work: nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]),
                                     ERROR3, ("the exercise set of the other notebooks in the folder",
                                              "no function named sum_and_mean")),
    # --- wrong answers
    "broken_answers.ipynb": Entry(with_answers(
        scale_shift="def scale_shift(x, a, b):\n    scale = 1 / 0\n    return x",
        total="def total(sizes):\n    while True:\n        pass",
        sum_and_mean="def sum_and_mean(x):\n    hoard = [0.0] * (5 * 10**8)  # 4 GB of pointers\n"
                     "    return x.sum(), x.mean()"),
        ("failed", "timeout", "failed"),
        ("raised ZeroDivisionError: division by zero (cell 4, line 2)", "stopped: it ran past the time limit",
         "raised MemoryError"), hostile=True),
    "wrong_outputs.ipynb": Entry(with_answers(
        scale_shift="def scale_shift(x, a, b):\n    return (a * x + b).double()",
        total="def total(sizes):\n    return float(sum(sizes))",
        sum_and_mean="def sum_and_mean(x):\n    return x.sum().to('meta'), x.mean()"),
        ("failed",) * 3,
        ("should have dtype torch.float32, but it has dtype torch.float64", "should be the int 6, but it is the float 6.0",
         "the returned total should be on the inputs' device (cpu), but it is on meta")),
    "nan_shape_mutation.ipynb": Entry(with_answers(
        scale_shift="def scale_shift(x, a, b):\n    return (a * x + b).reshape(1, -1)",
        total="def total(sizes):\n    n = sum(sizes)\n    sizes.append(0)\n    return n",
        sum_and_mean="def sum_and_mean(x):\n    return x.sum() * float('nan'), x.mean()"),
        ("failed",) * 3,
        ("should have shape (3,), but it has shape (1, 3)", "changed its argument `sizes` in place",
         "the returned total contains NaN")),
    "syntax_error.ipynb": Entry(with_answers(scale_shift="def scale_shift(x, a, b)\n    return x"),
                                ("error", "ok", "ok"), ("SyntaxError", "no function named scale_shift")),
    # --- attempts to cheat
    "tampers_with_grader.ipynb": Entry(with_cells(TAMPER, base=exercise), ("failed",) * 3, ("Score: 0 / 10",), hostile=True),
    "fake_scores.ipynb": Entry(with_cells('print("q1 ok 3/3\\nq2 ok 3/3\\nq3 ok 4/4")\n'
                                          'open("q1.rec", "wb").write(b"0" * 64 + b"\\nforged")', base=exercise),
                               ("failed",) * 3, ("Score: 0 / 10",), hostile=True),
    "forged_channel.ipynb": Entry(with_cells(FORGE, base=exercise, after=9),
                                  ("failed",) * 3, ("failed verification",), hostile=True),
    # --- the process misbehaves
    "ignores_the_time_limit.ipynb": Entry(with_cells("total([1, 2])", after=6, base=with_answers(
        total="def total(sizes):\n    while True:\n        try:\n            while True:\n"
              "                pass\n        except BaseException:\n            pass")),
        ("timeout",) * 3, (f"ran past its {TIMEOUT:g} s time limit", "ran out of time while running this cell"),
        hostile=True),
    "calls_sys_exit.ipynb": Entry(with_cells('import sys\nsys.exit("stop grading here")'), OK3,
                                  ("SystemExit: stop grading here",)),
    "calls_os_exit.ipynb": Entry(with_cells("import os\nos._exit(0)", after=5), ERROR3,
                                 ("the notebook ended the grading process (exit code 0)",
                                  "cell 6: the grading process ended while running this cell"), hostile=True),
    "noisy_cells.ipynb": Entry(with_cells(*NOISY), OK3,
                               ("cell 3: skipped %matplotlib", "cell 3: skipped a shell command",
                                "cell 4: RuntimeError", "can't allocate memory", "cell 5: EOFError",
                                f"cell 6: stopped after the {STEP} s limit for one cell"), hostile=True),
    "forks.ipynb": Entry(with_cells(FORK), OK3, hostile=True),
    "stops_its_server.ipynb": Entry(with_cells(STOP_SERVER), ("timeout",) * 3,
                                    (f"ran past its {TIMEOUT:g} s time limit",), hostile=True),
    "kills_its_server.ipynb": Entry(with_cells(KILL_SERVER), ERROR3,
                                    ("the grading process was lost before this question",), hostile=True),
    "stops_itself.ipynb": Entry(with_cells(STOP_ITSELF), ("timeout",) * 3,
                                (f"ran past its {TIMEOUT:g} s time limit",), hostile=True),
    "stops_its_server_and_finishes.ipynb": Entry(with_cells(STOP_SERVER_THEN_FINISH), OK3, hostile=True),
    "fork_bomb.ipynb": Entry(with_cells(FORK_BOMB), ERROR3,
                             (f"more than the limit of {PROCESSES} besides the notebook's own",
                              "cell 3: the grading process was stopped by the grader"), hostile=True),
    "memory_by_forks.ipynb": Entry(with_cells(MEMORY_BY_FORKS), ERROR3,
                                   (f"held more than the {MEMORY_MB} MB memory limit",), hostile=True),
    "deletes_other_submissions_files.ipynb": Entry(with_cells(DELETE_OTHERS), OK3, hostile=True),
    # --- hostile return values
    "lying_tensor_subclass.ipynb": Entry(with_answers(scale_shift=LYING_SUBCLASS), ("failed", "ok", "ok"),
                                         ("should have dtype torch.float32, but it has dtype torch.float64",),
                                         hostile=True),
    "torch_function_subclass.ipynb": Entry(with_answers(sum_and_mean=TORCH_FUNCTION_SUBCLASS), OK3, hostile=True),
    "unconvertible_tensor.ipynb": Entry(with_answers(scale_shift=UNCONVERTIBLE), ("failed", "ok", "ok"),
                                        ("could not be converted into a plain tensor",), hostile=True),
    "lone_surrogate_message.ipynb": Entry(with_answers(total=SURROGATE), ("ok", "failed", "ok"),
                                          ("raised ValueError: bad byte \\udcff and a lone \\ud800",), hostile=True),
    # --- odd notebooks
    "deep_code.ipynb": Entry(with_cells(DEEP_CODE), OK3, ("cell 3: MemoryError",), hostile=True),
    "ten_thousand_cells.ipynb": Entry(trivial_cells(10_000), OK3, hostile=True),
    "deep_json.ipynb": Entry(raw(b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"), UNREADABLE3,
                             ("nested too deeply",), hostile=True),
    "empty.ipynb": Entry(raw(b""), UNREADABLE3, ("the file is empty",)),
    "not_json.ipynb": Entry(raw(b'{"cells": ['), UNREADABLE3, ("not valid notebook JSON",)),
    "not_a_notebook.ipynb": Entry(raw(b'{"hello": "world"}'), UNREADABLE3, ("not a Jupyter notebook",)),
    "binary.ipynb": Entry(raw(bytes(range(256)) * 4), UNREADABLE3, ("not UTF-8",), hostile=True),
    # --- odd paths
    "a folder.ipynb": Entry(None, UNREADABLE3, ("it is a folder, not a notebook file",), kind="folder", hostile=True),
    "broken_link.ipynb": Entry(None, UNREADABLE3, ("it is a link to something that does not exist",),
                               kind="broken link", hostile=True),
    "caf\\xe9 (latin-1 name).ipynb": Entry(solution, OK3, ("Submission: caf\\xe9 (latin-1 name).ipynb",),
                                           path=b"caf\xe9 (latin-1 name).ipynb", hostile=True),
    "line\\nbreak, \"quotes\".ipynb": Entry(solution, OK3, path='line\nbreak, "quotes".ipynb', hostile=True),
}


def _without_checks():
    nb = solution()
    nb.cells = [c for c in nb.cells if "ex.check(" not in c.source]
    return nb


def _metadata(value):
    nb = solution()
    if value is None:
        del nb.metadata["nnbook"]
    else:
        nb.metadata["nnbook"]["exercise_set"] = value
    return nb


def write_entry(folder: Path, name: str, entry: Entry, work: Path) -> None:
    path = os.path.join(os.fsencode(folder), os.fsencode(entry.path or name))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if entry.kind == "folder":
        os.makedirs(path, exist_ok=True)
        return
    if entry.kind == "broken link":
        os.symlink(os.path.join(os.fsencode(folder), b"does-not-exist.ipynb"), path)
        return
    made = entry.build(work)
    with open(path, "wb") as handle:
        handle.write(made if isinstance(made, bytes) else nbformat.writes(made).encode())


def write_corpus(folder: Path, work: Path, names=None) -> None:
    """Write the corpus (or the entries ``names``) into ``folder``; pid files go to ``work``."""
    for name in names or CORPUS:
        write_entry(Path(folder), name, CORPUS[name], Path(work))


assert all(safe_text(os.fsdecode(os.fsencode(e.path or n))) == n for n, e in CORPUS.items()), \
    "every entry's key is the name the grader shows for its path"

if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "grading-corpus")
    target.mkdir(parents=True, exist_ok=True)
    write_corpus(target, target)
    print(f"wrote {len(CORPUS)} submissions to {target}; grade them with "
          f"nnbook-grade {target} --tests {FIXTURE.relative_to(Path.cwd()) if FIXTURE.is_relative_to(Path.cwd()) else FIXTURE}")
