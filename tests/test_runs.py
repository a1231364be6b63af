import sqlite3
import subprocess
import sys

import pytest

from engine.errors import UserError
from engine.store.runs import RunStore, default_home


def test_store_lives_in_studio_home(studio_home, monkeypatch):
    assert default_home() == studio_home
    monkeypatch.delenv("STUDIO_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", "/tmp/xdg")
    assert str(default_home()) == "/tmp/xdg/image-studio"
    store = RunStore(studio_home / "other")
    assert store.db_path == studio_home / "other" / "studio.db" and store.db_path.exists()


def test_metrics_read_since_a_step_and_status_changes():
    store = RunStore()
    run = store.create_run("pix2pix", {"settings": {}}, "demo", max_steps=10)
    store.claim(run.id)
    store.log_metric_rows(run.id, [(1, "G_L1", 0.5), (2, "G_L1", 0.4), (3, "G_L1", 0.3)])
    assert store.metrics(run.id, since_step=1) == [(2, "G_L1", 0.4), (3, "G_L1", 0.3)]
    assert store.get(run.id).step == 3 and store.get(run.id).status == "running"
    assert (run.folder / "config.json").is_file()
    store.set_status(run.id, "finished")
    assert store.get(run.id).status == "finished"
    assert [k for _, k, _ in store.events(run.id)][-1] == "finished"
    with pytest.raises(ValueError):
        store.set_status(run.id, "bogus")
    with pytest.raises(UserError, match="no run"):
        store.get("nope")


def test_a_run_whose_process_died_shows_as_failed():
    store = RunStore()
    run = store.create_run("pix2pix", {}, "doomed")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from engine.store.runs import RunStore; import sys;RunStore(sys.argv[1]).claim({run.id!r})",
            str(store.home),
        ]
    )
    child.wait()
    assert store.get(run.id).status == "failed"
    assert "ended without finishing" in store.get(run.id).message
    assert store.list()[0].status == "failed"


def test_readers_do_not_block_the_writer():
    store = RunStore()
    run = store.create_run("pix2pix", {})
    reader = sqlite3.connect(store.db_path, timeout=0.5)
    assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM metrics").fetchone()  # holds a read snapshot
    store.log_metric_rows(run.id, [(1, "D", 0.7)])  # would wait for the reader without WAL
    assert reader.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == 0  # its snapshot
    reader.execute("COMMIT")
    assert reader.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == 1


def test_stop_request_flag_and_eval_results():
    store = RunStore()
    run = store.create_run("pix2pix", {})
    assert not store.stop_requested(run.id)
    store.request_stop(run.id)
    assert store.stop_requested(run.id)
    store.log_eval("default", "/data/shoes", "val", {"L1": 0.1, "FID": 50.0})
    assert {(r[3], r[4]) for r in store.evals("default")} == {("L1", 0.1), ("FID", 50.0)}


def test_runs_made_in_one_second_never_collide(studio_home, monkeypatch):
    """The id's random tail repeats sometimes; a second run must still be made, not refused."""
    import secrets

    from engine.store.runs import RunStore

    tails = iter(["beef", "beef", "cafe"])
    monkeypatch.setattr(secrets, "token_hex", lambda n: next(tails))
    monkeypatch.setattr("time.strftime", lambda fmt, *a: "20261206-120000")
    store = RunStore()
    first, second = store.create_run("pix2pix", {}), store.create_run("pix2pix", {})
    assert (first.id, second.id) == ("pix2pix-20261206-120000-beef", "pix2pix-20261206-120000-cafe")


def test_a_run_id_that_keeps_repeating_is_refused_not_shared(studio_home, monkeypatch):
    import secrets

    import pytest

    from engine.errors import UserError
    from engine.store.runs import RunStore

    monkeypatch.setattr(secrets, "token_hex", lambda n: "beef")
    monkeypatch.setattr("time.strftime", lambda fmt, *a: "20261206-120000")
    store = RunStore()
    first = store.create_run("pix2pix", {}, name="first")
    with pytest.raises(UserError, match="could not make a new run id"):
        store.create_run("pix2pix", {}, name="second")
    assert [r.name for r in store.list()] == ["first"] and first.id == "pix2pix-20261206-120000-beef"
