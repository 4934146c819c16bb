"""A fork server: imports torch once, then forks one fresh grading child per request.

Started by :class:`nnbook.grading.sandbox.ForkServer` as ``python -m nnbook.grading.forkserver FD``,
where FD is its end of a Unix socket pair shared with the grader. Importing torch takes seconds;
forking a process that has already imported it takes milliseconds, so every submission still gets a
process of its own without paying for the import. The server itself never runs torch code or starts
threads, which is what makes forking it safe.

Protocol, one JSON object per line on the socket. The server says ``{"ready": true}`` once warm.
The grader sends ``{"brief": ..., "scratch": folder, "timeout": seconds}`` with two file
descriptors attached (``SCM_RIGHTS``): the write ends of two pipes, the child's private result
channel and its stderr. The server
forks a child that runs :func:`nnbook.grading.child.run`, answers ``{"pid": child}`` at once, waits
for it at most ``timeout`` seconds, kills its process group and every process below the server
(the server adopts orphans, so a double fork does not escape), and answers
``{"exitcode": int, "timed_out": bool}``. The grader does not rely on any of this: its own watchdog
enforces the same limits even when this server is stopped or killed.
"""

import importlib
import json
import os
import signal
import socket
import sys
import time

from nnbook.grading import child, procs, registry

__all__ = ["serve", "wait_for"]

POLL_SECONDS = 0.01
REAP_SECONDS = 0.5  # how often adopted orphans that have exited are collected
MAX_REQUEST_BYTES = 2**16
# Imported once here rather than in every child: what exercise notebooks commonly use, and what
# torch imports lazily on first use (torch.testing.assert_close pulls in torch.distributed.tensor
# and sympy, about two seconds; torch._dynamo, which nnbook.grading.forbidden loads before it
# patches anything). Importing creates no threads, so forking stays safe.
WARM_MODULES = ("torch.distributed.tensor", "torch.testing", "torch._dynamo", "matplotlib.pyplot",
                "numpy")


def warm_up() -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")  # no GUI backend in a server
    for name in WARM_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # an optional convenience: a child imports what it needs anyway
            pass
    registry.builtin_sets()  # the course's exercise sets, loaded once for every child


def _reap_orphans() -> None:
    """Collect the exit status of adopted orphans, so they do not linger as zombies."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _reap_adopted(child_pid: int) -> None:
    """Reap the orphans this server adopted that have exited, but never the child itself."""
    me = os.getpid()
    for pid, (ppid, _, _, state) in procs.snapshot().items() if os.path.isdir("/proc") else ():
        if ppid == me and pid != child_pid and state == "Z":
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def kill_everything_below(child_pid: int, reap: bool = True) -> None:
    """Kill the child's process group and every process below this server, then reap them
    (``reap=False``: leave them to the caller, who still wants the child's own exit status)."""
    me = os.getpid()
    procs.kill_all(procs.descendants([me], [child_pid]), groups=[child_pid],
                   find=lambda: procs.descendants([me], [child_pid]))
    if reap:
        _reap_orphans()


def wait_for(pid: int, timeout: float):
    """(exit code, timed out): wait for ``pid``, killing it and what it started after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    next_reap = time.monotonic() + REAP_SECONDS
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), False
        if time.monotonic() >= next_reap:
            _reap_adopted(pid)
            next_reap = time.monotonic() + REAP_SECONDS
        if time.monotonic() >= deadline:
            kill_everything_below(pid, reap=False)
            try:
                os.kill(pid, signal.SIGKILL)  # in case it was killed before it could call setsid
            except ProcessLookupError:
                pass
            _, status = os.waitpid(pid, 0)
            _reap_orphans()
            return os.waitstatus_to_exitcode(status), True
        time.sleep(POLL_SECONDS)


def _handle(sock: socket.socket, request: dict, channel: int, stderr_fd: int) -> dict:
    pid = os.fork()
    if pid == 0:  # the child: must never return into this loop
        try:
            sock.close()
            child.run(request["brief"], request["scratch"], channel, stderr_fd)
        finally:
            os._exit(4)
    os.close(channel)  # only the child (and what it starts) holds the write ends now
    os.close(stderr_fd)
    sock.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    try:
        exitcode, timed_out = wait_for(pid, float(request["timeout"]))
    finally:
        kill_everything_below(pid)  # whatever the child started goes too, even if we are interrupted
    return {"exitcode": exitcode, "timed_out": timed_out}


def _requests(sock: socket.socket):
    """(request, result channel, stderr) until the grader closes its end."""
    buffer, fds, searched = bytearray(), [], 0
    while True:
        data, new_fds, _, _ = socket.recv_fds(sock, MAX_REQUEST_BYTES, 4)
        if not data:
            return
        buffer += data  # a bytearray grows in place: a long notebook's brief costs linear time
        fds += new_fds
        newline = buffer.find(b"\n", searched)
        searched = len(buffer)
        while newline >= 0:
            line = bytes(buffer[:newline])
            del buffer[: newline + 1]
            searched = 0
            yield json.loads(line), fds.pop(0), fds.pop(0)
            newline = buffer.find(b"\n")


def serve(sock: socket.socket) -> None:
    """Answer requests until the grader closes its end of the socket."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))  # so _handle's finally runs
    procs.set_child_subreaper()
    sock.sendall(b'{"ready": true}\n')
    for request, channel, stderr_fd in _requests(sock):
        sock.sendall(json.dumps(_handle(sock, request, channel, stderr_fd)).encode() + b"\n")


if __name__ == "__main__":
    server_socket = socket.socket(fileno=int(sys.argv[1]))
    warm_up()
    serve(server_socket)
