"""Group commit on PostgreSQL: concurrent writers' signed statements appended in one transaction.

Writers are serialised by one advisory lock, so each append waits for the one before it to commit —
and a commit waits for the server's WAL flush. With many processes appending one event at a time
the ledger would run at the disk's flush rate. Signing needs no lock, so the statements can travel
to whoever holds it: each writer puts its signed statements into ``append_queue`` (a commit that
waits for no flush: the row is a request, not a record), then takes the lock. The first to get it
leads: it seals every request queued by then — checking each exactly as an append does (canonical
bytes, schema, stream versions, key and role at the position, signature) — in one transaction, one
flush. A request that fails its checks is refused on its own, with the reason, and the others still
land. Whoever finds its request done when it gets the lock was led: the lock is released only after
the leader's commit is durable, so every caller returns only once its events are.

Nothing in the queue is trusted: a request row is only a proposal, checked like any statement from
outside. The queue is used for plain appends of events that change no key and no rules, and carry
no new data-subject key; everything else appends directly. The leader adds the group's events to its
verified state; a led writer checks that the records at its seqs hold exactly its statements and
signatures, and verifies the others' events right after, outside the lock (as after any other writer).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Sequence

import msgspec

from . import identity
from .errors import AuthorizationError, ConflictError, DamagedError, LedgerError, ValidationError
from .heads import STREAM_HEADS
from .rules import RULES_IN_FORCE
from .signing import SignedStatement

if TYPE_CHECKING:
    from .ledger import Event, Ledger
    from .sigcheck import EarlyChecks

QUEUE_DDL = ("CREATE TABLE IF NOT EXISTS append_queue (id BIGSERIAL PRIMARY KEY, batch BYTEA NOT NULL, "
             "status TEXT, first_seq BIGINT, count INTEGER, error TEXT, created_at TIMESTAMPTZ NOT NULL DEFAULT now())")
NOT_QUEUED = frozenset({identity.GENESIS, RULES_IN_FORCE, STREAM_HEADS, *identity.KEY_EVENT_TYPES})
"""Event types that always append directly (they change what later statements are checked against)."""

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(list[tuple[bytes, bytes]])


def eligible(ledger: "Ledger", batch: Sequence[SignedStatement], within) -> bool:
    """Whether ``batch`` may go through the queue (see the module docstring)."""
    return (ledger.store.dialect == "postgresql" and ledger.group_commit and within is None
            and ledger._verified is not None and ledger._rules_recorded is not None
            and ledger._rules_recorded == ledger.policy.rules()[1] and not ledger.vault.has_pending()
            and not any(item.statement.type in NOT_QUEUED for item in batch))


def append(ledger: "Ledger", batch: list[SignedStatement], early: "EarlyChecks") -> list["Event"]:
    """Append ``batch`` through the queue: lead a group, or be led by whoever holds the lock."""
    store = ledger.store
    if not ledger._queue_ready:
        with store.writing() as conn:  # under the lock: two writers never create it at once
            conn.exec_driver_sql(QUEUE_DDL)
        ledger._queue_ready = True
    with store.unlocked() as conn:
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")  # a request, not a record
        if ledger._queue_done:
            conn.exec_driver_sql("DELETE FROM append_queue WHERE id = ANY(%s)", (ledger._queue_done,))
            ledger._queue_done = []
        ticket = conn.exec_driver_sql("INSERT INTO append_queue (batch) VALUES (%s) RETURNING id",
                                      (_encoder.encode([(i.data, i.signature) for i in batch]),)).scalar()
    with store.writing() as conn:
        status, first, count, error = conn.exec_driver_sql(
            "SELECT status, first_seq, count, error FROM append_queue WHERE id = %s", (ticket,)).first()
        led = _lead(ledger, conn, ticket, batch, early) if status is None else None
    if led is not None:  # we led: the group is committed (and durable) now
        sealed, mine, refusal = led
        if sealed is not None:
            ledger._after_commit(*sealed, None)
            ledger._remember(ledger._last_appended)
        if refusal is not None:
            raise refusal
        return mine
    ledger._queue_done.append(ticket)
    if status != "done":
        raise _error(json.loads(error))
    return _mine(ledger, batch, first, count)


def _lead(ledger: "Ledger", conn, ticket: int, batch: list[SignedStatement], early: "EarlyChecks"):
    """Seal every queued request, ours among them, in this transaction; record each one's outcome."""
    rows = conn.exec_driver_sql("SELECT id, batch FROM append_queue WHERE status IS NULL ORDER BY id").fetchall()
    requests: list[tuple[int, list[SignedStatement]]] = []
    refused: dict[int, LedgerError] = {}
    for rid, blob in rows:
        if rid == ticket:
            requests.append((rid, batch))
            continue
        try:
            items = [ledger._from_bytes(SignedStatement(None, bytes(d), bytes(g))) for d, g in _decoder.decode(bytes(blob))]
        except (msgspec.DecodeError, msgspec.ValidationError, ValidationError) as e:
            refused[rid] = e if isinstance(e, ValidationError) else ValidationError(f"the request does not decode: {e}")
            continue
        requests.append((rid, items))
    from .sigcheck import EarlyChecks

    others = EarlyChecks([i for rid, items in requests if rid != ticket for i in items], ledger._registry.keys)
    head = ledger.store.head(conn)
    if head is None or (head.seq, head.leaf_hash) != (ledger._verified.seq, ledger._verified.leaf):
        ledger._catch_up(conn, head)  # what others wrote directly, verified first
        ledger._contended = True
    versions: dict[str, int] = {}
    accepted: list[tuple[int, list[SignedStatement]]] = []
    for rid, items in requests:
        try:
            _admit(ledger, items, versions, early if rid == ticket else others)
        except (ValidationError, AuthorizationError, ConflictError) as e:
            refused[rid] = e
            continue
        accepted.append((rid, items))
    sealed = None
    if accepted:
        nested = conn.begin_nested()
        try:
            sealed = ledger._append_in(conn, [i for _, items in accepted for i in items], None, None,
                                       _Both(early, others))
            nested.commit()
        except (ValidationError, AuthorizationError, ConflictError) as e:
            nested.rollback()
            refused.update({rid: e for rid, _ in accepted})
            accepted, sealed = [], None
    mine: list["Event"] = []
    if sealed is not None:
        theirs = iter(sealed[1])  # the requests' events in order (the ledger's own left out)
        for rid, items in accepted:
            events = [next(theirs) for _ in items]
            if rid == ticket:
                mine = events
            else:
                conn.exec_driver_sql("UPDATE append_queue SET status = 'done', first_seq = %s, count = %s "
                                     "WHERE id = %s", (events[0].seq, len(events), rid))
    for rid, e in refused.items():
        conn.exec_driver_sql("UPDATE append_queue SET status = 'refused', error = %s WHERE id = %s",
                             (json.dumps(_describe(e)), rid))
    conn.exec_driver_sql("DELETE FROM append_queue WHERE id = %s OR (status IS NOT NULL AND "
                         "created_at < now() - interval '1 hour')", (ticket,))
    return sealed, mine, refused.get(ticket)  # raised after the commit: the others' outcomes must commit


def _admit(ledger: "Ledger", items: list[SignedStatement], versions: dict[str, int], early: "EarlyChecks") -> None:
    """The checks of an append, for one request of the group (raises like :meth:`Ledger.append`)."""
    st, mine = ledger._verified, dict(versions)  # ``versions`` changes only if the whole request passes
    for item in items:
        s = item.statement
        if s.type in NOT_QUEUED:
            raise ValidationError(f"a {s.type} event is never appended through the group queue")
        ledger.policy.validate_payload(s.type, s.payload)
        current = mine.get(s.stream)
        if current is None:
            mark = st.streams.get(s.stream)
            current = mark.version if mark is not None else 0
        if s.stream_version != current + 1:
            raise ConflictError(s.stream, s.stream_version - 1, current)
        mine[s.stream] = s.stream_version
    for item in items:  # versions first, then keys and signatures: the order a direct append checks in
        s = item.statement
        info = ledger._registry.authorize(s, ledger.policy.get(s.type).roles)
        if not early.verifies(item, info.public_key):
            raise AuthorizationError(f"the signature on the {s.type} statement does not verify under key {s.key_id}")
    versions.update(mine)


class _Both:
    """Early checks of the leader's own statements and of the others' (see sigcheck.EarlyChecks)."""

    def __init__(self, *checks):
        self.checks = checks

    def verifies(self, item, public_key: bytes) -> bool:
        known = next((c for c in self.checks if c.knows(item)), self.checks[0])
        return known.verifies(item, public_key)


def _mine(ledger: "Ledger", batch: list[SignedStatement], first: int, count: int) -> list["Event"]:
    """The records another writer sealed for us: exactly our statements and signatures, or damage."""
    if count != len(batch):
        raise DamagedError(first, "the group commit sealed another number of statements than were asked for")
    with ledger.store.reading() as conn:
        rows = list(ledger.store.iter_events(conn, after_seq=first - 1, until_seq=first + count - 1))
    if len(rows) != count:
        raise DamagedError(first, "the events sealed by the group commit are missing")
    out = []
    for row, item in zip(rows, batch):
        e = ledger._row_event(row)
        if e.statement_bytes != item.data or e.signature != item.signature:
            raise DamagedError(row.seq, "the record sealed for this writer holds another statement")
        out.append(e)
    # Verify the others' events of the group now, outside the lock (as after any other writer): our
    # verified state then reaches our own events, and the next statement is built at the right version.
    ledger._refresh_registry()
    return out


def _describe(e: LedgerError) -> dict:
    if isinstance(e, ConflictError):
        return {"kind": "conflict", "stream": e.stream, "expected": e.expected, "actual": e.actual}
    return {"kind": "authorization" if isinstance(e, AuthorizationError) else "validation", "message": str(e)}


def _error(d: dict) -> LedgerError:
    if d.get("kind") == "conflict":
        return ConflictError(d["stream"], d["expected"], d["actual"])
    cls = AuthorizationError if d.get("kind") == "authorization" else ValidationError
    return cls(str(d.get("message", "the group commit refused the statements")))
