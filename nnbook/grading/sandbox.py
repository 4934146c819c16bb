"""The grader's side of running one submission: a fresh child per submission, a hard time limit,
and only authenticated records read back.

* Children come from fork servers (:mod:`nnbook.grading.forkserver`): one per worker, each started
  once, so a submission starts in milliseconds instead of re-importing torch for seconds.
* Each run gets a fresh scratch folder and a fresh random token. The server kills the child's
  process group, the child and anything it started, when its time is up or when it is done.
* The child's stdout is discarded; its stderr is kept only as a diagnostic when it dies early.
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
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

import nnbook
from nnbook.grading.child import record_tag

__all__ = ["ChildOutcome", "ForkServer", "ServerPool", "read_records", "memory_limit_supported"]

MAX_RECORD_BYTES = 256 * 2**20
STDERR_TAIL = 1500


def memory_limit_supported() -> bool:
    """The memory limit (RLIMIT_DATA) is enforced on Linux only."""
    return sys.platform.startswith("linux")


@dataclass
class ChildOutcome:
    records: dict = field(default_factory=dict)  # name -> payload, verified records only
    returncode: int = 0
    timed_out: bool = False
    stderr_tail: str = ""
    rejected: list = field(default_factory=list)  # names of records that failed verification


class ForkServer:
    """The grader's handle on one fork server process, started on first use."""

    def __init__(self):
        if not hasattr(os, "fork"):
            raise RuntimeError("nnbook-grade needs fork(): run it on Linux or macOS (on Windows, in WSL)")
        self._process = None

    def _start(self) -> subprocess.Popen:
        env = dict(os.environ)
        # The server imports the same nnbook as the grader, installed or not.
        package_root = str(Path(nnbook.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        env.pop("PYTHONSTARTUP", None)
        return subprocess.Popen([sys.executable, "-m", "nnbook.grading.forkserver"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, env=env, cwd=tempfile.gettempdir())

    def _ask(self, request: dict) -> dict:
        if self._process is None or self._process.poll() is not None:
            self._process = self._start()
        self._process.stdin.write(json.dumps(request).encode() + b"\n")
        self._process.stdin.flush()
        reply = self._process.stdout.readline()
        if not reply:  # the server died (killed from outside); the next request starts a new one
            self.close()
            return {"exitcode": None, "timed_out": False}
        return json.loads(reply)

    def run(self, brief: dict, timeout: float) -> ChildOutcome:
        """Run one submission's brief (see nnbook.grading.child) with a hard wall-clock ``timeout``."""
        scratch = Path(tempfile.mkdtemp(prefix="nnbook-grade-"))
        try:
            for name in ("results", "work"):
                (scratch / name).mkdir()
            token = secrets.token_hex(32)
            reply = self._ask({"brief": brief, "token": token, "scratch": str(scratch), "timeout": timeout})
            records, rejected = read_records(scratch / "results", token.encode())
            return ChildOutcome(records, reply["exitcode"], reply["timed_out"], _tail(scratch / "stderr.txt"),
                                rejected)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def close(self) -> None:
        if self._process is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()  # the server's loop ends
            self._process.wait()
            self._process.stdout.close()
            self._process = None


class ServerPool:
    """Fork servers shared by worker threads: one server per thread at a time, reused after."""

    def __init__(self):
        self._idle = queue.SimpleQueue()
        self._all = []

    @contextlib.contextmanager
    def server(self):
        try:
            server = self._idle.get_nowait()
        except queue.Empty:
            server = ForkServer()
            self._all.append(server)
        try:
            yield server
        finally:
            self._idle.put(server)

    def close(self) -> None:
        for server in self._all:
            server.close()


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, handle.seek(0, io.SEEK_END) - STDERR_TAIL))
            return handle.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""


def read_records(folder: Path, token: bytes):
    """({name: payload}, [rejected names]) for the ``*.rec`` files in ``folder``."""
    records, rejected = {}, []
    for path in sorted(folder.glob("*.rec")):
        name = path.stem
        try:
            if path.stat().st_size > MAX_RECORD_BYTES:
                raise ValueError("too large")
            tag, _, data = path.read_bytes().partition(b"\n")
            if not secrets.compare_digest(tag, record_tag(token, name, data)):
                raise ValueError("bad signature")
            records[name] = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
        except Exception:  # unreadable, forged or not loadable safely: never used
            rejected.append(name)
    return records, rejected
