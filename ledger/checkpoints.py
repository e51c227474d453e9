"""Signed checkpoints: the authority commits to the ledger's tree size and root, in C2SP form.

A checkpoint is a C2SP ``tlog-checkpoint`` body (origin, size, base64 root) in a C2SP ``signed-note``
signed by the ledger's own log key — made at ``init``, registered in the genesis event (``log_key``),
rotated only by ``keys rotate-ledger`` — never by a person's key (see :mod:`checkpoint` for the formats).
A checkpoint of size N must be signed by the log key valid at seq N. Once a checkpoint has
left the building — printed in a decision, handed to a witness, put in an evidence bundle — the ledger
can no longer be rewritten or truncated before that size without it showing.

:func:`verify_checkpoints` trusts nothing derived: it folds the log keys from the key records' own bytes
(each key event's signature checked), recomputes the root at every checkpoint size from the record bytes in one pass (hashing each
record itself rather than reading ``leaf_hash`` or ``merkle_nodes``), and checks consistency between
consecutive checkpoints with proofs built from nodes collected during that same pass.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
import sqlalchemy as sa

from . import identity, keys, timefmt
from .checkpoint import CheckpointError, checkpoint_body, note_key_name, open_note, parse_checkpoint, sign_note
from .envelope import decode_record, decode_statement, leaf_hash
from .errors import AuthorizationError, LedgerError, StoreError
from .heads import HEADS_STREAM, STREAM_HEADS
from .identity import KeyInfo, KeyRegistry
from .merkle import verify_consistency, verify_inclusion
from .signing import Signer
from .store import Store, checkpoints, events
from .tree import RightEdge, answer_from, nodes_needed
from .witnessing import log_timestamp_line

if TYPE_CHECKING:
    from .ledger import Ledger
    from .verify import Report


@dataclass(frozen=True)
class StoredCheckpoint:
    """One stored checkpoint: its row id, the tree head it commits to, and the signed note."""

    id: int
    size: int
    root: bytes
    note: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "size": self.size, "root": base64.b64encode(self.root).decode(),
                "root_hex": self.root.hex(), "created_at": self.created_at, "note": self.note}


def log_key(ledger: "Ledger") -> KeyInfo:
    """The ledger's current log key (the genesis ``log_key``, or its latest rotation)."""
    info = ledger.log_key()
    if info is None:
        raise StoreError("the ledger has no log key")
    return info


def check_latest_checkpoint(ledger: "Ledger") -> tuple[StoredCheckpoint | None, str | None]:
    """The latest checkpoint, checked (:func:`checked`: its note under the log key valid at its size,
    its columns, its root if it covers the verified head), or ``(None, why)`` if there is none yet.

    For readers that show proofs against it (explain, report). A checkpoint row that does not check is
    damage: :class:`DamagedError`, naming the seq as ``tilsyn verify`` does.
    """
    cp = latest_checkpoint(ledger)
    heads = ledger.stream_mark(HEADS_STREAM)  # the newest StreamHeads event, as verified
    if heads is not None and (cp is None or cp.size != heads.seq):
        # Each StreamHeads event is stored with its checkpoint: the newest one's row was deleted.
        raise ledger.locate_damage(f"the StreamHeads event at seq {heads.seq} has no stored checkpoint")
    if cp is None:
        return None, "no checkpoint yet ('tilsyn checkpoint')"
    with ledger.store.reading() as conn:
        copies = conn.execute(sa.select(sa.func.count()).select_from(checkpoints).where(checkpoints.c.size == cp.size)).scalar()
    if copies > 1:
        raise ledger.locate_damage(f"checkpoint #{cp.id} is stored twice")
    return checked(ledger, cp), None


def _table_exists(store: Store) -> bool:
    return sa.inspect(store.engine).has_table("checkpoints")


def _ensure_table(store: Store) -> None:
    # Ledgers created before checkpoints existed lack the table; create_all skips existing tables.
    if not _table_exists(store):
        checkpoints.create(store.engine, checkfirst=True)


def _row(r) -> StoredCheckpoint:
    return StoredCheckpoint(r.id, r.size, bytes(r.root), r.note, r.created_at)


def list_checkpoints(ledger: "Ledger") -> list[StoredCheckpoint]:
    """Every stored checkpoint, oldest first."""
    if not _table_exists(ledger.store):
        return []
    with ledger.store.reading() as conn:
        return [_row(r) for r in conn.execute(sa.select(checkpoints).order_by(checkpoints.c.id))]


def latest_checkpoint(ledger: "Ledger") -> StoredCheckpoint | None:
    """The most recent stored checkpoint, or ``None``."""
    if not _table_exists(ledger.store):
        return None
    with ledger.store.reading() as conn:
        r = conn.execute(sa.select(checkpoints).order_by(checkpoints.c.id.desc()).limit(1)).first()
    return _row(r) if r else None


def create_checkpoint(ledger: "Ledger", signer: Signer) -> StoredCheckpoint:
    """Commit to every stream's head, then sign the tree up to that commitment; store and return it.

    A ``ledger.StreamHeads/1`` event is appended (heads.py) and the checkpoint is signed at exactly its
    seq, in the same transaction: so the last leaf under every checkpoint says which event ends each
    stream, and an evidence bundle can prove it left nothing out. If the latest checkpoint already ends
    at the ledger's last event, a StreamHeads event, it is returned unchanged (Ed25519 is deterministic:
    re-signing would give the same note).

    ``signer`` must hold the ledger's current log key (:meth:`Ledger.log_signer`); a retired one is refused.

    Only what was verified is signed: the append verifies every event beyond this machine's verified
    prefix; the records since the last checkpoint are re-read and must still be the verified ones; the
    root signed is the verified records' root (trust.py), never the ``merkle_nodes`` cache's — a cache
    that disagrees is rebuilt from the records. Damage raises :class:`DamagedError` and nothing is signed.
    """
    current = log_key(ledger)
    if signer.public_key != current.public_key:
        retired = next((k for k in ledger.log_keys() if k.public_key == signer.public_key), None)
        if retired is not None:
            raise AuthorizationError(f"the log key {retired.key_id} was rotated at seq {retired.revoked_seq}; "
                                     f"checkpoints are signed by its successor {current.key_id}")
        raise AuthorizationError(
            f"checkpoints are signed with the ledger's log key ({current.key_id}), not with {signer.actor!r}'s key; "
            "load it with Ledger.log_signer(keystore) from the authority's key home")
    _ensure_table(ledger.store)
    last = covering_checkpoint(ledger)
    if last is not None:
        return last
    made: list[StoredCheckpoint] = []

    def sign(conn, heads_event, root: bytes) -> None:
        size = heads_event.seq
        last = _latest_row(conn)
        if last is not None and last.size >= size:  # cannot happen under the write lock; never sign twice
            raise ledger.locate_damage(f"checkpoint #{last.id} commits to {last.size} events, beyond the head")
        since = _signed_size(ledger, last) if last is not None else 0
        ledger.check_records_since(conn, since)
        _cache_agrees(ledger, conn, size, root)
        body = checkpoint_body(ledger.origin, size, root)
        note = sign_note(body, note_key_name(ledger.origin), signer.private_key)
        # The signed time: the log key's own cosignature/v1 line (see witnessing.py).
        note += log_timestamp_line(body, note_key_name(ledger.origin), signer.private_key)
        created = timefmt.now()
        result = conn.execute(checkpoints.insert().values(size=size, root=root, note=note, created_at=created))
        made.append(StoredCheckpoint(result.inserted_primary_key[0], size, root, note, created))

    ledger.append_stream_heads(signer, then=sign)
    return made[0]


def _latest_row(conn) -> StoredCheckpoint | None:
    r = conn.execute(sa.select(checkpoints).order_by(checkpoints.c.id.desc()).limit(1)).first()
    return _row(r) if r else None


def _signed_size(ledger: "Ledger", cp: StoredCheckpoint) -> int:
    """The size ``cp``'s note signs, if it verifies under the log key valid at that size (else 0: nothing
    before it can be taken as checkpointed, so everything is re-read)."""
    from .witnessing import open_log_note

    try:
        body = parse_checkpoint(open_log_note(ledger, cp.note)[0])
    except CheckpointError:
        return 0
    return body.size if body.origin == ledger.origin else 0


def checked(ledger: "Ledger", cp: StoredCheckpoint, conn=None) -> StoredCheckpoint:
    """``cp`` if its note verifies under the log key valid at its size, for this origin, its columns say
    what the note signs and, if it covers the verified head, its root is the verified records' root; else
    :class:`DamagedError` (a forged or altered checkpoint row is never handed out)."""
    from .witnessing import open_log_note

    try:
        body = parse_checkpoint(open_log_note(ledger, cp.note)[0])
    except CheckpointError as e:
        raise ledger.locate_damage(f"checkpoint #{cp.id}: the signed note does not verify ({e})") from None
    if body.origin != ledger.origin or (body.size, body.root) != (cp.size, cp.root):
        raise ledger.locate_damage(f"checkpoint #{cp.id}: the stored row differs from its signed note")
    size, root = ledger.verified_head(conn)
    if cp.size > size:
        raise ledger.locate_damage(f"checkpoint #{cp.id} commits to {cp.size} events but the ledger has only {size}")
    if cp.size == size and cp.root != root:
        raise ledger.locate_damage(f"checkpoint #{cp.id}: its root is not the root of the verified records")
    return cp


def covering_checkpoint(ledger: "Ledger") -> StoredCheckpoint | None:
    """The latest checkpoint, checked (:func:`checked`), if it ends at the ledger's last event and that
    event is a StreamHeads event; else ``None`` (a new one is needed to cover the whole ledger)."""
    if not _table_exists(ledger.store):
        return None
    with ledger.store.reading() as conn:
        size, _ = ledger.verified_head(conn)
        last = _latest_row(conn)
        if last is None or size == 0:
            return None
        checked(ledger, last, conn)
        if last.size < size:
            return None
        heads = next(ledger.read(after_seq=size - 1), None)
        return last if heads is not None and heads.type == STREAM_HEADS else None


def _cache_agrees(ledger: "Ledger", conn, size: int, root: bytes) -> None:
    """Make the ``merkle_nodes`` cache give ``root`` at ``size`` (the verified root): caught up, or, if
    it disagrees or is damaged, rebuilt from the records (under the write lock)."""
    try:
        ledger.tree.sync_to(conn, size)
        if ledger.tree.root(size, conn=conn) == root:
            return
    except (StoreError, LookupError, ValueError):
        pass
    ledger.rebuild_tree(conn, size, root)


def verified_proofs(ledger: "Ledger", cp: StoredCheckpoint, leaves: dict[int, bytes]) -> dict[int, list[bytes]]:
    """Inclusion proofs of the events ``{seq: leaf hash}`` in checkpoint ``cp``, each checked against its
    signed root before it is handed out. A cache that gives a wrong proof (or none) is rebuilt from the
    records once; a proof that still fails means the checkpoint and the records disagree: DamagedError."""
    seqs = sorted(leaves)

    def attempt() -> dict[int, list[bytes]] | None:
        try:
            proofs = ledger.tree.inclusion_proofs(seqs, cp.size)
        except (StoreError, LookupError, ValueError):
            return None
        ok = all(verify_inclusion(leaves[s], s - 1, cp.size, proofs[s], cp.root) for s in seqs)
        return proofs if ok else None

    proofs = attempt()
    if proofs is None and not ledger.store.read_only:
        with ledger.store.writing() as conn:
            ledger.rebuild_tree(conn)
        proofs = attempt()
    if proofs is None:
        raise ledger.locate_damage(f"checkpoint #{cp.id} does not prove the verified records")
    return proofs


# -- verification ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckpointProblem:
    """Something wrong with a checkpoint; ``seq`` is where it shows in the ledger."""

    checkpoint_id: int | None
    seq: int
    message: str


@dataclass
class CheckpointReport:
    """The outcome of :func:`verify_checkpoints`."""

    checkpoints: int = 0
    ledger_size: int = 0
    latest: StoredCheckpoint | None = None
    problems: list[CheckpointProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "count": self.checkpoints, "ledger_size": self.ledger_size,
                "latest": self.latest.to_dict() if self.latest else None,
                "problems": [{"checkpoint": p.checkpoint_id, "seq": p.seq, "message": p.message}
                             for p in self.problems]}


def _log_registry(conn, store: Store) -> KeyRegistry:
    """The key registry folded from the key records' own bytes, each key event's signature checked under
    the key it names (so the log keys, their rotations and the origin come from signed bytes only)."""
    registry = KeyRegistry()
    registry.recheck = False  # only the log keys matter here; verify_ledger checks names and proofs
    for seq, record in store.stream_records(conn, identity.KEYS_STREAM, 0):
        try:
            rec = decode_record(record)
            stmt = decode_statement(rec.statement)
        except (msgspec.DecodeError, msgspec.ValidationError):
            if seq == 1:
                raise
            continue  # a damaged key event counts for nothing; the event checks report it at its seq
        if seq == 1:
            if stmt.type != identity.GENESIS:
                raise ValueError("the record at seq 1 is not the genesis event")
            registry.apply(seq, stmt)
        info = registry.keys.get(stmt.key_id)
        if info is None or not keys.verify(info.public_key, rec.signature, rec.statement):
            if seq == 1:
                raise ValueError("the genesis event is not signed by the key it registers")
            continue  # a forged key event (a forged log-key rotation too) changes no key
        if seq != 1:
            try:
                registry.apply(seq, stmt)
            except LedgerError:
                continue
    if registry.ledger_id is None:
        raise ValueError("there is no genesis record (seq 1)")
    return registry


def _records(conn, limit: int, chunk: int = 20000):
    """The first ``limit`` rows' record bytes in seq order (only that column: this pass reads them all)."""
    last, left = 0, limit
    while left > 0:
        rows = conn.execute(sa.select(events.c.seq, events.c.record).where(events.c.seq > last)
                            .order_by(events.c.seq).limit(min(chunk, left))).all()
        if not rows:
            return
        for r in rows:
            yield bytes(r.record)
        last, left = rows[-1].seq, left - len(rows)


def verify_checkpoints(ledger: "Ledger") -> CheckpointReport:
    """Check every stored checkpoint against the ledger's record bytes. Never raises on tampering.

    Per checkpoint: the note's signature under the log key valid at its size, its origin, the stored copies of size
    and root; size ≤ number of events (else the ledger was truncated); the root equals the root
    recomputed from the record bytes at that size. Between consecutive checkpoints: a consistency
    proof, built from the records and verified against both signed roots.
    """
    report = CheckpointReport()
    store = ledger.store
    if not _table_exists(store):
        with store.reading() as conn:
            report.ledger_size = store.count(conn)
        return report
    with store.reading() as conn:
        rows = [_row(r) for r in conn.execute(sa.select(checkpoints).order_by(checkpoints.c.id))]
        report.checkpoints, report.latest = len(rows), (rows[-1] if rows else None)
        count = store.count(conn)
        report.ledger_size = count
        # (The type column is checked against the record bytes by the event checks of 'tilsyn verify'.)
        heads_seqs = [r[0] for r in conn.execute(sa.select(events.c.seq).where(events.c.type == STREAM_HEADS))]
        if not rows:
            for seq in heads_seqs:
                report.problems.append(CheckpointProblem(None, seq, f"the StreamHeads event at seq {seq} has no stored "
                                                                    "checkpoint (a checkpoint row was deleted)"))
            return report

        def problem(cp: StoredCheckpoint, seq: int, message: str) -> None:
            report.problems.append(CheckpointProblem(cp.id, seq, f"checkpoint #{cp.id} (size {cp.size}): {message}"))

        try:
            registry = _log_registry(conn, store)
            origin = registry.origin or ""
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, KeyError, TypeError, LedgerError) as e:
            for cp in rows:
                problem(cp, 1, f"cannot check its signature: {e}")
            return report
        # 1. Signatures (under the log key valid at each checkpoint's size) and the signed tree heads.
        heads: list[tuple[StoredCheckpoint, int, bytes]] = []
        for cp in rows:
            log = registry.log_key_at(max(cp.size, 1))
            try:
                if log is None:
                    raise CheckpointError("no log key was valid at that size")
                body = parse_checkpoint(open_note(cp.note, note_key_name(origin), log.public_key))
            except CheckpointError as e:
                problem(cp, max(min(cp.size, count), 1),
                        f"the signed note does not verify under the log key valid at its size ({e})")
                continue
            if body.origin != origin:
                problem(cp, max(min(body.size, count), 1), f"signed for origin {body.origin!r}, not this ledger's {origin!r}")
                continue
            if (body.size, body.root) != (cp.size, cp.root):
                problem(cp, max(min(body.size, count), 1), "the stored size/root columns differ from the signed note")
            if any(n == body.size for _, n, _ in heads):  # create_checkpoint never stores one size twice
                problem(cp, max(min(body.size, count), 1), "a second row of the same signed checkpoint (a copied row)")
                continue
            heads.append((cp, body.size, body.root))
        # 2. One pass over the records: roots at each size, plus the nodes the consistency proofs need.
        pairs = [(a, b) for a, b in zip(heads, heads[1:])]
        sizes = {n for _, n, _ in heads if 0 < n <= count}
        top = max(sizes, default=0)
        checkable = [(a, b) for a, b in pairs if 0 < a[1] <= b[1] <= count]
        keep = nodes_needed(top, lambda t: [t.consistency_proof(a[1], b[1]) for a, b in checkable]) if top else set()
        edge, roots = RightEdge(keep), {}
        for record in _records(conn, top):
            edge.add(leaf_hash(record))
            if edge.size in sizes:
                roots[edge.size] = edge.root()
    for cp, n, root in heads:
        if n > count:
            problem(cp, count + 1, f"commits to {n} events but the ledger has only {count}: the ledger was truncated "
                                   f"(events {count + 1}–{n} are missing)")
        elif n == 0:
            continue
        elif roots.get(n) != root:
            problem(cp, n, f"its root does not match the root recomputed from the first {n} records: "
                           "events up to that size were altered, removed or reordered")
    # 3. Consecutive checkpoints must extend one another.
    for (a, na, ra), (b, nb, rb) in pairs:
        if nb < na:
            problem(b, nb + 1, f"is smaller than the earlier checkpoint #{a.id} (size {na}): the ledger shrank")
            continue
        if na == 0 or nb > count:
            continue  # truncation is reported above; there is no proof from the empty tree
        if roots.get(na) != ra or roots.get(nb) != rb:
            # A root that the records do not give is reported above, at its own size; the records are
            # one sequence, so that is where the history changed — not at the older checkpoint's size.
            continue
        proof = answer_from(top, edge.kept, lambda t: t.consistency_proof(na, nb))
        if not verify_consistency(na, nb, proof, ra, rb):
            problem(b, na, f"is not an extension of checkpoint #{a.id} (size {na}): "
                           "the history before it was rewritten in between")
    # 4. Every StreamHeads event is signed by the checkpoint stored in the same transaction: one without
    #    its checkpoint row means the row was deleted (the commitment it carried is gone from here).
    signed = {n for _, n, _ in heads}
    for seq in heads_seqs:
        if seq not in signed and seq <= count:
            report.problems.append(CheckpointProblem(None, seq, f"the StreamHeads event at seq {seq} has no stored "
                                                                "checkpoint of that size (a checkpoint row was deleted)"))
    report.problems.sort(key=lambda p: (p.seq, p.checkpoint_id or 0))
    return report


def merge_into(report: "Report", checkpoint_report: CheckpointReport) -> None:
    """Add checkpoint problems to a kernel :class:`~tilsyn.ledger.verify.Report` (so ``ok`` covers both)."""
    from .verify import Problem

    for p in checkpoint_report.problems:
        report.problems.append(Problem(p.seq, p.message))
    if "checkpoints" not in report.checked:
        report.checked.append("checkpoints")


def verify_all(ledger: "Ledger", **kwargs) -> tuple["Report", CheckpointReport]:
    """What ``tilsyn verify`` does: :func:`verify_ledger` plus :func:`verify_checkpoints`, merged.

    The returned kernel report's ``ok`` is false if either found a problem.
    """
    from .verify import verify_ledger

    report = verify_ledger(ledger.store, ledger.policy, **kwargs)
    cps = verify_checkpoints(ledger)
    merge_into(report, cps)
    return report, cps
