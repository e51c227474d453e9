"""Evidence bundles: one stream's events, checkable by an outsider with no access to the database.

A bundle is one JSON file holding the stream's records exactly as stored, every key event those
records depend on, the authority's public key, a checkpoint signed by that key, and an inclusion
proof of each record to the checkpoint. :func:`verify_bundle` checks it from the file alone. The
format is specified byte for byte in ``docs/evidence-bundle.md`` so others can write their own
verifier; keep the two in step.

What a bundle proves: every included record is in the ledger the authority signed, unaltered, signed
by a key that was registered, unrevoked and held a suitable role at that position (as far as the
included key events show), and the stream's versions 1..n are all present. What it cannot prove
alone: that no later event of the stream exists beyond the stated head, or that no key event outside
the bundle (say, a revocation) was left out — both would need the rest of the ledger. And the
``roles`` map comes from the exporting installation's plugins: a verifier should compare it with the
published plugin versions.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from . import identity, keys, timefmt
from .checkpoint import CheckpointError, key_hash, open_note, parse_checkpoint
from .checkpoints import authority_key, create_checkpoint, latest_checkpoint, note_key_name
from .envelope import GENESIS_PREV, decode_record, decode_statement, leaf_hash
from .errors import AuthorizationError, LedgerError, ValidationError
from .identity import KEYS_STREAM, KeyRegistry
from .merkle import verify_inclusion
from .signing import Signer

if TYPE_CHECKING:
    from .ledger import Event, Ledger

FORMAT = "tilsyn-evidence-bundle"
VERSION = 1


class BundleFormatError(LedgerError):
    """The data is not a readable evidence bundle at all (not JSON, another format or version)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _key_closure(stream_events: list["Event"], key_events: list["Event"]) -> dict[int, "Event"]:
    """The key events the stream's signatures depend on: genesis, and every key event about a key
    that signed an included event — transitively, since key events are signed by admin keys too."""
    about: dict[str, list[Event]] = defaultdict(list)
    for e in key_events:
        if e.type == identity.GENESIS:
            about[e.statement.key_id].append(e)
        elif e.type in identity.KEY_EVENT_TYPES and isinstance(e.payload.get("key_id"), str):
            about[e.payload["key_id"]].append(e)
    included = {e.seq: e for e in key_events if e.type == identity.GENESIS}
    todo = {e.statement.key_id for e in stream_events} | {e.statement.key_id for e in included.values()}
    done: set[str] = set()
    while todo:
        kid = todo.pop()
        done.add(kid)
        for e in about.get(kid, ()):
            included[e.seq] = e
            if e.statement.key_id not in done:
                todo.add(e.statement.key_id)
    return included


def export_bundle(ledger: "Ledger", stream: str, signer_for_checkpoint: Signer | None = None) -> bytes:
    """Write the evidence bundle of ``stream`` (e.g. ``tilbud/T-1001``) and return its bytes (UTF-8 JSON).

    Uses the latest signed checkpoint; if none covers the stream's last event, one is created with
    ``signer_for_checkpoint`` (the authority), or :class:`LedgerError` is raised when none is given.
    """
    stream_events = list(ledger.read(stream=stream))
    if not stream_events:
        raise LedgerError(f"stream {stream!r} has no events; nothing to export")
    last_seq = stream_events[-1].seq
    key_events = list(ledger.read(stream=KEYS_STREAM, until_seq=last_seq))
    included = {e.seq: e for e in stream_events} | _key_closure(stream_events, key_events)
    if 1 not in included:
        raise LedgerError("the ledger has no genesis event at seq 1")
    cp = latest_checkpoint(ledger)
    if cp is None or cp.size < last_seq:
        if signer_for_checkpoint is None:
            have = f"the latest covers {cp.size} events" if cp else "there is none"
            raise LedgerError(f"no signed checkpoint covers seq {last_seq} ({have}); create one with "
                              "'tilsyn checkpoint' as the authority, or export as the authority")
        cp = create_checkpoint(ledger, signer_for_checkpoint)
    if ledger.tree.root(cp.size) != cp.root:
        raise LedgerError(f"checkpoint #{cp.id} does not match this ledger's tree; run 'tilsyn verify'")
    seqs = sorted(included)
    proofs = ledger.tree.inclusion_proofs(seqs, cp.size)
    genesis = authority_key(ledger)
    roles = {t: sorted(ledger.policy.get(t).roles) for t in sorted({included[s].type for s in seqs})}
    bundle = {
        "format": FORMAT,
        "version": VERSION,
        "origin": ledger.origin,
        "stream": stream,
        "exported_at": timefmt.now(),
        "authority": {"name": genesis.actor, "key_id": genesis.key_id, "public_key": _b64(genesis.public_key),
                      "note_key_name": note_key_name(ledger.origin)},
        "checkpoint": {"size": cp.size, "root": _b64(cp.root), "note": cp.note},
        "stream_head": {"version": stream_events[-1].statement.stream_version, "seq": last_seq},
        "roles": roles,
        "records": [{"seq": s, "record": _b64(included[s].record_bytes), "proof": [_b64(p) for p in proofs[s]]}
                    for s in seqs],
    }
    return (json.dumps(bundle, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


# -- verification ------------------------------------------------------------------------------
@dataclass(frozen=True)
class BundleProblem:
    """One thing wrong with a bundle; ``seq`` is ``None`` for the bundle as a whole."""

    seq: int | None
    message: str


@dataclass
class BundleReport:
    """The outcome of :func:`verify_bundle`."""

    stream: str = ""
    origin: str = ""
    authority: str = ""
    checkpoint_size: int = 0
    checkpoint_root: str = ""
    events: int = 0
    key_events: int = 0
    problems: list[BundleProblem] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def reason(self) -> str | None:
        """The first problem as one line, or ``None``."""
        if not self.problems:
            return None
        p = self.problems[0]
        return p.message if p.seq is None else f"seq {p.seq}: {p.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason, "stream": self.stream, "origin": self.origin,
                "authority": self.authority, "checkpoint_size": self.checkpoint_size,
                "checkpoint_root": self.checkpoint_root, "events": self.events, "key_events": self.key_events,
                "problems": [{"seq": p.seq, "message": p.message} for p in self.problems], "checked": self.checked}


class _Bad(Exception):
    pass


def _field(obj: Any, name: str, kind: type) -> Any:
    value = obj.get(name) if isinstance(obj, dict) else None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Bad(f"field {name!r} is missing or not a {kind.__name__}")
    return value


def _unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise _Bad(f"{what} is not a base64 string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise _Bad(f"{what} is not valid base64") from None
    if _b64(raw) != text:
        raise _Bad(f"{what} is not canonical base64")
    return raw


def verify_bundle(data: bytes) -> BundleReport:
    """Check an evidence bundle with no database; return a :class:`BundleReport` (``ok`` or problems).

    Raises :class:`BundleFormatError` only if ``data`` is not a readable bundle of a known version.
    The checks, in the order ``docs/evidence-bundle.md`` gives them: the authority key and checkpoint
    note signature; each record's leaf hash and inclusion proof; the genesis key; each statement's
    signature and its key's validity and role at that seq; the stream's versions 1..n; prev links.
    """
    try:
        doc = json.loads(data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BundleFormatError(f"not a JSON file ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BundleFormatError(f"not an evidence bundle (format is not {FORMAT!r})")
    if doc.get("version") != VERSION:
        raise BundleFormatError(f"unsupported bundle version {doc.get('version')!r}; this verifier reads {VERSION}")
    report = BundleReport()
    try:
        _verify(doc, report)
    except _Bad as e:
        report.problems.insert(0, BundleProblem(None, f"malformed bundle: {e}"))
    report.checked = ["checkpoint signature", "inclusion proofs", "statement signatures", "key validity and roles",
                      "stream versions", "prev links"]
    return report


def _verify(doc: dict, report: BundleReport) -> None:
    problems = report.problems

    def bad(seq: int | None, message: str) -> None:
        problems.append(BundleProblem(seq, message))

    # 1. The authority key and the checkpoint it signed.
    report.origin = origin = _field(doc, "origin", str)
    report.stream = stream = _field(doc, "stream", str)
    auth = _field(doc, "authority", dict)
    report.authority = _field(auth, "name", str)
    auth_pub = _unb64(auth.get("public_key"), "authority.public_key")
    key_name = _field(auth, "note_key_name", str)
    cpd = _field(doc, "checkpoint", dict)
    size, root = -1, b""
    try:
        if len(auth_pub) != 32:
            raise CheckpointError("the authority public key is not 32 bytes")
        if _field(auth, "key_id", str) != keys.key_id(auth_pub):
            bad(None, "authority.key_id does not match authority.public_key")
        key_hash(key_name, auth_pub)  # validates the key name
        body = parse_checkpoint(open_note(_field(cpd, "note", str), key_name, auth_pub))
        if body.origin != origin:
            bad(None, f"the checkpoint is for origin {body.origin!r}, not {origin!r}")
        size, root = body.size, body.root
        if cpd.get("size") != size or cpd.get("root") != _b64(root):
            bad(None, "checkpoint.size/root differ from the signed note")
        report.checkpoint_size, report.checkpoint_root = size, root.hex()
    except CheckpointError as e:
        bad(None, f"the checkpoint signature does not verify under the authority key: {e}")
    roles = _field(doc, "roles", dict)
    head = _field(doc, "stream_head", dict)
    records = _field(doc, "records", list)
    if not records:
        raise _Bad("no records")
    # 2. Each record: bytes, leaf hash, inclusion in the signed tree.
    decoded = []  # (seq, leaf, record, statement)
    last_seq = 0
    for i, item in enumerate(records):
        seq = _field(item, "seq", int)
        raw = _unb64(item.get("record"), f"records[{i}].record")
        proof = [_unb64(p, f"records[{i}].proof") for p in _field(item, "proof", list)]
        if seq <= last_seq:
            bad(seq, "records are not in strictly increasing seq order")
        last_seq = max(last_seq, seq)
        leaf = leaf_hash(raw)
        try:
            rec = decode_record(raw)
            stmt = decode_statement(rec.statement)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            bad(seq, f"the record bytes do not decode ({e})")
            continue
        if rec.seq != seq:
            bad(seq, f"the record names seq {rec.seq}")
        if size >= 0 and not verify_inclusion(leaf, seq - 1, size, proof, root):
            why = (f"it lies beyond the checkpoint's {size} events" if seq > size
                   else "the record, its proof or the checkpoint was changed")
            bad(seq, f"the inclusion proof does not verify against the checkpoint root at size {size} ({why})")
        if stmt.stream not in (stream, KEYS_STREAM):
            bad(seq, f"the record belongs to stream {stmt.stream!r}, neither {stream!r} nor the key stream")
        decoded.append((seq, leaf, rec, stmt))
    # 3. Keys: the genesis key must be the authority key; then fold key events in seq order.
    if not decoded or decoded[0][0] != 1 or decoded[0][3].type != identity.GENESIS:
        bad(None, "the genesis event (seq 1) is missing")
    else:
        g = decoded[0][3]
        if g.payload.get("public_key") != _b64(auth_pub) or g.payload.get("origin") != origin:
            bad(1, "the genesis event names another authority key or origin than the bundle")
    registry = KeyRegistry()
    versions: list[tuple[int, int]] = []
    prev: tuple[int, bytes] | None = None
    prev_recorded = ""
    for seq, leaf, rec, stmt in decoded:
        try:
            if stmt.type == identity.GENESIS:
                registry.apply(seq, stmt)
            wanted = roles.get(stmt.type)
            if not isinstance(wanted, list):
                raise ValidationError(f"the bundle's roles map has no entry for {stmt.type}")
            info = registry.authorize(stmt, frozenset(wanted))
            if not keys.verify(info.public_key, rec.signature, rec.statement):
                bad(seq, f"the signature does not verify over the statement bytes under key {info.key_id}")
            if stmt.type != identity.GENESIS:
                registry.apply(seq, stmt)
        except (AuthorizationError, ValidationError) as e:
            bad(seq, str(e))
        if stmt.stream == stream:
            versions.append((seq, stmt.stream_version))
        # 4. Chain links where neighbours are both present.
        if seq == 1 and rec.prev != GENESIS_PREV:
            bad(seq, "the genesis record's prev is not all zeros")
        if prev is not None and prev[0] == seq - 1 and rec.prev != prev[1].hex():
            bad(seq, f"prev does not match the leaf hash of seq {seq - 1}")
        if rec.recorded_at < prev_recorded:
            bad(seq, "recorded_at is earlier than that of an earlier record")
        prev, prev_recorded = (seq, leaf), max(prev_recorded, rec.recorded_at)
    # 5. The stream: versions 1..n without gaps, ending at the stated head.
    report.events = len(versions)
    report.key_events = len(decoded) - report.events if stream != KEYS_STREAM else 0
    for n, (seq, v) in enumerate(versions, 1):
        if v != n:
            bad(seq, f"stream {stream} jumps from version {n - 1} to {v} (an event is missing)")
            break
    if versions and (head.get("version") != versions[-1][1] or head.get("seq") != versions[-1][0]):
        bad(None, f"the stream ends at version {versions[-1][1]} (seq {versions[-1][0]}), not at the stated "
                  f"head (version {head.get('version')}, seq {head.get('seq')}): events are missing")
    if not versions:
        bad(None, f"the bundle holds no events of stream {stream}")
    problems.sort(key=lambda p: (p.seq is not None, p.seq or 0))
