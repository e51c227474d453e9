"""Group commit on PostgreSQL (ledger/groupcommit.py): writers appending at once are sealed together.

Through the public API only: several writers (each its own Ledger and connection) append at the same
time; every caller gets back exactly its own events, nothing forks and nothing is missing, and
whatever a request row in the queue says is checked like any statement — an insider's forged request
is refused on its own while the honest writers' events land.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import msgspec
import pytest

from tilsyn.ledger import AuthorizationError, ConflictError, Ledger, verify_ledger
from tilsyn.ledger.store import Store

from tests.conftest import make_policy


@contextmanager
def _store(url):
    """The database as anyone with access sees it (no ledger object, nothing verified)."""
    store = Store.connect(url)
    try:
        yield store
    finally:
        store.dispose()


def _writers(url, keystore, names):
    ledger, authority = Ledger.init(url, "Socialtilsyn Øst", keystore, policy=make_policy())
    for name in names:
        ledger.register_key(authority, name, ["tilsynskonsulent"], keystore)
    ledger.close()


def test_writers_at_once_each_get_their_own_events_and_the_chain_holds(pg_url, keystore):
    names = [f"Skriver {i}" for i in range(6)]
    _writers(pg_url, keystore, names)
    got: dict[str, list] = {n: [] for n in names}
    failures: list[BaseException] = []
    start = threading.Barrier(len(names))

    def write(name):
        try:
            with Ledger.open(pg_url, make_policy(), group_commit=True) as ledger:
                signer = ledger.signer(name, keystore)
                start.wait()
                for i in range(15):
                    got[name].append(ledger.record(signer, f"tilbud/{name.split()[1]}", "test.Note/1",
                                                   {"text": f"{name} nr. {i}", "n": i}))
        except BaseException as e:  # noqa: BLE001 - reported by the test below
            failures.append(e)

    threads = [threading.Thread(target=write, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    seqs = [e.seq for events in got.values() for e in events]
    assert len(seqs) == len(set(seqs)) == 6 * 15
    for name, events in got.items():
        assert [e.payload["n"] for e in events] == list(range(15))
        assert all(e.actor == name and e.stream == f"tilbud/{name.split()[1]}" for e in events)
    with _store(pg_url) as store:
        report = verify_ledger(store, make_policy())
    assert report.ok, report.problems[:3]
    assert report.events == 2 + len(names) + 6 * 15  # genesis, rules, keys, notes: no gap, no fork


def _queue_request(pg_url, items: list[tuple[bytes, bytes]]) -> None:
    """What a database-only insider can do: put a request row of their own into the queue."""
    with _store(pg_url) as store, store.unlocked() as conn:
        conn.exec_driver_sql("INSERT INTO append_queue (batch) VALUES (%s)", (msgspec.msgpack.encode(items),))


def test_a_forged_request_in_the_queue_is_refused_and_the_writer_still_lands(pg_url, keystore):
    _writers(pg_url, keystore, ["Karen"])
    with Ledger.open(pg_url, make_policy(), group_commit=True) as ledger:
        karen = ledger.signer("Karen", keystore)
        ledger.record(karen, "tilbud/T-1", "test.Note/1", {"text": "nul"})  # (the first append goes directly)
        first = ledger.record(karen, "tilbud/T-1", "test.Note/1", {"text": "første"})  # through the queue
        # Karen's real statement, re-used with a signature that is not hers, in the name of the queue.
        stmt = ledger.statement(karen, "tilbud/T-2", "test.Note/1", {"text": "forfalsket"})
        signed = karen.sign(stmt)
        _queue_request(pg_url, [(signed.data, bytes(64))])
        second = ledger.record(karen, "tilbud/T-1", "test.Note/1", {"text": "anden"})
        assert second.seq == first.seq + 1 and second.payload["text"] == "anden"  # the forgery took no seq
        assert [e.payload["text"] for e in ledger.read(stream="tilbud/T-2")] == []
    with _store(pg_url) as store:
        with store.reading() as conn:
            refused = conn.exec_driver_sql("SELECT error FROM append_queue WHERE status = 'refused'").scalars().all()
        assert len(refused) == 1 and "does not verify" in refused[0]
        assert verify_ledger(store, make_policy()).ok


def test_a_refused_request_raises_for_its_writer_only(pg_url, keystore):
    _writers(pg_url, keystore, ["Karen"])
    with Ledger.open(pg_url, make_policy(), group_commit=True) as ledger:
        karen = ledger.signer("Karen", keystore)
        ledger.record(karen, "tilbud/T-1", "test.Note/1", {"text": "første"})
        stale = ledger.statement(karen, "tilbud/T-1", "test.Note/1", {"text": "samme version"}, stream_version=1)
        with pytest.raises(ConflictError):
            ledger.append(karen.sign(stale))
        forged = ledger.statement(karen, "tilbud/T-1", "test.Note/1", {"text": "x"})
        bad = karen.sign(forged)
        with pytest.raises(AuthorizationError, match="does not verify"):
            ledger.append(type(bad)(bad.statement, bad.data, bytes(64)))
        assert ledger.record(karen, "tilbud/T-1", "test.Note/1", {"text": "anden"}).statement.stream_version == 2
        with ledger.store.reading() as conn:  # they went through the queue (and left nothing pending)
            assert conn.exec_driver_sql("SELECT count(*) FROM append_queue WHERE status IS NULL").scalar() == 0
