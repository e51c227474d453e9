"""What a document checks before it is written, and says it checked: its verification section.

A document is never made from events that do not verify. Before rendering, every event of the tilbud's
stream is checked from the stored bytes: the signature under the key that was registered (and not
revoked) at that position, the stream's versions 1, 2, 3 … with none missing, and — for every event a
signed checkpoint covers — the inclusion proof against that checkpoint, whose own signature is checked
under the ledger's log key valid at its size. Anything wrong stops the document (exit 1); what was checked, against
which checkpoint and when goes into the document in plain Danish.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tilsyn.ledger import keys
from tilsyn.ledger.envelope import leaf_hash
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


def _signatures(items: list) -> list[int]:
    """The seqs among ``(seq, public_key, signature, statement_bytes)`` whose signature does not verify."""
    return [seq for seq, public_key, signature, data in items if not keys.verify(public_key, signature, data)]


def verify_stream(sup, tilbud: str, until_seq: int | None = None) -> Verification:
    """Check every event of ``tilbud`` (up to ``until_seq``); raise :class:`NotVerified` on the first fault."""
    check = _Checker(sup, tilbud)
    events = [e for seq, e in sorted(check.events.items()) if until_seq is None or seq <= until_seq]
    items = []
    for expected, e in enumerate(events, start=1):
        if e.statement.stream_version != expected:
            raise NotVerified(f"tilbud {tilbud!r}: event seq {e.seq} has stream version "
                              f"{e.statement.stream_version}, expected {expected} (an event is missing)")
        info = check.keys.get(e.statement.key_id)
        if info is None or not info.valid_at(e.seq):
            raise NotVerified(f"tilbud {tilbud!r}: seq {e.seq} is signed by a key that was not valid at that position")
        items.append((e.seq, info.public_key, e.signature, e.statement_bytes))
    # Ed25519 checks release the GIL: split them over the cores, as verify does.
    workers = min(4, os.cpu_count() or 1)
    chunks = [items[i::workers] for i in range(workers)] if len(items) > 200 else [items]
    with ThreadPoolExecutor(len(chunks)) as pool:
        bad = sorted(seq for failed in pool.map(_signatures, chunks) for seq in failed)
    if bad:
        raise NotVerified(f"tilbud {tilbud!r}: the signature of seq {bad[0]} does not verify over the stored bytes")
    cp = check.checkpoint
    if cp is not None and check.checkpoint_problem is not None:
        raise NotVerified(f"the latest checkpoint does not verify: {check.checkpoint_problem}")
    hashes, included, not_covered = [], 0, []
    for e in events:
        leaf = leaf_hash(e.record_bytes)  # afresh from the stored record: the leaf_hash column is only a copy
        if check.checkpoint_ok and e.seq <= cp.size:
            if not verify_inclusion(leaf, e.seq - 1, cp.size, check.proofs[e.seq], cp.root):
                raise NotVerified(f"tilbud {tilbud!r}: the inclusion proof of seq {e.seq} does not match the "
                                  f"signed checkpoint")
            included += 1
        else:
            not_covered.append(e.seq)
        hashes.append({"seq": e.seq, "type": e.type, "recorded_at": e.recorded_at, "leaf_hash": leaf.hex()})
    note, witnesses = (_cosigned(sup.ledger, cp) if cp is not None else (None, []))
    return Verification(
        checked_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), events=len(events),
        first_seq=events[0].seq if events else None, last_seq=events[-1].seq if events else None,
        signed=len(items), included=included, not_covered=not_covered,
        checkpoint=({"id": cp.id, "size": cp.size, "root": cp.root.hex(), "note": note,
                     "created_at": cp.created_at, "origin": sup.ledger.origin, "witnesses": witnesses}
                    if cp is not None else None),
        checkpoint_problem=check.checkpoint_problem if cp is None else None, hashes=hashes,
    )


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
