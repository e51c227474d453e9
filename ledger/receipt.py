"""Receipts: C2SP tlog-proof files that prove one record is in the ledger, checkable offline.

::

    c2sp.org/tlog-proof@v1
    extra <base64 of the record bytes>
    index <seq - 1>
    <base64 inclusion proof hash, leaf's sibling first>
    ...
    <blank line>
    <the cosigned checkpoint note, verbatim>

The record bytes ride in ``extra``: the spec leaves extra unauthenticated, and so do we — the leaf hash
``SHA-256(0x00 || record)`` is computed from them and must reach the signed root through the inclusion
proof, so a changed byte fails. The tilbud keeps the receipt for each decision about it; years later,
:func:`verify_receipt` checks it with only a witness policy (the log key and witness keys), and
``tilsyn verify --against`` proves the ledger still holds this very record at this position.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING, Any

import msgspec

from .checkpoint import CheckpointError
from .envelope import decode_record, decode_statement, leaf_hash
from .merkle import verify_inclusion
from .tlog_policy import NoteCheck, TlogPolicy, check_note

if TYPE_CHECKING:
    from .ledger import Ledger

__all__ = ["HEADER", "Receipt", "ReceiptError", "ReceiptReport", "format_receipt", "make_receipt", "parse_receipt",
           "verify_receipt"]

HEADER = "c2sp.org/tlog-proof@v1"
_INDEX = re.compile(r"index (0|[1-9][0-9]*)")
MAX_PROOF = 64


class ReceiptError(ValueError):
    """The file is not a well-formed tlog-proof, or no receipt can be made."""


class Receipt(msgspec.Struct, frozen=True):
    """A parsed tlog-proof."""

    index: int
    proof: tuple[bytes, ...]
    note: str
    extra: bytes | None = None

    @property
    def seq(self) -> int:
        return self.index + 1


def _b64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ReceiptError(f"{what} is not base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise ReceiptError(f"{what} is not canonical base64")
    return raw


def format_receipt(receipt: Receipt) -> str:
    """The tlog-proof text of ``receipt``."""
    lines = [HEADER]
    if receipt.extra is not None:
        lines.append("extra " + base64.b64encode(receipt.extra).decode("ascii"))
    lines.append(f"index {receipt.index}")
    lines += [base64.b64encode(h).decode("ascii") for h in receipt.proof]
    return "".join(line + "\n" for line in lines) + "\n" + receipt.note


def parse_receipt(data: str | bytes) -> Receipt:
    """Parse a tlog-proof strictly; raises :class:`ReceiptError`."""
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise ReceiptError("not UTF-8 text") from None
    lines = data.split("\n")
    if not lines or lines[0] != HEADER:
        raise ReceiptError(f"the first line must be {HEADER!r}")
    pos, extra = 1, None
    if pos < len(lines) and lines[pos].startswith("extra "):
        extra = _b64(lines[pos][6:], "extra")
        pos += 1
    if pos >= len(lines) or not _INDEX.fullmatch(lines[pos]):
        raise ReceiptError("expected 'index N' (ASCII decimal, no leading zeros)")
    index = int(lines[pos][6:])
    pos += 1
    proof = []
    while pos < len(lines) and lines[pos] != "":
        h = _b64(lines[pos], f"proof line {len(proof) + 1}")
        if len(h) != 32:
            raise ReceiptError(f"proof line {len(proof) + 1} is not a SHA-256 hash")
        proof.append(h)
        if len(proof) > MAX_PROOF:
            raise ReceiptError("inclusion proof too long")
        pos += 1
    if pos >= len(lines):
        raise ReceiptError("no blank line before the checkpoint")
    note = "\n".join(lines[pos + 1:])
    if not note:
        raise ReceiptError("no checkpoint after the blank line")
    return Receipt(index, tuple(proof), note, extra)


def make_receipt(ledger: "Ledger", seq: int, stream: str | None = None) -> str:
    """The receipt of record ``seq`` against the latest checkpoint, with its witness cosignatures.

    Raises :class:`ReceiptError` if the record is not in ``stream`` or no checkpoint covers it yet. The
    receipt is checked against the record bytes before it is returned.
    """
    import sqlalchemy as sa

    from .checkpoints import checked, latest_checkpoint, verified_proofs
    from .store import events
    from .witnessing import cosigned_note

    with ledger.store.reading() as conn:
        row = conn.execute(sa.select(events.c.record, events.c.stream).where(events.c.seq == seq)).first()
    if row is None:
        raise ReceiptError(f"there is no event at seq {seq}")
    # The record is authenticated by its inclusion proof against the signed checkpoint (below), not by
    # reading the chain up to the head: a receipt of an old event stays O(log n).
    record = bytes(row.record)
    try:
        actual = decode_statement(decode_record(record).statement).stream
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise ledger.locate_damage(f"the record at seq {seq} does not decode") from None
    if stream is not None and actual != stream:
        raise ReceiptError(f"seq {seq} belongs to {actual}, not {stream}")
    cp = latest_checkpoint(ledger)
    if cp is None or cp.size < seq:
        raise ReceiptError(f"no checkpoint covers seq {seq} yet: run 'tilsyn checkpoint' first")
    checked(ledger, cp)  # a forged or altered checkpoint row is damage, never handed out
    proof = verified_proofs(ledger, cp, {seq: leaf_hash(record)})[seq]  # a bad cache is rebuilt
    return format_receipt(Receipt(seq - 1, tuple(proof), cosigned_note(ledger, cp), record))


class ReceiptReport(msgspec.Struct):
    """The outcome of :func:`verify_receipt`."""

    ok: bool = False
    reason: str | None = None
    seq: int | None = None
    checkpoint: NoteCheck | None = None
    record: dict[str, Any] = msgspec.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason, "seq": self.seq, "record": self.record,
                "checkpoint": self.checkpoint.to_dict() if self.checkpoint else None}


def verify_receipt(data: str | bytes, policy: TlogPolicy) -> ReceiptReport:
    """Check a receipt offline: log signature and quorum (``policy``), inclusion of the record bytes.

    Never raises on a bad receipt; ``ReceiptError`` only if the file is not a tlog-proof at all.
    """
    receipt = parse_receipt(data)
    report = ReceiptReport(seq=receipt.seq)
    report.checkpoint = check = check_note(receipt.note, policy)
    if not check.ok:
        report.reason = f"the checkpoint does not satisfy the policy: {check.reason}"
        return report
    if receipt.extra is None:
        report.reason = "the receipt carries no record (no 'extra' line): nothing to check inclusion of"
        return report
    record = receipt.extra
    if not verify_inclusion(leaf_hash(record), receipt.index, check.size, list(receipt.proof), check.root):
        report.reason = (f"the inclusion proof does not prove this record at index {receipt.index} "
                         f"in the checkpoint of size {check.size}")
        return report
    try:
        rec = decode_record(record)
        stmt = decode_statement(rec.statement)
    except Exception as e:  # bytes that are in the tree but are no record of ours
        report.reason = f"the proved entry is not a ledger record: {e}"
        return report
    if rec.seq != receipt.seq:
        report.reason = f"the record says seq {rec.seq} but stands at index {receipt.index} (seq {receipt.seq})"
        return report
    report.record = {"seq": rec.seq, "recorded_at": rec.recorded_at, "stream": stmt.stream, "type": stmt.type,
                     "actor": stmt.actor, "key_id": stmt.key_id, "occurred_at": stmt.occurred_at}
    report.ok = True
    return report


def receipt_checkpoint(receipt: Receipt):
    """The checkpoint body inside a receipt (unverified)."""
    from .witnessing import checkpoint_of

    try:
        return checkpoint_of(receipt.note)
    except CheckpointError as e:
        raise ReceiptError(f"the receipt's checkpoint is malformed: {e}") from None
