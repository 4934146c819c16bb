"""Finding and killing a submission's processes, and measuring their memory, from outside.

Used by the grader's watchdog (:mod:`nnbook.grading.sandbox`) and by the fork server. On Linux it
reads ``/proc``; elsewhere the functions fall back to what POSIX offers (process groups) and the
memory and process-count watch is off.

A process is identified by (pid, start time), so a pid that the system has since reused for an
unrelated process is never killed by mistake.
"""

import os
import signal
import time
from pathlib import Path
from typing import Dict, Iterable, Optional, Set, Tuple

__all__ = ["Proc", "snapshot", "descendants", "kill_all", "anon_memory", "set_child_subreaper"]

PROC = Path("/proc")
Proc = Tuple[int, int]  # (pid, start time in clock ticks since boot)


def _stat(pid: int):
    """(ppid, session id, start time, state) of ``pid``, or None when it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces and ')'
    return int(fields[1]), int(fields[3]), int(fields[19]), fields[0]


def snapshot() -> Dict[int, tuple]:
    """{pid: (ppid, sid, start, state)} for every process visible in /proc (empty where there is none)."""
    table = {}
    try:
        names = os.listdir(PROC)
    except OSError:
        return table
    for name in names:
        if name.isdigit():
            stat = _stat(int(name))
            if stat:
                table[int(name)] = stat
    return table


def descendants(roots: Iterable[int], sessions: Iterable[int] = (), table=None) -> Set[Proc]:
    """The live processes below ``roots`` (not the roots), plus every live process in ``sessions``
    (zombies have exited already: they hold no memory and cannot be killed)."""
    table = snapshot() if table is None else table
    children: Dict[int, list] = {}
    for pid, (ppid, *_) in table.items():
        children.setdefault(ppid, []).append(pid)
    sessions = set(sessions)
    found = {pid for pid, (_, sid, *_) in table.items() if sid in sessions}
    todo = list(roots) + list(found)
    while todo:
        for pid in children.get(todo.pop(), ()):
            if pid not in found:
                found.add(pid)
                todo.append(pid)
    found -= set(roots)
    return {(pid, table[pid][2]) for pid in found if pid in table and table[pid][3] not in ("Z", "X")}


def _signal(procs: Iterable[Proc], signum: int) -> None:
    for pid, start in procs:
        stat = _stat(pid)
        if stat is None or stat[2] != start:  # gone, or the pid now names another process
            continue
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def kill_all(procs: Iterable[Proc], groups: Iterable[int] = (), find=None, rounds: int = 20) -> None:
    """SIGKILL ``procs`` and process ``groups``; ``find()`` returns more to kill until none are left.

    Processes are stopped first and killed after, so a fork bomb cannot outrun the loop.
    """
    procs = set(procs)
    for _ in range(rounds):
        for group in groups:
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError, OSError):
                pass
        _signal(procs, signal.SIGSTOP)
        _signal(procs, signal.SIGKILL)
        if find is None:
            return
        procs = {p for p in find() if _stat(p[0]) is not None and _stat(p[0])[2] == p[1] and not _zombie(p[0])}
        if not procs:
            return
        time.sleep(0.01)


def _zombie(pid: int) -> bool:
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def anon_memory(pids: Iterable[int]) -> Optional[int]:
    """Bytes of anonymous memory that ``pids`` hold together, shared pages split between the
    processes that share them (``Pss_Anon``, Linux 5.x and later); None where it cannot be read."""
    total, read_any = 0, False
    for pid in pids:
        try:
            text = (PROC / str(pid) / "smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Pss_Anon:"):
                total += int(line.split()[1]) * 1024
                read_any = True
                break
    return total if read_any else None


def set_child_subreaper() -> bool:
    """Make this process adopt its orphaned descendants (Linux), so none escapes by double fork."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False
