"""What a document checks before it is written, and says it checked: its verification section.

A document is never made from events that do not verify. Before rendering, every event of the tilbud's
stream is checked from the stored bytes: the signature under the key that was registered (and not
revoked) at that position (by the ledger's verified read, see :func:`verify_stream`), the stream's
versions 1, 2, 3 … with none missing, and — for every event a signed checkpoint covers — inclusion in
that checkpoint's tree (all of them in one walk, :meth:`LedgerTree.includes`), whose own signature is
checked under the ledger's log key valid at its size. Anything wrong stops the document (exit 1); what was checked, against
which checkpoint and when goes into the document in plain Danish.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tilsyn.ledger.envelope import leaf_hash
from tilsyn.ledger.errors import StoreError
from tilsyn.ledger.merkle import verify_inclusion
from tilsyn.standards import events as ev
from tilsyn.standards.explain import _Checker


class NotVerified(Exception):
    """The ledger does not verify over what the document would show."""


@dataclass
class Verification:
    """The outcome of the checks, for the document's last section and its appendix."""

    checked_at: str
    events: int
    first_seq: int | None
    last_seq: int | None
    signed: int
    included: int
    not_covered: list[int]
    checkpoint: dict[str, Any] | None
    checkpoint_problem: str | None
    hashes: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def verify_stream(sup, tilbud: str, until_seq: int | None = None) -> Verification:
    """Check every event of ``tilbud`` (up to ``until_seq``); raise :class:`NotVerified` on the first fault.

    The events come from the ledger's verified read: each one's signature was checked under the key
    registered (and not revoked, with the role) at its position when this machine verified it, and its
    bytes are bound to that check by the stream's digest in the verified state (trust.py) — a changed
    byte stops the read (exit 1). So signatures are not verified a second time here; the key's
    validity, the versions and the inclusion in the signed checkpoint are checked afresh.
    """
    check = _Checker(sup, tilbud)
    events = [e for seq, e in sorted(check.events.items()) if until_seq is None or seq <= until_seq]
    for expected, e in enumerate(events, start=1):
        if e.statement.stream_version != expected:
            raise NotVerified(f"tilbud {tilbud!r}: event seq {e.seq} has stream version "
                              f"{e.statement.stream_version}, expected {expected} (an event is missing)")
        info = check.keys.get(e.statement.key_id)
        if info is None or not info.valid_at(e.seq):
            raise NotVerified(f"tilbud {tilbud!r}: seq {e.seq} is signed by a key that was not valid at that position")
    cp = check.checkpoint
    if cp is not None and check.checkpoint_problem is not None:
        raise NotVerified(f"the latest checkpoint does not verify: {check.checkpoint_problem}")
    # Leaves afresh from the stored record bytes: the leaf_hash column is only a copy.
    leaves = {e.seq: leaf_hash(e.record_bytes) for e in events}
    covered = {seq: h for seq, h in leaves.items() if check.checkpoint_ok and seq <= cp.size}
    try:
        included = not covered or sup.ledger.tree.includes(covered, cp.size, cp.root)
    except (StoreError, LookupError, ValueError):  # a damaged Merkle cache: the single proofs below decide
        included = False
    if not included:
        # The walk read the Merkle cache: single proofs say which seq fails. They are checked against the
        # signed root (verified_proofs rebuilds a cache that gives wrong ones from the verified records),
        # so only records the checkpoint does not cover stop the document.
        bad = _first_excluded(check, covered)
        if bad is not None:
            raise NotVerified(f"tilbud {tilbud!r}: the inclusion proof of seq {bad} does not match the signed "
                              f"checkpoint")
    not_covered = [seq for seq in leaves if seq not in covered]
    hashes = [{"seq": e.seq, "type": e.type, "recorded_at": e.recorded_at, "leaf_hash": leaves[e.seq].hex()}
              for e in events]
    note, witnesses = (_cosigned(sup.ledger, cp) if cp is not None else (None, []))
    return Verification(
        checked_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), events=len(events),
        first_seq=events[0].seq if events else None, last_seq=events[-1].seq if events else None,
        signed=len(events), included=len(covered), not_covered=not_covered,
        checkpoint=({"id": cp.id, "size": cp.size, "root": cp.root.hex(), "note": note,
                     "created_at": _signed_time(sup.ledger, cp), "origin": sup.ledger.origin, "witnesses": witnesses}
                    if cp is not None else None),
        checkpoint_problem=check.checkpoint_problem if cp is None else None, hashes=hashes,
    )


def _first_excluded(check, covered: dict[int, bytes]) -> int | None:
    """The first seq whose own (checked) inclusion proof fails, or None (only on the way to an error)."""
    cp = check.checkpoint
    return next((seq for seq in sorted(covered)
                 if not verify_inclusion(covered[seq], seq - 1, cp.size, check.proofs[seq], cp.root)), None)


def _signed_time(ledger, cp) -> str | None:
    """The checkpoint's signed time (its log cosignature line), never the row's unsigned created_at."""
    from tilsyn.ledger.witnessing import latest_time

    t = latest_time(ledger, cp)
    return None if t is None else datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _cosigned(ledger, cp) -> tuple[str, list[str]]:
    """The checkpoint note with the witnesses' verified cosignatures, and the witnesses' names."""
    from tilsyn.ledger.checkpoints import note_key_name
    from tilsyn.ledger.witnessing import cosigned_note

    note = cosigned_note(ledger, cp)
    own = note_key_name(ledger.origin)
    names = []
    for line in note.split("\n\n", 1)[-1].splitlines():
        if line.startswith("— "):
            name = line[2:].rsplit(" ", 1)[0]
            if name != own and name not in names:
                names.append(name)
    return note, names


__all__ = ["NotVerified", "Verification", "verify_stream", "ev"]
