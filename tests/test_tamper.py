"""Tampering with a stored ledger is found, and blamed on the right seq.

One template ledger (SQLite, ~40 events over a few streams) is built per module. Each hypothesis
example copies it with SQLite's backup API, lets an "attacker" change the file with plain sqlite3 —
no kernel code, just what anyone with write access to the file could do — and runs
:func:`verify_ledger`. The expected seq is computed independently of the verifier: the lowest seq
whose row differs from the untouched copy.

What the chain alone cannot see: deleting (truncating) the very last row, or the last few rows. What
remains is a shorter, perfectly consistent chain; only a signed checkpoint of the head, kept outside
the database, can show that records went missing. So that case is deliberately not tested here.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import make_policy
from tilsyn.ledger import KeyStore, Ledger, Report, verify_ledger
from tilsyn.ledger.envelope import decode_record
from tilsyn.ledger.store import Store

EVENTS = 40
STREAMS = ("tilbud/T-1001", "tilbud/T-1002", "tilbud/T-1003")
INDEXED = ("stream", "type", "actor")
COLUMNS = ("seq", "stream", "stream_version", "type", "actor", "occurred_at", "recorded_at", "leaf_hash", "record")

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- the template ledger -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory) -> "Template":
    workdir = tmp_path_factory.mktemp("tamper")
    path = workdir / "template.db"
    keystore = KeyStore(workdir / "home")
    ledger, authority = Ledger.init(str(path), "Socialtilsyn Øst", keystore, policy=make_policy())
    ledger.register_key(authority, "Karen", ["tilsynskonsulent"], keystore)
    ledger.register_key(authority, "Lone", ["tilsynsleder"], keystore)
    karen, lone = ledger.signer("Karen", keystore), ledger.signer("Lone", keystore)
    n = ledger.count()
    i = 0
    while n < EVENTS:
        stream = STREAMS[i % len(STREAMS)]
        if i % 7 == 6:
            ledger.record(lone, stream, "test.Decision/1", {"text": f"afgørelse {i}", "n": i})
        else:
            ledger.record(karen, stream, "test.Note/1", {"text": f"Beboerne fortæller {i} — ø å æ", "n": i})
        i, n = i + 1, n + 1
    ledger.close()  # the last connection closes: SQLite checkpoints the WAL into the .db file
    return Template(path, workdir)


class Template:
    def __init__(self, path: Path, workdir: Path):
        self.path, self.workdir = path, workdir
        self._names = itertools.count()
        self.rows = read_rows(path)
        self.last_seq = max(self.rows)

    def copy(self) -> Path:
        dest = self.workdir / f"case-{next(self._names)}.db"
        with contextlib.closing(sqlite3.connect(self.path)) as src, contextlib.closing(sqlite3.connect(dest)) as dst:
            src.backup(dst)
        return dest


def read_rows(path: Path) -> dict[int, tuple]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {r[0]: tuple(r) for r in conn.execute(f"SELECT {', '.join(COLUMNS)} FROM events ORDER BY seq")}


def lowest_affected_seq(before: dict[int, tuple], after: dict[int, tuple]) -> int:
    """The lowest seq whose row was changed, removed or added: where verification must point."""
    changed = [seq for seq in before.keys() | after.keys() if before.get(seq) != after.get(seq)]
    assert changed, "the attack changed nothing"
    return min(changed)


def attack(template: Template, tamper) -> tuple[Report, int]:
    """Copy the template, run ``tamper(conn)`` on the copy with plain sqlite3, verify the copy."""
    path = template.copy()
    try:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
            conn.execute("BEGIN")
            tamper(conn)
            conn.execute("COMMIT")
        expected = lowest_affected_seq(template.rows, read_rows(path))
        store = Store.connect(str(path))
        try:
            report = verify_ledger(store, make_policy())
        finally:
            store.engine.dispose()
        return report, expected
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def assert_blamed(report: Report, seq: int) -> None:
    assert not report.ok, "the tampering went unnoticed"
    assert report.first.seq == seq, f"blamed seq {report.first.seq}, expected {seq}: {report.problems}"


# -- what the attacker does --------------------------------------------------------------------

def leaf(record: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + record).digest()


def flip_record_byte(seq: int, index: int, mask: int, rehash: bool):
    def tamper(conn):
        (record,) = conn.execute("SELECT record FROM events WHERE seq = ?", (seq,)).fetchone()
        data = bytearray(record)
        data[index % len(data)] ^= mask
        if rehash:  # the careful attacker also fixes the stored leaf hash of the row
            conn.execute("UPDATE events SET record = ?, leaf_hash = ? WHERE seq = ?", (bytes(data), leaf(bytes(data)), seq))
        else:
            conn.execute("UPDATE events SET record = ? WHERE seq = ?", (bytes(data), seq))
    return tamper


def flip_leaf_hash_byte(seq: int, index: int, mask: int):
    def tamper(conn):
        (h,) = conn.execute("SELECT leaf_hash FROM events WHERE seq = ?", (seq,)).fetchone()
        data = bytearray(h)
        data[index % len(data)] ^= mask
        conn.execute("UPDATE events SET leaf_hash = ? WHERE seq = ?", (bytes(data), seq))
    return tamper


def without_unique_stream_versions(conn) -> None:
    """Rebuild the table without UNIQUE (stream, stream_version), as an attacker copying rows would."""
    conn.execute("""CREATE TABLE events_free (
        seq BIGINT NOT NULL PRIMARY KEY, stream VARCHAR(255) NOT NULL, stream_version INTEGER NOT NULL,
        type VARCHAR(255) NOT NULL, actor VARCHAR(255) NOT NULL, occurred_at VARCHAR(32) NOT NULL,
        recorded_at VARCHAR(32) NOT NULL, leaf_hash BLOB NOT NULL, record BLOB NOT NULL)""")
    conn.execute("INSERT INTO events_free SELECT * FROM events")
    conn.execute("DROP TABLE events")
    conn.execute("ALTER TABLE events_free RENAME TO events")


def delete_row(seq: int):
    def tamper(conn):
        conn.execute("DELETE FROM events WHERE seq = ?", (seq,))
    return tamper


def swap_rows(a: int, b: int):
    """Exchange everything but the seq primary keys of two rows."""
    def tamper(conn):
        without_unique_stream_versions(conn)
        cols = COLUMNS[1:]
        ra = conn.execute(f"SELECT {', '.join(cols)} FROM events WHERE seq = ?", (a,)).fetchone()
        rb = conn.execute(f"SELECT {', '.join(cols)} FROM events WHERE seq = ?", (b,)).fetchone()
        assignment = ", ".join(f"{c} = ?" for c in cols)
        conn.execute(f"UPDATE events SET {assignment} WHERE seq = ?", (*rb, a))
        conn.execute(f"UPDATE events SET {assignment} WHERE seq = ?", (*ra, b))
    return tamper


def insert_copy(source: int, at: int):
    """Insert a byte-exact copy of row ``source`` as a new row at ``at``, renumbering the rows after it."""
    def tamper(conn):
        without_unique_stream_versions(conn)
        conn.execute("UPDATE events SET seq = -(seq + 1) WHERE seq >= ?", (at,))
        conn.execute("UPDATE events SET seq = -seq WHERE seq < 0")
        cols = ", ".join(COLUMNS[1:])
        conn.execute(f"INSERT INTO events (seq, {cols}) SELECT ?, {cols} FROM events WHERE seq = ?",
                     (at, source if source < at else source + 1))
    return tamper


def change_indexed_column(seq: int, column: str):
    assert column in INDEXED

    def tamper(conn):
        conn.execute(f"UPDATE events SET {column} = {column} || '-x' WHERE seq = ?", (seq,))
    return tamper


# -- strategies --------------------------------------------------------------------------------

seqs = st.integers(min_value=1, max_value=EVENTS)
masks = st.integers(min_value=1, max_value=255)


# -- properties --------------------------------------------------------------------------------

def test_template_has_the_intended_shape(template):
    assert template.last_seq == EVENTS and sorted(template.rows) == list(range(1, EVENTS + 1))
    assert {r[1] for r in template.rows.values()} >= set(STREAMS)


def test_an_untouched_copy_of_the_template_verifies(template):
    path = template.copy()
    store = Store.connect(str(path))
    try:
        report = verify_ledger(store, make_policy())
    finally:
        store.engine.dispose()
    assert report.ok, report.problems
    assert report.events == EVENTS and report.head_hash == template.rows[EVENTS][7].hex()


notes = st.lists(
    st.tuples(st.sampled_from(STREAMS),
              st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
              st.integers(min_value=-(2**53), max_value=2**53),
              st.booleans()),
    min_size=1, max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notes=notes)
def test_an_untouched_ledger_always_verifies(tmp_path_factory, notes):
    """Whatever was recorded — any text, any stream, one by one or in batches — verifies clean."""
    workdir = tmp_path_factory.mktemp("untouched")
    keystore = KeyStore(workdir / "home")
    ledger, authority = Ledger.init(str(workdir / "l.db"), "Socialtilsyn Øst", keystore, policy=make_policy())
    try:
        ledger.register_key(authority, "Karen", ["tilsynskonsulent"], keystore)
        karen = ledger.signer("Karen", keystore)
        batch, versions = [], {}
        for stream, text, n, flush in notes:
            versions[stream] = versions.get(stream, ledger.stream_version(stream)) + 1
            batch.append(ledger.statement(karen, stream, "test.Note/1", {"text": text, "n": n},
                                          stream_version=versions[stream]))
            if flush:
                ledger.append(karen.sign_many(batch))
                batch, versions = [], {}
        ledger.append(karen.sign_many(batch))
        report = verify_ledger(ledger.store, ledger.policy)
        assert report.ok, report.problems
        assert report.events == 3 + len(notes) == ledger.count()  # genesis, rules in force, Karen
        assert report.head_hash == ledger.head().leaf_hash.hex()
    finally:
        ledger.close()


@SETTINGS
@given(seq=seqs, index=st.integers(min_value=0, max_value=10_000), mask=masks, rehash=st.booleans())
@example(seq=EVENTS, index=30, mask=1, rehash=True)  # recorded_at of the last record
@example(seq=1, index=9, mask=1, rehash=True)  # the seq digit of the genesis record
def test_a_flipped_byte_in_a_record_is_blamed_on_its_row(template, seq, index, mask, rehash):
    report, expected = attack(template, flip_record_byte(seq, index, mask, rehash))
    assert expected == seq
    assert_blamed(report, seq)


@pytest.mark.parametrize("seq", [1, EVENTS // 2, EVENTS - 1, EVENTS])
def test_a_record_rewritten_with_the_same_content_is_blamed_on_its_row(template, seq):
    """Base64 of a 64-byte signature ends in a character whose low 4 bits carry no data, so another
    character there decodes to the same signature: the record says the same, its bytes (and leaf hash)
    differ. On the last row nothing links to it; only the canonical-encoding check can see it."""
    def tamper(conn):
        (record,) = conn.execute("SELECT record FROM events WHERE seq = ?", (seq,)).fetchone()
        end = record.rindex(b'=="}')  # the signature is the last field; 64 bytes give two '=' of padding
        alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        value = alphabet.index(record[end - 1:end])
        twin = alphabet[value ^ 0b0001:(value ^ 0b0001) + 1]  # differs only in a bit that carries no data
        forged = record[:end - 1] + twin + record[end:]
        assert decode_record(forged) == decode_record(record) and forged != record
        conn.execute("UPDATE events SET record = ?, leaf_hash = ? WHERE seq = ?", (forged, leaf(forged), seq))

    report, expected = attack(template, tamper)
    assert expected == seq
    assert_blamed(report, seq)


@SETTINGS
@given(seq=seqs, index=st.integers(min_value=0, max_value=31), mask=masks)
def test_a_flipped_byte_in_a_stored_leaf_hash_is_blamed_on_its_row(template, seq, index, mask):
    report, expected = attack(template, flip_leaf_hash_byte(seq, index, mask))
    assert_blamed(report, expected)


@SETTINGS
@given(seq=st.integers(min_value=1, max_value=EVENTS - 1))
def test_a_deleted_row_is_found(template, seq):
    # Deleting the last row is the truncation the chain cannot see (see the module docstring).
    report, expected = attack(template, delete_row(seq))
    assert expected == seq
    assert_blamed(report, seq)


@SETTINGS
@given(pair=st.lists(seqs, min_size=2, max_size=2, unique=True).map(sorted))
def test_two_swapped_rows_are_found_at_the_first(template, pair):
    a, b = pair
    report, expected = attack(template, swap_rows(a, b))
    assert expected == a
    assert_blamed(report, a)


@SETTINGS
@given(source=seqs, at=st.integers(min_value=1, max_value=EVENTS + 1))
def test_an_inserted_copy_of_a_record_is_found(template, source, at):
    report, expected = attack(template, insert_copy(source, at))
    # Copying row k in front of itself makes the row at k genuine and the duplicate appear at k + 1.
    assert expected == (at + 1 if source == at else at)
    assert_blamed(report, expected)


@SETTINGS
@given(seq=seqs, column=st.sampled_from(INDEXED))
def test_a_changed_indexed_column_is_found(template, seq, column):
    report, expected = attack(template, change_indexed_column(seq, column))
    assert expected == seq
    assert_blamed(report, seq)
