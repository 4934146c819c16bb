"""A fork server: imports torch once, then forks one fresh grading child per request.

Started by :class:`nnbook.grading.sandbox.ForkServer` as ``python -m nnbook.grading.forkserver``.
Importing torch takes seconds; forking a process that has already imported it takes
milliseconds, so every submission still gets a process of its own without paying for the import.
The server itself never runs torch code or starts threads, which is what makes forking it safe.

Protocol, one JSON object per line: the grader writes
``{"brief": ..., "token": ..., "scratch": ..., "timeout": seconds}`` on the server's stdin; the
server forks a child that runs :func:`nnbook.grading.child.run`, waits for it at most ``timeout``
seconds, kills the child's process group (the child and anything it started), and answers
``{"exitcode": int, "timed_out": bool}`` on stdout. The child replaces its stdin and stdout at once,
so it cannot read requests or write answers.
"""

import importlib
import json
import os
import signal
import sys
import time

from nnbook.grading import child, registry

__all__ = ["serve", "wait_for"]

POLL_SECONDS = 0.01
# Imported once here rather than in every child: what exercise notebooks commonly use, and what
# torch imports lazily on first use (torch.testing.assert_close pulls in torch.distributed.tensor
# and sympy, about two seconds). Importing creates no threads, so forking stays safe.
WARM_MODULES = ("torch.distributed.tensor", "torch.testing", "matplotlib.pyplot", "numpy")


def warm_up() -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")  # no GUI backend in a server
    for name in WARM_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # an optional convenience: a child imports what it needs anyway
            pass
    registry.builtin_sets()  # the course's exercise sets, loaded once for every child


def kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone, or the child had not yet made its own


def wait_for(pid: int, timeout: float):
    """(exit code, timed out): wait for ``pid``, killing it and its group after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), False
        if time.monotonic() >= deadline:
            kill_group(pid)
            os.kill(pid, signal.SIGKILL)  # in case it was killed before it could call setsid
            _, status = os.waitpid(pid, 0)
            return os.waitstatus_to_exitcode(status), True
        time.sleep(POLL_SECONDS)


def _handle(request: dict) -> dict:
    pid = os.fork()
    if pid == 0:  # the child: must never return into this loop
        try:
            child.run(request["brief"], request["token"], request["scratch"])
        finally:
            os._exit(4)
    try:
        exitcode, timed_out = wait_for(pid, request["timeout"])
    finally:
        kill_group(pid)  # whatever the child started goes too, even if we are interrupted
    return {"exitcode": exitcode, "timed_out": timed_out}


def serve(requests=sys.stdin, replies=sys.stdout) -> None:
    """Answer requests until the grader closes our stdin."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))  # so _handle's finally runs
    for line in requests:
        replies.write(json.dumps(_handle(json.loads(line))) + "\n")
        replies.flush()


if __name__ == "__main__":
    warm_up()
    serve()
