"""Fork detection: does this ledger extend what the authority once showed?

Anything someone was given — a receipt (C2SP tlog-proof), a checkpoint note, an evidence bundle —
holds a checkpoint the ledger's log key signed. :func:`check_against` proves, from the record bytes alone,
that the current ledger extends every such checkpoint: it recomputes the root at the old size and at the
current size in one pass and verifies an RFC 9162 consistency proof between them. If the authority has
rewritten its history (dropped a påbud, re-signed everything after it), the old checkpoint's root is not a
prefix of the new tree and the check names the fork, the sizes and — where the file carries records — the
first seq whose record differs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .checkpoint import CheckpointError, parse_checkpoint
from .envelope import decode_record, decode_statement, leaf_hash
from .merkle import verify_consistency
from .store import events
from .tree import RightEdge, answer_from, nodes_needed

if TYPE_CHECKING:
    from .ledger import Ledger

__all__ = ["AgainstResult", "check_against", "read_evidence"]


@dataclass
class Evidence:
    """One file's claim: a signed note and, optionally, records it says stood at given seqs."""

    label: str
    kind: str  # receipt | checkpoint | bundle
    note: str
    records: dict[int, bytes] = field(default_factory=dict)


@dataclass
class AgainstResult:
    label: str
    kind: str
    ok: bool
    message: str
    size: int | None = None
    ledger_size: int | None = None
    fork: bool = False
    first_diff_seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.label, "kind": self.kind, "ok": self.ok, "fork": self.fork, "size": self.size,
                "ledger_size": self.ledger_size, "first_differing_seq": self.first_diff_seq, "message": self.message}


def read_evidence(label: str, data: bytes) -> Evidence:
    """Recognise a receipt, a bundle or a checkpoint note; ``ValueError`` if it is none of them."""
    from .receipt import HEADER, ReceiptError, parse_receipt

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{label}: not UTF-8 text") from None
    if text.startswith(HEADER + "\n"):
        try:
            r = parse_receipt(text)
        except ReceiptError as e:
            raise ValueError(f"{label}: malformed receipt: {e}") from None
        return Evidence(label, "receipt", r.note, {r.seq: r.extra} if r.extra is not None else {})
    if text.lstrip().startswith("{"):
        try:
            from .strictjson import loads as strict_loads  # one reading of a bundle, as verify-bundle has

            doc = strict_loads(data)
            cp = doc["checkpoint"]  # bundle version 2: the note itself; version 1: {"note": …}
            note = cp if isinstance(cp, str) else cp["note"]
            records = {int(x["seq"]): base64.b64decode(x["record"], validate=True) for x in doc.get("records", [])}
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{label}: not an evidence bundle with a checkpoint: {e}") from None
        if not isinstance(note, str):
            raise ValueError(f"{label}: the bundle's checkpoint note is not text")
        return Evidence(label, "bundle", note, records)
    return Evidence(label, "checkpoint", text)


def _describe(record: bytes) -> str:
    try:
        rec = decode_record(record)
        st = decode_statement(rec.statement)
        return f"{st.type} in {st.stream} by {st.actor}"
    except Exception:
        return "an undecodable record"


def check_against(ledger: "Ledger", items: list[Evidence]) -> list[AgainstResult]:
    """Check that the ledger extends each item's checkpoint. Never raises on bad evidence."""
    from .witnessing import log_keys, open_log_note

    results: list[AgainstResult] = []
    with ledger.store.reading() as conn:
        count = ledger.store.count(conn)
        try:
            log_keys(ledger)
            origin = ledger.origin
        except Exception as e:
            return [AgainstResult(i.label, i.kind, False, f"the ledger has no readable genesis: {e}") for i in items]
        heads: list[tuple[Evidence, int, bytes]] = []
        for item in items:
            try:
                cp = parse_checkpoint(open_log_note(ledger, item.note)[0])
            except CheckpointError as e:
                results.append(AgainstResult(item.label, item.kind, False,
                                             f"its checkpoint is not signed by this ledger's log key ({e})"))
                continue
            if cp.origin != origin:
                results.append(AgainstResult(item.label, item.kind, False,
                                             f"its checkpoint is for origin {cp.origin!r}, not {origin!r}", cp.size, count))
                continue
            heads.append((item, cp.size, cp.root))
        # One pass over the record bytes: roots at every claimed size and at the current size, and the nodes
        # of the consistency proofs from each claimed size to the current one.
        olds = sorted({n for _, n, _ in heads if 0 < n <= count})
        keep = nodes_needed(count, lambda t: [t.consistency_proof(n, count) for n in olds]) if count else set()
        edge, roots = RightEdge(keep), {0: edge_root_empty()}
        wanted = {s for item, _, _ in heads for s in item.records if 0 < s <= count}
        seen: dict[int, bytes] = {}
        last = 0
        while last < count:
            rows = conn.execute(sa.select(events.c.seq, events.c.record).where(events.c.seq > last)
                                .order_by(events.c.seq).limit(20000)).all()
            if not rows:
                break
            for r in rows:
                record = bytes(r.record)
                edge.add(leaf_hash(record))
                if r.seq in wanted:
                    seen[r.seq] = record
                if edge.size in olds:
                    roots[edge.size] = edge.root()
            last = rows[-1].seq
        current = edge.root()
    for item, n, root in heads:
        res = AgainstResult(item.label, item.kind, False, "", n, count)
        diff = next((s for s in sorted(item.records) if s in seen and seen[s] != item.records[s]), None)
        missing = next((s for s in sorted(item.records) if s > count), None)
        if diff is not None:
            res.first_diff_seq = diff
        if n > count:
            res.fork = True
            res.message = (f"FORK: the authority signed a checkpoint of {n} events, but this ledger has only {count}: "
                           f"events {count + 1}–{n} were removed")
        elif n == 0:
            res.ok, res.message = True, "the empty checkpoint is extended by any ledger"
        else:
            proof = answer_from(count, edge.kept, lambda t: t.consistency_proof(n, count))
            if roots.get(n) == root and verify_consistency(n, count, proof, root, current):
                res.ok = True
                res.message = f"the ledger (size {count}) extends the checkpoint of size {n} (consistency proof verified)"
            else:
                res.fork = True
                where = f"; seq {diff} differs: it held {_describe(item.records[diff])}, the ledger now holds " \
                        f"{_describe(seen[diff])}" if diff is not None else ""
                res.message = (f"FORK: the ledger (size {count}) does not extend the checkpoint the authority signed "
                               f"at size {n} (root {base64.b64encode(root).decode()}); its first {n} events are not "
                               f"the ones shown then{where}")
        if res.ok and (diff is not None or missing is not None):
            res.ok, res.fork = False, True
            res.message = f"FORK: seq {diff or missing} in the file is not the ledger's record there"
        results.append(res)
    order = {i.label: k for k, i in enumerate(items)}
    results.sort(key=lambda r: order.get(r.label, 0))
    return results


def edge_root_empty() -> bytes:
    from .merkle import EMPTY_ROOT

    return EMPTY_ROOT
