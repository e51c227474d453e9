"""Many writers at once: the chain never forks, and conflicting stream versions have one winner.

Each writer is a separate process (multiprocessing, *spawn*: a fresh interpreter, its own
connections — as separate ``tilsyn`` commands or application servers would be). PostgreSQL is the
real case (``pg_url`` fails under ``CI=true`` without a server); a smaller SQLite variant runs too.
"""

from __future__ import annotations

import multiprocessing
import traceback
from pathlib import Path

import pytest

from tests.conftest import make_policy
from tilsyn.ledger import ConflictError, KeyStore, Ledger, verify_ledger

SPAWN = multiprocessing.get_context("spawn")
PROJECT_ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 900  # seconds for all children together; a hang fails the test instead of blocking it


# -- in the child processes --------------------------------------------------------------------

def _append_own_stream(results, writer: int, url: str, home: str, count: int) -> None:
    """Append ``count`` notes to this writer's own stream, one event per transaction."""
    try:
        with Ledger.open(url, make_policy()) as ledger:
            karen = ledger.signer("Karen", KeyStore(home))
            for i in range(count):
                ledger.record(karen, f"tilbud/W-{writer}", "test.Note/1", {"text": f"writer {writer} note {i}", "n": i})
        results.put((writer, "done"))
    except BaseException:
        results.put((writer, traceback.format_exc()))


def _race_for_version(results, writer: int, url: str, home: str, version: int, barrier) -> None:
    """Sign ``version`` of the shared stream, wait for everyone, then try to append it."""
    try:
        with Ledger.open(url, make_policy()) as ledger:
            karen = ledger.signer("Karen", KeyStore(home))
            signed = karen.sign(ledger.statement(karen, "tilbud/RACE", "test.Note/1",
                                                 {"text": f"writer {writer} claims v{version}"}, stream_version=version))
            barrier.wait(timeout=120)
            try:
                ledger.append(signed)
                results.put((writer, "won"))
            except ConflictError:
                results.put((writer, "conflict"))
    except BaseException:
        results.put((writer, traceback.format_exc()))


# -- in the test process -----------------------------------------------------------------------

def run_writers(target, writers: int, *args) -> dict[int, str]:
    """Start ``writers`` spawned processes running ``target(results, writer, *args)``; return the outcomes."""
    results = SPAWN.Queue()
    procs = []
    for writer in range(writers):
        p = SPAWN.Process(target=target, args=(results, writer, *args))
        p.start()
        procs.append(p)
    outcomes = {}
    try:
        for _ in procs:
            writer, outcome = results.get(timeout=TIMEOUT)
            outcomes[writer] = outcome
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
                p.join()
    errors = {w: o for w, o in outcomes.items() if o not in ("done", "won", "conflict")}
    assert not errors, "a writer failed:\n" + "\n".join(f"writer {w}:\n{o}" for w, o in errors.items())
    assert [p.exitcode for p in procs] == [0] * len(procs)
    return outcomes


@pytest.fixture
def shared_ledger(monkeypatch, tmp_path):
    """A ledger factory: authority + Karen (tilsynskonsulent) at ``url``; children can import this module."""
    # Spawned children unpickle the worker functions by module name ("tests.test_concurrency"),
    # so they need the project root on sys.path (a child inherits the parent's sys.path).
    monkeypatch.syspath_prepend(str(PROJECT_ROOT))
    opened = []

    def make(url: str) -> tuple[Ledger, str]:
        home = tmp_path / "home"
        keystore = KeyStore(home)
        ledger, authority = Ledger.init(url, "Socialtilsyn Øst", keystore, policy=make_policy())
        ledger.register_key(authority, "Karen", ["tilsynskonsulent"], keystore)
        opened.append(ledger)
        return ledger, str(home)

    yield make
    for ledger in opened:
        ledger.close()


def assert_one_gap_free_chain(ledger: Ledger) -> list:
    events = list(ledger.read())
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    for before, after in zip(events, events[1:]):
        assert after.prev == before.leaf_hash.hex(), f"seq {after.seq} does not attach to seq {before.seq}"
        assert after.recorded_at >= before.recorded_at
    report = verify_ledger(ledger.store, ledger.policy)
    assert report.ok, report.problems[:5]
    assert report.events == len(events) and report.head_hash == events[-1].leaf_hash.hex()
    return events


def check_many_writers(shared_ledger, url: str, writers: int, per_writer: int) -> None:
    ledger, home = shared_ledger(url)
    setup = ledger.count()
    run_writers(_append_own_stream, writers, url, home, per_writer)
    assert ledger.count() == writers * per_writer + setup
    events = assert_one_gap_free_chain(ledger)
    for w in range(writers):
        mine = [e for e in events if e.stream == f"tilbud/W-{w}"]
        assert [e.statement.stream_version for e in mine] == list(range(1, per_writer + 1))
        assert [e.payload["n"] for e in mine] == list(range(per_writer))


def check_racing_writers(shared_ledger, url: str, writers: int) -> None:
    ledger, home = shared_ledger(url)
    for version in (1, 2):
        before = ledger.count()
        outcomes = run_writers(_race_for_version, writers, url, home, version, SPAWN.Barrier(writers))
        assert sorted(outcomes.values()) == ["conflict"] * (writers - 1) + ["won"]
        assert ledger.count() == before + 1
        assert ledger.stream_version("tilbud/RACE") == version
    winners = [e.payload["text"] for e in ledger.read(stream="tilbud/RACE")]
    assert len(winners) == 2
    assert_one_gap_free_chain(ledger)


# -- PostgreSQL ----------------------------------------------------------------------------------

def test_eight_writers_on_postgresql_make_one_gap_free_chain(shared_ledger, pg_url):
    check_many_writers(shared_ledger, pg_url, writers=8, per_writer=500)


def test_eight_writers_racing_for_one_stream_version_on_postgresql(shared_ledger, pg_url):
    check_racing_writers(shared_ledger, pg_url, writers=8)


# -- SQLite (smaller) ----------------------------------------------------------------------------

def test_four_writers_on_sqlite_make_one_gap_free_chain(shared_ledger, tmp_path):
    check_many_writers(shared_ledger, f"sqlite:///{tmp_path / 'tilsyn.db'}", writers=4, per_writer=100)


def test_writers_racing_for_one_stream_version_on_sqlite(shared_ledger, tmp_path):
    check_racing_writers(shared_ledger, f"sqlite:///{tmp_path / 'tilsyn.db'}", writers=4)
