"""The grader's side of running one submission: a fresh child per submission, a watchdog that
enforces every limit from outside, and only authenticated records read back.

* Children come from fork servers (:mod:`nnbook.grading.forkserver`): one per worker, each started
  once, so a submission starts in milliseconds instead of re-importing torch for seconds.
* Each run gets a fresh scratch folder (mode 0700, a random name), a fresh random token and its
  own result channel: a pipe whose write end only that child holds (passed to the server over a
  Unix socket), so no other submission can delete, replace or read its results.
* The watchdog here, in the grader, never waits without a deadline: every read of the server's
  socket and of the result pipe has a timeout; at the submission's wall-clock limit (plus a short
  grace) it kills the child's process group and every process below the server, and the server
  too if it has not answered (stopped, killed, or stuck). On Linux it also watches, four times a
  second, how many processes the submission runs and how much memory they hold together
  (proportional anonymous memory, so forks cannot multiply the limit), and kills the submission
  when it passes either limit.
* The child's stdout is discarded; its stderr (a pipe too) is kept only as a diagnostic when it
  dies early.
* A record counts only if its HMAC under the token verifies; it is then loaded with
  ``torch.load(weights_only=True)``, which builds tensors and plain containers and refuses to run
  code. Records that fail verification are reported, never used.

The grader needs ``fork``, so a POSIX system: Linux (Colab included) or macOS; on Windows, WSL.
"""

import contextlib
import io
import json
import os
import queue
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

import nnbook
from nnbook.grading import procs
from nnbook.grading.child import JSON_RECORDS, record_tag

__all__ = ["ChildOutcome", "ForkServer", "ServerLost", "ServerPool", "FrameReader", "memory_limit_supported"]

MAX_RECORD_BYTES = 256 * 2**20
STDERR_TAIL = 1500
START_SECONDS = 180  # for a fork server to import torch; a busy machine can take a minute
GRACE_SECONDS = 2.0  # past the submission's limit, for the server to kill the child and answer
WATCH_SECONDS = 0.25
SEND_SECONDS = 30  # to hand a brief (up to a 50 MB notebook's code) to the server  # how often the watchdog counts processes and memory


def memory_limit_supported() -> bool:
    """The memory limits (RLIMIT_DATA per process, the watchdog's total) are enforced on Linux only."""
    return sys.platform.startswith("linux")


@dataclass
class ChildOutcome:
    records: dict = field(default_factory=dict)  # name -> payload, verified records only
    returncode: int = 0
    timed_out: bool = False
    stderr_tail: str = ""
    rejected: list = field(default_factory=list)  # names of records that failed verification
    killed_for: str = ""  # why the watchdog killed the submission, when it did (not for time)
    server_start: float = 0.0  # seconds spent starting a fork server first (not the submission's time)


class FrameReader:
    """Parses the result channel: ``NAME LENGTH TAG`` newline, LENGTH bytes, and so on.

    Records are collected as ``records["cells"] = {"cells": [...], "skipped": [...]}``, one entry
    per question id, and ``records["done"]``. Anything that does not parse ends the reading; a
    record whose tag does not verify is rejected and skipped.
    """

    def __init__(self, token: bytes):
        self._token, self._buffer = token, bytearray()
        self.records = {"cells": {"cells": [], "skipped": []}}
        self.rejected, self.broken = [], False

    def feed(self, data: bytes) -> None:
        if self.broken:
            return
        self._buffer += data
        while not self.broken:
            newline = self._buffer.find(b"\n", 0, 200)
            if newline < 0:
                self.broken = len(self._buffer) >= 200
                return
            try:
                name, length, tag = self._buffer[:newline].decode("ascii").split(" ")
                length = int(length)
                if not 0 <= length <= MAX_RECORD_BYTES or not name.isidentifier():
                    raise ValueError(name)
            except ValueError:
                self.broken = True
                return
            if len(self._buffer) < newline + 1 + length:
                return
            data = bytes(self._buffer[newline + 1: newline + 1 + length])
            del self._buffer[: newline + 1 + length]
            self._take(name, tag.encode(), data)

    def _take(self, name: str, tag: bytes, data: bytes) -> None:
        try:
            if not secrets.compare_digest(tag, record_tag(self._token, name, data)):
                raise ValueError("bad signature")
            if name in JSON_RECORDS:
                payload = json.loads(data)
            else:
                payload = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
        except Exception:  # unreadable, forged or not loadable safely: never used
            self.rejected.append(name)
            return
        if name == "cell":
            cells = self.records["cells"]
            cells["cells"].append(payload)
            skipped = payload.get("skipped", []) if isinstance(payload, dict) else []
            cells["skipped"] += [str(s) for s in skipped] if isinstance(skipped, list) else []
        else:
            self.records[name] = payload


class ServerLost(Exception):
    """The fork server stopped answering or died."""


class ForkServer:
    """The grader's handle on one fork server process, started on first use."""

    def __init__(self, root=None):
        if not hasattr(os, "fork"):
            raise RuntimeError("nnbook-grade needs fork(): run it on Linux or macOS (on Windows, in WSL)")
        self.root = str(root or tempfile.gettempdir())  # where each run's scratch folder is made
        self._process = self._socket = None
        self._lines = b""
        self.baseline = None  # the idle server's anonymous memory, the zero of the memory watch

    # ------------------------------------------------------------------ the server process

    def _start(self) -> None:
        env = dict(os.environ)
        # The server imports the same nnbook as the grader, installed or not.
        package_root = str(Path(nnbook.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        env.pop("PYTHONSTARTUP", None)
        mine, theirs = socket.socketpair()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "nnbook.grading.forkserver", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env,
                cwd=tempfile.gettempdir(), start_new_session=True)  # its own session: killable as a whole
        finally:
            theirs.close()
        self._socket, self._lines = mine, b""
        try:
            ready = self._read_line(time.monotonic() + START_SECONDS)
        except (TimeoutError, ServerLost):
            ready = None
        if ready != {"ready": True}:
            self.kill()
            raise ServerLost("the grading server did not start")
        self.baseline = procs.anon_memory([self._process.pid])

    def _alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _read_line(self, deadline: float, watch=None):
        """The server's next JSON line; meanwhile ``watch`` (a _Watch) reads its channel and checks
        its limits. Raises ServerLost when the server closes, TimeoutError at ``deadline``."""
        while b"\n" not in self._lines:
            if watch is not None and watch.finished_at is not None:
                # The child said it was done and closed its channel: the server has little left to say.
                deadline = min(deadline, watch.finished_at + GRACE_SECONDS)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            waiting = [self._socket] + ([watch.channel] if watch and watch.channel_open else []) + \
                ([watch.stderr] if watch and watch.stderr is not None else [])
            ready, _, _ = select.select(waiting, [], [], min(left, WATCH_SECONDS))
            if watch is not None:
                watch.check()
            if self._socket in ready:
                chunk = self._socket.recv(65536)
                if not chunk:
                    raise ServerLost("the grading server closed")
                self._lines += chunk
        line, self._lines = self._lines.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            raise ServerLost("the grading server sent something that is not JSON") from None

    def _send(self, request: dict, fds) -> None:
        self._socket.settimeout(SEND_SECONDS)  # a stopped server cannot hang us
        try:
            data = json.dumps(request).encode() + b"\n"
            sent = socket.send_fds(self._socket, [data[:65536]], fds)  # the pipes go with the start
            self._socket.sendall(data[sent:])
        except OSError as exc:  # a stopped server's socket buffer is full, or the server is gone
            self.kill()
            raise ServerLost(f"could not reach the grading server ({type(exc).__name__})") from None
        finally:
            if self._socket is not None:
                self._socket.settimeout(None)

    def close(self) -> None:
        if self._process is not None:
            if self._alive():
                with contextlib.suppress(OSError):
                    self._socket.shutdown(socket.SHUT_RDWR)
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.kill()
            self._process.wait()
            self._process = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def kill(self) -> None:
        """Kill the server and its whole session, whatever state it is in (stopped included)."""
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            self._process.wait()
            self._process = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    @property
    def pid(self):
        return self._process.pid if self._process else None

    # ------------------------------------------------------------------ one submission

    def _scratch(self) -> Path:
        """A new folder (mode 0700, a random name) for one child; the child makes ``work/`` in it."""
        for _ in range(10):  # another submission may be deleting the run's folder as we go
            try:
                os.makedirs(self.root, mode=0o700, exist_ok=True)
                return Path(tempfile.mkdtemp(prefix="nnbook-grade-", dir=self.root))
            except FileNotFoundError:
                continue
        return Path(tempfile.mkdtemp(prefix="nnbook-grade-"))

    def run(self, brief: dict, timeout: float, memory_mb: int = 0, max_processes: int = 0) -> ChildOutcome:
        """Run one submission's brief (see nnbook.grading.child) under the watchdog: wall clock
        ``timeout``, ``memory_mb`` more memory in all its processes together, at most
        ``max_processes`` processes besides the first (0: not watched)."""
        started = time.monotonic()
        if not self._alive():
            self.kill()
            self._start()
        server_start = time.monotonic() - started
        scratch = self._scratch()
        pipes = []
        try:
            token = secrets.token_hex(32)
            pipes = [os.pipe(), os.pipe()]  # results, stderr
            for read_end, _ in pipes:
                os.set_blocking(read_end, False)
            watch = _Watch(self, FrameReader(token.encode()), pipes[0][0], pipes[1][0],
                           time.monotonic() + timeout, memory_mb, max_processes)
            try:
                self._send({"brief": {**brief, "token": token}, "scratch": str(scratch), "timeout": timeout},
                           [write_end for _, write_end in pipes])
            finally:
                for _, write_end in pipes:
                    os.close(write_end)
            outcome = watch.run()
            outcome.server_start = server_start
            return outcome
        finally:
            for read_end, _ in pipes:
                os.close(read_end)
            shutil.rmtree(scratch, ignore_errors=True)


def _read_available(fd: int, take) -> bool:
    """Pass what can be read from the non-blocking ``fd`` now to ``take``; False at end of file."""
    while True:
        try:
            chunk = os.read(fd, 1 << 20)
        except BlockingIOError:
            return True
        if not chunk:
            return False
        take(chunk)


class _Watch:
    """The watchdog for one run: reads the result pipe and the server's replies, and kills."""

    def __init__(self, server: ForkServer, reader: FrameReader, channel: int, stderr: int, deadline: float,
                 memory_mb: int, max_processes: int):
        self.server, self.reader, self.channel, self.deadline = server, reader, channel, deadline
        self.stderr, self.stderr_tail = stderr, b""
        self.memory, self.max_processes = memory_mb * 2**20, max_processes
        self.child = None
        self.known = set()  # every (pid, start) seen below the server, for killing after it is gone
        self.channel_open = True
        self.killed_for = ""
        self.finished_at = None  # when the child had sent "done" and its channel had closed
        self._next_check = 0.0

    def _drain(self) -> None:
        if self.stderr is not None:
            if not _read_available(self.stderr, self._keep_stderr):
                self.stderr = None
        if self.channel_open:
            self.channel_open = _read_available(self.channel, self.reader.feed)

    def _keep_stderr(self, chunk: bytes) -> None:
        self.stderr_tail = (self.stderr_tail + chunk)[-STDERR_TAIL:]  # only its end is kept

    def _processes(self):
        found = procs.descendants([self.server.pid] if self.server.pid else [], [self.child] if self.child else [])
        self.known |= found
        return found

    def check(self) -> None:
        """Read what the child sent; count its processes and memory; kill it past a limit."""
        self._drain()
        now = time.monotonic()
        if self.finished_at is None and not self.channel_open and "done" in self.reader.records:
            self.finished_at = now
        if self.child is None or self.killed_for or now < self._next_check:
            return
        self._next_check = now + WATCH_SECONDS
        found = self._processes()
        if self.max_processes and len(found) > self.max_processes + 1:
            self.killed_for = (f"it ran {len(found)} processes at once, more than the limit of "
                               f"{self.max_processes} besides the notebook's own")
        elif self.memory and self.server.baseline is not None:
            used = procs.anon_memory([self.server.pid] + [pid for pid, _ in found])
            if used is not None and used - self.server.baseline > self.memory:
                self.killed_for = (f"its processes together held more than the {self.memory // 2**20} MB "
                                   f"memory limit")
        if self.killed_for:
            self.kill_submission()

    def kill_submission(self) -> None:
        procs.kill_all(self.known | self._processes(), groups=[self.child] if self.child else [],
                       find=self._processes)

    def _drain_until_closed(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while self.channel_open and time.monotonic() < end:
            select.select([self.channel], [], [], min(0.05, max(0.0, end - time.monotonic())))
            self._drain()

    def run(self) -> ChildOutcome:
        outcome = ChildOutcome()
        hard_deadline = self.deadline + GRACE_SECONDS
        try:
            first = self.server._read_line(hard_deadline, watch=self)
            self.child = int(first["pid"])
            reply = self.server._read_line(hard_deadline, watch=self)
            outcome.returncode, outcome.timed_out = reply["exitcode"], bool(reply["timed_out"])
        except TimeoutError:  # the server did not answer in time: stopped, stuck or swamped
            outcome.returncode, outcome.timed_out = None, self.finished_at is None
            self.kill_submission()
            self.server.kill()
        except (ServerLost, KeyError, TypeError, ValueError):  # the server died or talked nonsense
            outcome.returncode, outcome.timed_out = None, time.monotonic() >= self.deadline
            self.kill_submission()
            self.server.kill()
            # The child may have finished its work before the server died: read what it sent.
        self.kill_submission()  # anything that outlived the child, the server's work or not
        self._drain_until_closed(GRACE_SECONDS)  # at once, unless an escaped process holds the pipe
        if self.killed_for:
            outcome.killed_for, outcome.timed_out = self.killed_for, False
        outcome.records, outcome.rejected = self.reader.records, list(self.reader.rejected)
        outcome.stderr_tail = self.stderr_tail.decode("utf-8", "replace").strip()
        if self.reader.broken:
            outcome.rejected.append("(the rest of the result channel, which was not in the expected form)")
        return outcome


class ServerPool:
    """Fork servers shared by worker threads: one server per thread at a time, reused after."""

    def __init__(self):
        self._idle = queue.SimpleQueue()
        self._all = []
        # One folder for this grading run; each submission's scratch folder is made inside it.
        self.root = tempfile.mkdtemp(prefix="nnbook-grade-run-")

    @contextlib.contextmanager
    def server(self):
        try:
            server = self._idle.get_nowait()
        except queue.Empty:
            server = ForkServer(self.root)
            self._all.append(server)
        try:
            yield server
        finally:
            self._idle.put(server)

    def close(self) -> None:
        for server in self._all:
            server.close()
        shutil.rmtree(self.root, ignore_errors=True)
