"""How the studio shares a small CPU between its live demos and the training runs it starts.

The studio invites training in one tab while drawing in another. On two cores, a training run
and the server that answers the live canvas both want every core, and PyTorch's OpenMP threads
then wait on each other: idle threads that spin hold a core another process needs, and one
operation's threads stall at its barrier until the last of them gets a core back. The studio's
policy, measured with bench/busy_canvas.py (a real training run beside the default
generator's call):

- the runs the studio starts let idle OpenMP threads sleep (OMP_WAIT_POLICY=PASSIVE in their
  environment); the Gradio server's idle threads spin for about a millisecond
  (BRIEF_SPIN) and then sleep, set by `apply_server_thread_policy()` at the top of the
  server's entry point, before torch starts OpenMP (`python -m engine` does the same for every
  command but training: `apply_cli_thread_policy`). The server runs every live stroke on one
  thread (engine/runtime/inference_thread.py): a stroke is a hundred-odd small operations, and
  a worker that slept between them cost 0.1 ms a wake-up. The short spin holds a core only while
  a stroke is computed, which a training run at nice 19 gives up anyway;
- a training run started from the studio (engine.training.launch) runs at nice 19 with as
  many threads as cores: it takes every cycle the demos leave, and yields a core when a demo
  wants it. Linux's SCHED_IDLE yields sooner (any waking task preempts it at once) and
  measured a little better (p50 beside a run 53 ms against 63-78 ms, one run each on a busy
  shared machine), but it makes the run the last of the whole machine wherever sessions are
  not grouped; nice 19 already keeps the canvas well inside 2x of its idle time;
- it stays in the studio's session (in a process group of its own, so Ctrl-C in the studio's
  terminal does not stop it). Linux often splits the CPU evenly between sessions first
  ("autogroup", on in most desktop kernels), whatever the priorities inside them: a run in a
  session of its own would take half the CPU from the demos at any priority, and a run at the
  lowest priority machine-wide would stall behind any unrelated busy process. In the studio's
  session it yields to the demos, and the studio as a whole keeps its share of the machine
  (where sessions are not grouped, it runs mostly on the cycles other processes leave).
A run started from a shell (`python -m engine train`) keeps the normal priority.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

QUIET_OPENMP = {"OMP_WAIT_POLICY": "PASSIVE"}  # idle threads sleep instead of spinning
# libgomp's spins before an idle thread sleeps, in the Gradio server and the commands a person
# waits on: about 1 ms on the development CPU (its default, 300,000, about 10 ms; 0 is PASSIVE)
BRIEF_SPIN = {"GOMP_SPINCOUNT": "30000"}
LONG_COMMANDS = ("train", "loss-study")  # `python -m engine` commands that run for hours beside other work
LOWEST_NICE = 19


@dataclass(frozen=True)
class CpuShare:
    """How a process started in the background shares the CPU with the studio's servers.

    `nice`: its nice level; `idle_class`: Linux's SCHED_IDLE (runs only on cycles no other
    process on the machine wants; ignored elsewhere); `threads`: its OpenMP threads (None: one
    per core); `cpus`: the cores it may run on (None: all); `session`: a session of its own
    (its own scheduling group where Linux groups sessions, given the same nice), else a
    process group of its own in the starter's session."""

    nice: int = LOWEST_NICE
    idle_class: bool = False
    threads: int | None = None
    cpus: tuple[int, ...] | None = None
    session: bool = False

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """`base` (default: this process's environment) with the OpenMP settings of this share
        (`quiet_openmp_env`)."""
        env = quiet_openmp_env(base)
        if self.threads:
            env["OMP_NUM_THREADS"] = str(self.threads)
        return env

    def popen_options(self) -> dict:
        """subprocess.Popen's options for the session or process group of its own (POSIX)."""
        if self.session:
            return {"start_new_session": True}
        if os.name != "posix":
            return {}
        if sys.version_info >= (3, 11):
            return {"process_group": 0}
        return {"preexec_fn": os.setpgrp}  # Python 3.10: one system call, nothing else

    def apply(self, pid: int) -> list[str]:
        """Lower the priority (and pin the cores) of the process `pid` and every thread it has.
        Called right after the process starts: its Python is still importing then, so every
        thread it makes later inherits the setting. Returns what could not be applied (e.g. not
        allowed), for the caller to log; the run goes on either way."""
        failed = [] if self.nice <= 0 else lower_autogroup(pid, self.nice)
        for tid in threads_of(pid):
            if self.idle_class and hasattr(os, "SCHED_IDLE"):
                try:
                    os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
                except OSError as err:
                    failed.append(f"SCHED_IDLE: {err.strerror}")
            if self.nice and hasattr(os, "setpriority"):
                try:
                    os.setpriority(os.PRIO_PROCESS, tid, max(self.nice, os.getpriority(os.PRIO_PROCESS, tid)))
                except OSError as err:
                    failed.append(f"nice {self.nice}: {err.strerror}")
            if self.cpus and hasattr(os, "sched_setaffinity"):
                try:
                    os.sched_setaffinity(tid, self.cpus)
                except OSError as err:
                    failed.append(f"cores {self.cpus}: {err.strerror}")
        return sorted(set(failed))


def quiet_openmp_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) for a process the studio starts: its idle
    OpenMP threads sleep; a wait policy the user set is kept, the server's spin count is not
    passed on."""
    env = dict(os.environ if base is None else base)
    for name, value in BRIEF_SPIN.items():
        if env.get(name) == value:
            del env[name]
    for name, value in QUIET_OPENMP.items():
        env.setdefault(name, value)
    return env


BACKGROUND = CpuShare()  # what the studio's Train and Problems pages start runs with
FOREGROUND = CpuShare(nice=0, session=True)  # as a shell would start it


def threads_of(pid: int) -> list[int]:
    """The thread ids of process `pid` (Linux's /proc; elsewhere just `pid`): priorities and
    affinities are per thread on Linux."""
    try:
        return sorted(int(tid) for tid in os.listdir(f"/proc/{pid}/task"))
    except (OSError, ValueError):
        return [pid]


def autogroup(pid: int | str = "self") -> tuple[str, int] | None:
    """(name, nice) of the scheduling group of the session `pid` is in ('/autogroup-12 nice 0'
    in /proc/PID/autogroup); None where the kernel does not group sessions."""
    try:
        name, _, nice = Path(f"/proc/{pid}/autogroup").read_text().split()
        return name, int(nice)
    except (OSError, ValueError):
        return None


def lower_autogroup(pid: int, nice: int) -> list[str]:
    """Give the scheduling group of `pid`'s session nice `nice`, when it is not this process's
    own group (that would slow this process too). Linux lets a process raise it once per 0.1 s."""
    group = autogroup(pid)
    if group is None or group == autogroup() or group[1] >= nice:
        return []
    for attempt in range(5):
        try:
            Path(f"/proc/{pid}/autogroup").write_text(str(nice))
            return []
        except OSError as err:
            if err.errno != errno.EAGAIN or attempt == 4:
                return [f"the session group's nice {nice}: {err.strerror}"]
            time.sleep(0.11)
    return []


def describe(pid: int) -> str:
    """'session group nice 0, nice 19, SCHED_IDLE, cores 0,1' of process `pid` (what this
    system can tell), for logs and benches."""
    parts = []
    group = autogroup(pid)
    if group:
        parts.append(f"session group nice {group[1]}")
    if hasattr(os, "getpriority"):
        try:
            parts.append(f"nice {os.getpriority(os.PRIO_PROCESS, pid)}")
        except OSError:
            pass
    if hasattr(os, "sched_getscheduler"):
        try:
            policy = os.sched_getscheduler(pid)
            names = {
                getattr(os, n): n for n in ("SCHED_OTHER", "SCHED_BATCH", "SCHED_IDLE") if hasattr(os, n)
            }
            parts.append(names.get(policy, f"policy {policy}"))
        except OSError:
            pass
    if hasattr(os, "sched_getaffinity"):
        try:
            parts.append("cores " + ",".join(map(str, sorted(os.sched_getaffinity(pid)))))
        except OSError:
            pass
    return ", ".join(parts)


def apply_server_thread_policy() -> None:
    """For the Gradio server's entry point, before torch is imported: idle OpenMP threads spin
    for about a millisecond, then sleep, so a training run beside the server gets the cores the
    server does not use (see the module). A wait policy or spin count set by the user is kept."""
    set_wait_unless_chosen(BRIEF_SPIN)


def apply_cli_thread_policy(argv: list[str]) -> None:
    """For `python -m engine`, before torch is imported: a command a person waits on (translate,
    stylize, ...) spins briefly, as the server does (a 256 px Gatys picture took 9.3 s instead of
    11.9 s, two runs each); training sleeps at once, as it shares the machine for hours. A wait
    policy or spin count set by the user is kept."""
    set_wait_unless_chosen(QUIET_OPENMP if argv[:1] and argv[0] in LONG_COMMANDS else BRIEF_SPIN)


def set_wait_unless_chosen(policy: Mapping[str, str]) -> None:
    """Put `policy` in this process's environment, unless the user chose how OpenMP threads wait."""
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ.update(policy)
