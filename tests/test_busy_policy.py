"""How the studio shares the CPU: a run it starts trains below the demos (priority, its session's
scheduling group, sleeping OpenMP threads), and the servers' entry sets their OpenMP policy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.runtime import threads
from engine.runtime.threads import BACKGROUND, FOREGROUND, CpuShare
from engine.store.runs import RunStore
from engine.training.launch import start_training, wait_for_new_run
from support.tiny import TINY_PIX2PIX

linux_only = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads Linux's /proc")


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)  # a clean stop, as the Runs page's Stop asks
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@linux_only
def test_a_run_started_from_the_studio_trains_below_the_demos(aligned_dataset, studio_home, monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setenv("GOMP_SPINCOUNT", threads.BRIEF_SPIN["GOMP_SPINCOUNT"])  # the server's own
    own_group, own_nice = threads.autogroup(), os.getpriority(os.PRIO_PROCESS, 0)
    settings = {"data": str(aligned_dataset), "max_steps": 100000, "batch_size": 2, "sample_size": 2}
    launched = start_training("pix2pix", settings, TINY_PIX2PIX, studio_home)
    try:
        assert environ_of(launched.pid)["OMP_WAIT_POLICY"] == "PASSIVE"
        assert "GOMP_SPINCOUNT" not in environ_of(launched.pid)  # its idle threads do sleep
        assert "OMP_NUM_THREADS" not in environ_of(launched.pid)  # one thread per core
        assert os.getpgid(launched.pid) == launched.pid  # Ctrl-C in the studio's terminal spares it
        assert os.getsid(launched.pid) == os.getsid(0)  # the studio's scheduling group, not one more
        run = wait_for_new_run(RunStore(studio_home), launched.started, 120, "pix2pix", launched.process)
        assert run is not None, launched.log_tail()
        deadline = time.monotonic() + 60
        while len(threads.threads_of(launched.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)  # torch's threads start with its first parallel operation
        tids = threads.threads_of(launched.pid)
        assert len(tids) > 1
        # every thread, torch's too (made after the priority was set), runs at the lowest
        assert all(os.getpriority(os.PRIO_PROCESS, tid) == 19 for tid in tids)
        if hasattr(os, "SCHED_IDLE"):  # not SCHED_IDLE: unrelated work would stall it
            assert all(os.sched_getscheduler(tid) == os.SCHED_OTHER for tid in tids)
        assert "nice 19" in launched.priority
        # this process (the studio's server, here) keeps its own priority and group
        assert threads.autogroup() == own_group and os.getpriority(os.PRIO_PROCESS, 0) == own_nice
    finally:
        stop(launched.process)
    assert launched.process.returncode == 0  # SIGTERM: checkpoint and end
    assert RunStore(studio_home).get(run.id).status == "stopped"


@linux_only
def test_a_low_share_in_a_session_of_its_own_lowers_that_sessions_group():
    """Where Linux splits the CPU between sessions first, a nice level alone would not yield."""
    if threads.autogroup() is None:
        pytest.skip("this kernel does not group sessions (no /proc/self/autogroup)")
    share, own_group = CpuShare(session=True), threads.autogroup()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], **share.popen_options())
    try:
        assert share.apply(child.pid) == []
        assert threads.autogroup(child.pid)[1] == 19
        assert threads.autogroup() == own_group
    finally:
        child.kill()
        child.wait()


@linux_only
def test_a_foreground_share_keeps_the_normal_priority():
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)"], **FOREGROUND.popen_options()
    )
    try:
        assert FOREGROUND.apply(child.pid) == []
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == os.getpriority(os.PRIO_PROCESS, 0)
        assert "SCHED_IDLE" not in threads.describe(child.pid)
    finally:
        child.kill()
        child.wait()


def test_the_openmp_environment_keeps_what_the_user_set():
    env = CpuShare(threads=1).env({"OMP_WAIT_POLICY": "ACTIVE", "PATH": "/bin"})
    assert env == {"OMP_WAIT_POLICY": "ACTIVE", "PATH": "/bin", "OMP_NUM_THREADS": "1"}
    assert BACKGROUND.env({})["OMP_WAIT_POLICY"] == "PASSIVE"


def test_the_server_policy_spins_briefly_unless_the_user_set_a_policy(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    threads.apply_server_thread_policy()
    assert os.environ["GOMP_SPINCOUNT"] == threads.BRIEF_SPIN["GOMP_SPINCOUNT"]
    assert "OMP_WAIT_POLICY" not in os.environ
    monkeypatch.setenv("GOMP_SPINCOUNT", "5")
    threads.apply_server_thread_policy()
    assert os.environ["GOMP_SPINCOUNT"] == "5"
    monkeypatch.delenv("GOMP_SPINCOUNT")
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    threads.apply_server_thread_policy()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE" and "GOMP_SPINCOUNT" not in os.environ


def test_processes_the_studio_starts_do_not_inherit_the_servers_spin():
    server = {"GOMP_SPINCOUNT": threads.BRIEF_SPIN["GOMP_SPINCOUNT"], "PATH": "/bin"}
    assert threads.quiet_openmp_env(server) == {"OMP_WAIT_POLICY": "PASSIVE", "PATH": "/bin"}
    mine = {"GOMP_SPINCOUNT": "123"}  # a user's own setting is passed on
    assert threads.quiet_openmp_env(mine) == {"GOMP_SPINCOUNT": "123", "OMP_WAIT_POLICY": "PASSIVE"}


def test_the_command_line_spins_briefly_for_what_people_wait_on_and_training_sleeps(monkeypatch):
    for argv, expected in (
        (["stylize", "a.jpg", "b.jpg", "c.png"], threads.BRIEF_SPIN),
        (["translate", "--help"], threads.BRIEF_SPIN),
        ([], threads.BRIEF_SPIN),
        (["train", "pix2pix"], threads.QUIET_OPENMP),
        (["loss-study"], threads.QUIET_OPENMP),
    ):
        monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
        monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
        threads.apply_cli_thread_policy(argv)
        assert {
            k: os.environ[k] for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT") if k in os.environ
        } == expected
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # the user's own choice stays
    threads.apply_cli_thread_policy(["train"])
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE" and "GOMP_SPINCOUNT" not in os.environ
