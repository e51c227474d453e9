"""Evidence bundles: one stream's events, complete and checkable by an outsider with no database.

A bundle is one JSON file holding, exactly as stored and each with its inclusion proof to one signed
checkpoint: every event of its stream, every key event (``ledger/keys``) and every rules event
(``ledger/policy``) up to the checkpoint, and the ``ledger.StreamHeads/1`` event that is the
checkpoint's last leaf (heads.py). The heads map entries of those streams, with their proofs, show
that each stream ends exactly where the bundle says: nothing cut, nothing dropped, and the checkpoint
is the one the heads belong to. :func:`verify_bundle` checks all of it strictly (one byte string, one
meaning: see strictjson.py and ``docs/evidence-bundle.md``, which specifies the format byte for byte so
that others can write their own verifier — keep the two in step).

What a valid bundle proves: the stream, the keys and the rules in force are complete as of checkpoint
*N* (the N-th StreamHeads event) at size *S*; every record is unaltered at its position in the tree the
ledger key signed; each was signed by a key registered, unrevoked and holding a role the rules in force
required at that position. What it cannot prove alone: that the ledger has not since been forked —
compare the checkpoint with witnesses, receipts or a later bundle (``verify --against``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import heads as heads_mod
from . import identity, timefmt
from .checkpoint import CheckpointError, note_key_name, open_note, parse_checkpoint
from .envelope import (_ACTOR, _STREAM, _TYPE, GENESIS_PREV, decode_record, decode_statement, encode_record,
                       encode_statement, leaf_hash)
from .errors import AuthorizationError, LedgerError, StoreError, ValidationError
from .heads import HEADS_STREAM, STREAM_HEADS, Head, heads_as_of
from .identity import KEYS_STREAM, KeyRegistry
from .merkle import verify_inclusion
from .origin import origin_problem
from .rules import POLICY_STREAM, RULES_IN_FORCE, RULES_SIGNERS, decode_rules
from .sigcheck import EarlyChecks
from .signing import Signer
from .strictjson import MAX_SAFE_INTEGER, StrictJSONError, loads

if TYPE_CHECKING:
    from .ledger import Event, Ledger

FORMAT = "tilsyn-evidence-bundle"
VERSION = 2
COMPLETE_STREAMS = (KEYS_STREAM, POLICY_STREAM)
"""Streams every bundle holds in full besides its own: the keys and the rules in force."""

_HEX64 = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_COSIGNATURE_TYPE = b"\x04"


class BundleFormatError(LedgerError):
    """The data is not a readable evidence bundle at all (not strict JSON, another format or version)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- export ------------------------------------------------------------------------------------
def _current_checkpoint(ledger: "Ledger", signer: Signer | None):
    """The checkpoint to prove against: the latest, if it ends at the ledger's last event (a StreamHeads
    event) and checks against the verified records; else a new one signed by ``signer``. A bundle proved
    against an older checkpoint would leave out whatever came after it — a revocation, say — so that is
    refused."""
    from .checkpoints import covering_checkpoint, create_checkpoint, latest_checkpoint  # the database side

    cp = covering_checkpoint(ledger)
    if cp is not None:
        return cp
    if signer is None:
        last, head = latest_checkpoint(ledger), ledger.head()
        have = f"the latest covers {last.size} of {head.seq} events" if last else "there is none"
        raise LedgerError(f"no signed checkpoint covers the whole ledger ({have}); create one with "
                          "'tilsyn checkpoint' in the authority's key home, or export there")
    return create_checkpoint(ledger, signer)


def export_bundle(ledger: "Ledger", stream: str, signer_for_checkpoint: Signer | None = None,
                  *, exported_at: str | None = None) -> bytes:
    """The evidence bundle of ``stream`` as bytes (see :func:`export_checked`, which also gives its report)."""
    return export_checked(ledger, stream, signer_for_checkpoint, exported_at=exported_at)[0]


def export_checked(ledger: "Ledger", stream: str, signer_for_checkpoint: Signer | None = None,
                   *, exported_at: str | None = None) -> tuple[bytes, "BundleReport"]:
    """Write the evidence bundle of ``stream`` (e.g. ``tilbud/T-1001``): its bytes (UTF-8 JSON) and the
    report of the verification it passed before it was handed out (a caller needs no second one).

    Proves against the latest checkpoint if it covers the whole ledger; otherwise one is created with
    ``signer_for_checkpoint`` (the ledger's log key, :meth:`Ledger.log_signer`), or :class:`LedgerError` is raised when none is given.
    Only verified records go in, proved against a checkpoint checked against the verified records (the
    Merkle cache is rebuilt if a proof from it fails); the bundle is verified before it is returned:
    what is handed out is only what checks. Damage raises :class:`DamagedError`.
    """
    if ledger.stream_version(stream) == 0:
        raise LedgerError(f"stream {stream!r} has no events; nothing to export")
    cp = _current_checkpoint(ledger, signer_for_checkpoint)
    size = cp.size
    streams = sorted({stream, *COMPLETE_STREAMS})
    included: dict[int, "Event"] = {}
    for name in streams:
        for e in ledger.read(stream=name, until_seq=size):
            included[e.seq] = e
    heads_event = next(ledger.read(after_seq=size - 1, until_seq=size))
    included[size] = heads_event
    try:
        with ledger.store.reading() as conn:
            heads_map = heads_mod.HeadsMap(heads_as_of(conn, size - 1))
        _, committed = heads_mod.decode_payload(heads_event.payload)
    except (StoreError, ValueError) as e:
        raise ledger.locate_damage(f"the StreamHeads event at seq {size} cannot be checked ({e})") from None
    if committed != heads_map.root():
        raise ledger.locate_damage(f"the StreamHeads event at seq {size} does not match the events")
    seqs = sorted(included)
    from .checkpoints import verified_proofs

    proofs = verified_proofs(ledger, cp, {s: included[s].leaf_hash for s in seqs})
    entries = []
    for name in sorted(streams, key=lambda s: heads_map.index.get(s, -1)):
        h = heads_map.heads.get(name)
        if h is None:
            raise LedgerError(f"stream {name!r} has no events before checkpoint #{cp.id}; nothing to prove")
        entries.append({"stream": name, "version": h.version, "seq": h.seq, "leaf": h.leaf.hex(),
                        "index": heads_map.index[name], "proof": [_b64(p) for p in heads_map.proof(name)]})
    from .witnessing import cosigned_note

    note = cosigned_note(ledger, cp)  # the witnesses' cosignature lines travel with the note
    bundle = {
        "format": FORMAT,
        "version": VERSION,
        "origin": ledger.origin,
        "stream": stream,
        "exported_at": exported_at or timefmt.now(),
        "checkpoint": note,
        "heads": entries,
        "records": [{"seq": s, "record": _b64(included[s].record_bytes), "proof": [_b64(p) for p in proofs[s]]}
                    for s in seqs],
    }
    data = encode_bundle(bundle)
    report = verify_bundle(data)
    if not report.ok:
        raise ledger.locate_damage(f"the bundle of {stream} does not verify ({report.reason})")
    return data, report


def encode_bundle(bundle: dict[str, Any]) -> bytes:
    """The file form of a bundle: UTF-8 JSON, one member per line at the top (any layout would do)."""
    import json

    return (json.dumps(bundle, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


# -- verification ------------------------------------------------------------------------------
@dataclass(frozen=True)
class BundleProblem:
    """One thing wrong with a bundle; ``seq`` is ``None`` for the bundle as a whole."""

    seq: int | None
    message: str


@dataclass
class BundleReport:
    """The outcome of :func:`verify_bundle`; when ``ok``, what it proves is in :meth:`proves`."""

    stream: str = ""
    origin: str = ""
    authority: str = ""
    checkpoint_number: int = 0
    checkpoint_size: int = 0
    checkpoint_root: str = ""
    signed_at: str = ""
    signed_at_source: str = ""
    events: int = 0
    key_events: int = 0
    policy_events: int = 0
    stream_head: dict[str, int] = field(default_factory=dict)
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

    def proves(self) -> str:
        """What a valid bundle proves, in one sentence (times as canonical UTC; the CLI shows local time)."""
        return (f"{self.stream}: {self.events} events, complete with {self.key_events} key events and "
                f"{self.policy_events} rules events as of checkpoint {self.checkpoint_number}, size "
                f"{self.checkpoint_size}, signed at {self.signed_at}")

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason, "stream": self.stream, "origin": self.origin,
                "authority": self.authority, "complete_as_of": {
                    "checkpoint": self.checkpoint_number, "size": self.checkpoint_size,
                    "root": self.checkpoint_root, "signed_at": self.signed_at,
                    "signed_at_source": self.signed_at_source} if self.ok else None,
                "checkpoint_size": self.checkpoint_size, "checkpoint_root": self.checkpoint_root,
                "events": self.events, "key_events": self.key_events, "policy_events": self.policy_events,
                "stream_head": self.stream_head,
                "problems": [{"seq": p.seq, "message": p.message} for p in self.problems], "checked": self.checked}


class _Bad(Exception):
    """The bundle's structure is wrong; nothing further can be checked."""


def _members(obj: Any, what: str, spec: dict[str, type]) -> dict[str, Any]:
    """``obj`` as an object with exactly the members of ``spec``, each of exactly its type."""
    if not isinstance(obj, dict):
        raise _Bad(f"{what} is not a JSON object")
    missing = [k for k in spec if k not in obj]
    extra = [k for k in obj if k not in spec]
    if missing:
        raise _Bad(f"{what} lacks the member {missing[0]!r}")
    if extra:
        raise _Bad(f"{what} has the unknown member {extra[0]!r}")
    for name, kind in spec.items():
        value = obj[name]
        if kind is int:
            if type(value) is not int or not 0 <= value <= MAX_SAFE_INTEGER:
                raise _Bad(f"{what}.{name} is not an integer from 0 to 2^53−1")
        elif not isinstance(value, kind):
            raise _Bad(f"{what}.{name} is not a JSON {'array' if kind is list else kind.__name__}")
    return obj


def _unb64(text: Any, what: str, size: int | None = None) -> bytes:
    if not isinstance(text, str):
        raise _Bad(f"{what} is not a base64 string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise _Bad(f"{what} is not valid base64") from None
    if _b64(raw) != text:
        raise _Bad(f"{what} is not canonical base64")
    if size is not None and len(raw) != size:
        raise _Bad(f"{what} is {len(raw)} bytes, not {size}")
    return raw


def _payload_problem(value: Any, path: str) -> str | None:
    """Why a decoded payload value could not have been signed by this ledger (floats, big integers, text
    not in NFC), or ``None``."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if abs(value) <= MAX_SAFE_INTEGER else f"{path} is an integer outside ±(2^53−1)"
    if isinstance(value, float):
        return f"{path} is a floating-point number"
    if isinstance(value, str):
        return None if unicodedata.is_normalized("NFC", value) else f"{path} is text not in Unicode NFC"
    if isinstance(value, list):
        for i, v in enumerate(value):
            if (p := _payload_problem(v, f"{path}[{i}]")) is not None:
                return p
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            if not unicodedata.is_normalized("NFC", k):
                return f"{path} has a key not in Unicode NFC"
            if (p := _payload_problem(v, f"{path}.{k}")) is not None:
                return p
        return None
    return f"{path} is not a JSON value"


def _decode_canonical(raw: bytes):
    """Decode record bytes and their statement, refusing any form this ledger would not have written."""
    try:
        rec = decode_record(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise ValueError(f"the record bytes do not decode ({e})") from None
    if encode_record(rec) != raw:
        raise ValueError("the record bytes are not canonical (member order, unknown or repeated members, "
                         "escapes, whitespace or base64 differ from the one encoding)")
    try:
        stmt = decode_statement(rec.statement)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise ValueError(f"the statement bytes do not decode ({e})") from None
    if encode_statement(stmt) != rec.statement:
        raise ValueError("the statement bytes are not canonical (member order, unsorted, unknown or repeated "
                         "members, escapes or whitespace differ from the one encoding)")
    if not 1 <= rec.seq <= MAX_SAFE_INTEGER or not 1 <= stmt.stream_version <= MAX_SAFE_INTEGER:
        raise ValueError("seq or stream_version is not an integer from 1 to 2^53−1")
    if not timefmt.is_canonical(rec.recorded_at) or not timefmt.is_canonical(stmt.occurred_at):
        raise ValueError("recorded_at or occurred_at is not a 27-character RFC 3339 UTC timestamp")
    if not _HEX64.fullmatch(rec.prev):
        raise ValueError("prev is not 64 lowercase hex digits")
    if len(rec.signature) != 64:
        raise ValueError("the signature is not 64 bytes")
    if not _KEY_ID.fullmatch(stmt.key_id):
        raise ValueError("key_id is not 16 lowercase hex digits")
    for name in ("stream", "type", "actor"):
        if not unicodedata.is_normalized("NFC", getattr(stmt, name)):
            raise ValueError(f"the statement's {name} is not in Unicode NFC")
    if not _STREAM.match(stmt.stream) or not _TYPE.match(stmt.type) or not _ACTOR.match(stmt.actor):
        raise ValueError("the statement's stream, type or actor is not of the allowed form")
    problem = _payload_problem(stmt.payload, "payload")
    if problem:
        raise ValueError(problem)
    return rec, stmt


class _Signed(msgspec.Struct, frozen=True):
    """A record's statement, signature and signed bytes, as the early signature checks take them."""

    statement: Any
    signature: bytes
    data: bytes


class _NamedKey(msgspec.Struct, frozen=True):
    public_key: bytes


def _named_keys(decoded: list) -> dict[str, _NamedKey]:
    """Every ``key_id`` → public key that a key event of the bundle names, unchecked: only a guess at which
    key will be authorised, so checks can start early (the walk authorises, and re-verifies on a miss)."""
    out: dict[str, _NamedKey] = {}

    def note(entry: Any) -> None:
        if isinstance(entry, dict) and isinstance(entry.get("key_id"), str) and isinstance(entry.get("public_key"), str):
            try:
                out.setdefault(entry["key_id"], _NamedKey(base64.b64decode(entry["public_key"], validate=True)))
            except (binascii.Error, ValueError):
                pass

    for _, _, _, _, stmt, _ in decoded:
        if stmt.stream == KEYS_STREAM and isinstance(stmt.payload, dict):
            note(stmt.payload)
            for value in stmt.payload.values():
                note(value)  # a nested key, such as the genesis event's log key
    return out


def _signed_time(note: str, name: str, public_key: bytes, body: str) -> int | None:
    """The POSIX time of the log key's own ``cosignature/v1`` line (C2SP tlog-cosignature), if any.

    Raises _Bad if such a line (the log key's name and type-0x04 key hash) does not verify, or if there
    are two: a forged time is no time, and two times are two readings of "signed at".
    """
    kid = hashlib.sha256(name.encode("utf-8") + b"\n" + _COSIGNATURE_TYPE + public_key).digest()[:4]
    verifier = Ed25519PublicKey.from_public_bytes(public_key)
    found = None
    for line in note[note.rfind("\n\n") + 2:].splitlines():
        key_name, _, sig = line[2:].partition(" ")
        if key_name != name:
            continue
        try:
            blob = base64.b64decode(sig, validate=True)
        except binascii.Error:
            continue
        if blob[:4] != kid:
            continue
        if found is not None:
            raise _Bad("the checkpoint carries the ledger key's signed time twice")
        (ts,) = struct.unpack(">Q", blob[4:12]) if len(blob) == 4 + 8 + 64 else (None,)
        try:
            if ts is None:
                raise InvalidSignature
            verifier.verify(blob[12:], f"cosignature/v1\ntime {ts}\n{body}".encode("utf-8"))
        except InvalidSignature:
            raise _Bad("the ledger key's signed time (its cosignature/v1 line) does not verify") from None
        found = ts
    return found


def _claimed_size(note: str) -> int:
    """The tree size a note's text names, unverified (only to pick the log key to verify it with)."""
    from .checkpoint import _split_note

    try:
        return parse_checkpoint(_split_note(note)[0]).size
    except (CheckpointError, ValueError):
        return 0


def verify_bundle(data: bytes) -> BundleReport:
    """Check an evidence bundle with no database; return a :class:`BundleReport` (``ok`` or problems).

    Raises :class:`BundleFormatError` only if ``data`` is not strict JSON or not a bundle of a known
    version. The checks, in the order ``docs/evidence-bundle.md`` §7 gives them.
    """
    try:
        doc = loads(data)
    except StrictJSONError as e:
        raise BundleFormatError(f"not a strict JSON file ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BundleFormatError(f"not an evidence bundle (format is not {FORMAT!r})")
    if type(doc.get("version")) is not int or doc["version"] != VERSION:
        raise BundleFormatError(f"unsupported bundle version {doc.get('version')!r}; this verifier reads {VERSION}")
    report = BundleReport()
    try:
        _verify(doc, report)
    except _Bad as e:
        report.problems.insert(0, BundleProblem(None, f"malformed bundle: {e}"))
    report.checked = ["strict form", "checkpoint signature", "inclusion proofs", "stream heads",
                      "completeness of the stream, keys and rules", "statement signatures",
                      "key validity and roles under the rules in force", "prev links"]
    return report


def _verify(doc: dict, report: BundleReport) -> None:
    problems = report.problems

    def bad(seq: int | None, message: str) -> None:
        problems.append(BundleProblem(seq, message))

    _members(doc, "the bundle", {"format": str, "version": int, "origin": str, "stream": str, "exported_at": str,
                                 "checkpoint": str, "heads": list, "records": list})
    report.origin = origin = doc["origin"]
    report.stream = stream = doc["stream"]
    if not timefmt.is_canonical(doc["exported_at"]):
        raise _Bad("exported_at is not a 27-character RFC 3339 UTC timestamp")
    if (why := origin_problem(origin)) is not None:
        raise _Bad(f"origin: {why}")
    if not _STREAM.match(stream) or not unicodedata.is_normalized("NFC", stream) or stream == HEADS_STREAM:
        raise _Bad(f"stream {stream!r} is not a stream a bundle can be about")

    # 1. Records: strict form, canonical bytes, ascending seqs.
    decoded = []  # (seq, raw, leaf, rec, stmt, proof)
    last_seq = 0
    for i, item in enumerate(doc["records"]):
        _members(item, f"records[{i}]", {"seq": int, "record": str, "proof": list})
        seq = item["seq"]
        if seq <= last_seq:
            raise _Bad(f"records[{i}]: seq {seq} does not follow seq {last_seq} (ascending, no repeats)")
        last_seq = seq
        raw = _unb64(item["record"], f"records[{i}].record")
        proof = [_unb64(p, f"records[{i}].proof[{j}]", 32) for j, p in enumerate(item["proof"])]
        try:
            rec, stmt = _decode_canonical(raw)
        except ValueError as e:
            bad(seq, str(e))
            continue
        if rec.seq != seq:
            bad(seq, f"the record names seq {rec.seq}")
            continue
        decoded.append((seq, raw, leaf_hash(raw), rec, stmt, proof))
    if not decoded:
        raise _Bad("no readable records")
    by_seq = {d[0]: d for d in decoded}

    # 2. Genesis: the origin, the authority and the key the checkpoint must be signed with.
    genesis = by_seq.get(1)
    if genesis is None or genesis[4].type != identity.GENESIS or genesis[4].stream != KEYS_STREAM:
        raise _Bad("the genesis event (seq 1) is missing")
    gp = genesis[4].payload
    report.authority = genesis[4].actor
    if gp.get("origin") != origin:
        bad(1, f"the genesis event names origin {gp.get('origin')!r}, not the bundle's {origin!r}")
    if gp.get("authority") != genesis[4].actor:
        bad(1, "the genesis event's authority is not its signer")
    log = gp.get("log_key")
    log_b64 = log.get("public_key", "") if isinstance(log, dict) else ""
    # The log key the checkpoint claims: the genesis one, handed over by each rotation before the
    # checkpoint's size (the rotations' signatures and proofs are checked with every key event in step 7).
    size_claimed = _claimed_size(doc["checkpoint"])
    for seq, raw, leaf, rec, stmt, proof in decoded:
        if (stmt.stream == KEYS_STREAM and stmt.type == identity.LEDGER_KEY_ROTATED and seq < size_claimed
                and stmt.payload.get("previous_key_id") == stmt.key_id and isinstance(stmt.payload.get("public_key"), str)):
            log_b64 = stmt.payload["public_key"]
    try:
        log_pub = base64.b64decode(log_b64, validate=True) if isinstance(log_b64, str) else b""
    except (binascii.Error, TypeError, ValueError):
        log_pub = b""
    if len(log_pub) != 32 or _b64(log_pub) != log_b64:
        raise _Bad("the ledger's log key (genesis log_key or its rotation) is not canonical base64 of 32 bytes")

    # 3. The checkpoint, signed under the key name that is the origin.
    key_name = note_key_name(origin)
    try:
        body_text = open_note(doc["checkpoint"], key_name, log_pub)
        body = parse_checkpoint(body_text)
    except CheckpointError as e:
        raise _Bad(f"the checkpoint does not verify under the ledger's key ({e})") from None
    if body.extensions:
        bad(None, "the checkpoint has extension lines; this format has none")
    if body.origin != origin:
        bad(None, f"the checkpoint is for origin {body.origin!r}, not {origin!r}")
    size, root = body.size, body.root
    report.checkpoint_size, report.checkpoint_root = size, root.hex()

    # 4. Inclusion of every record in the signed tree.
    for seq, raw, leaf, rec, stmt, proof in decoded:
        if not verify_inclusion(leaf, seq - 1, size, proof, root):
            why = (f"it lies beyond the checkpoint's {size} events" if seq > size
                   else "the record, its proof or the checkpoint was changed")
            bad(seq, f"the inclusion proof does not verify against the checkpoint root at size {size} ({why})")

    # 5. The checkpoint's last leaf is the StreamHeads event the heads entries are proved against.
    heads_rec = by_seq.get(size)
    if heads_rec is None or heads_rec[4].type != STREAM_HEADS or heads_rec[4].stream != HEADS_STREAM:
        raise _Bad(f"the record at the checkpoint's size (seq {size}) is not its StreamHeads event: the "
                   "checkpoint is not the one the bundle's streams were committed under")
    try:
        hp, map_root = heads_mod.decode_payload(heads_rec[4].payload)
    except ValueError as e:
        raise _Bad(str(e)) from None
    if hp.size != size - 1:
        bad(size, f"the StreamHeads event describes {hp.size} records, not the {size - 1} before it")
    report.checkpoint_number = heads_rec[4].stream_version
    wanted = sorted({stream, *COMPLETE_STREAMS})
    committed: dict[str, Head] = {}
    for i, entry in enumerate(doc["heads"]):
        _members(entry, f"heads[{i}]", {"stream": str, "version": int, "seq": int, "leaf": str, "index": int,
                                        "proof": list})
        name = entry["stream"]
        if name in committed:
            raise _Bad(f"heads names stream {name!r} twice")
        if not _HEX64.fullmatch(entry["leaf"]):
            raise _Bad(f"heads[{i}].leaf is not 64 lowercase hex digits")
        head = Head(entry["version"], entry["seq"], bytes.fromhex(entry["leaf"]))
        proof = [_unb64(p, f"heads[{i}].proof[{j}]", 32) for j, p in enumerate(entry["proof"])]
        if not heads_mod.verify_entry(name, head, entry["index"], hp.streams, proof, map_root):
            bad(None, f"the heads entry of {name} does not verify against the StreamHeads event at seq {size}")
        committed[name] = head
    if sorted(committed) != wanted:
        raise _Bad(f"heads must hold exactly the streams {', '.join(wanted)}, not {', '.join(sorted(committed)) or 'none'}")

    # 6. Completeness: each stream's records are versions 1..v ending at exactly the committed record.
    in_stream: dict[str, list[tuple[int, int, bytes]]] = {name: [] for name in wanted}
    for seq, raw, leaf, rec, stmt, proof in decoded:
        if stmt.stream in in_stream:
            in_stream[stmt.stream].append((seq, stmt.stream_version, leaf))
        elif seq != size:
            bad(seq, f"the record belongs to stream {stmt.stream!r}, which this bundle does not hold")
    for name in wanted:
        got, head = in_stream[name], committed[name]
        for n, (seq, v, _) in enumerate(got, 1):
            if v != n:
                bad(seq, f"stream {name} jumps from version {n - 1} to {v}: an event is missing")
                break
        else:
            end = got[-1] if got else None
            if end is None or (end[1], end[0], end[2]) != (head.version, head.seq, head.leaf):
                have = f"version {end[1]} at seq {end[0]}" if end else "no events"
                bad(None, f"stream {name} ends at {have}, but the checkpoint commits to version {head.version} "
                          f"at seq {head.seq}: events are missing")
    report.events = len(in_stream[stream])
    report.key_events = len(in_stream[KEYS_STREAM]) if stream != KEYS_STREAM else 0
    report.policy_events = len(in_stream[POLICY_STREAM]) if stream != POLICY_STREAM else 0
    report.stream_head = {"version": committed[stream].version, "seq": committed[stream].seq}

    # 7. Keys, rules and signatures, in seq order; chain links between neighbours. The signatures are
    # checked on every core ahead of the walk against the keys the bundle's key events name; the walk
    # takes an early answer only for the very key it authorises (sigcheck.py), else verifies there.
    registry = KeyRegistry()
    signed = [_Signed(stmt, rec.signature, rec.statement) for _, _, _, rec, stmt, _ in decoded]
    early = EarlyChecks(signed, _named_keys(decoded))
    rules: dict[str, frozenset[str]] | None = None
    prev: tuple[int, bytes] | None = None
    prev_recorded = ""
    for item, (seq, raw, leaf, rec, stmt, proof) in zip(signed, decoded):
        try:
            if seq == 1:
                registry.apply(seq, stmt)
                wanted_roles = frozenset({"admin"})
            elif stmt.type == identity.GENESIS:
                raise ValidationError("a second genesis event")
            elif stmt.type == RULES_IN_FORCE:
                wanted_roles = RULES_SIGNERS  # fixed by the format: rules cannot grant themselves
            elif rules is None:
                raise ValidationError("no rules were in force yet (the first RulesInForce event is missing)")
            elif stmt.type not in rules:
                raise ValidationError(f"{stmt.type} is not an event type of the rules in force")
            else:
                wanted_roles = rules[stmt.type]
            if not wanted_roles:
                raise AuthorizationError(f"the rules in force let nobody sign {stmt.type} (its roles list is empty)")
            info = registry.authorize(stmt, wanted_roles)
            if not early.verifies(item, info.public_key):
                bad(seq, f"the signature does not verify over the statement bytes under key {info.key_id}")
            if seq != 1:
                registry.apply(seq, stmt)
            if stmt.type == RULES_IN_FORCE:
                if stmt.stream != POLICY_STREAM:
                    raise ValidationError(f"a RulesInForce event on stream {stmt.stream!r}")
                try:
                    rules = decode_rules(stmt.payload)
                except ValueError as e:
                    raise ValidationError(str(e)) from None
        except (AuthorizationError, ValidationError) as e:
            bad(seq, str(e))
        if seq == 1 and rec.prev != GENESIS_PREV:
            bad(seq, "the genesis record's prev is not all zeros")
        if prev is not None and prev[0] == seq - 1 and rec.prev != prev[1].hex():
            bad(seq, f"prev does not match the leaf hash of seq {seq - 1}")
        if rec.recorded_at < prev_recorded:
            bad(seq, "recorded_at is earlier than that of an earlier record")
        prev, prev_recorded = (seq, leaf), max(prev_recorded, rec.recorded_at)

    # 8. When the ledger signed it: its own cosignature/v1 timestamp, else the StreamHeads record's time.
    try:
        ts = _signed_time(doc["checkpoint"], key_name, log_pub, body_text)
    except _Bad as e:
        bad(None, str(e))
        ts = None
    if ts is not None:
        from datetime import datetime, timezone

        report.signed_at = timefmt.format_time(datetime.fromtimestamp(ts, timezone.utc))
        report.signed_at_source = "the ledger key's cosignature/v1 timestamp"
    else:
        report.signed_at = heads_rec[3].recorded_at
        report.signed_at_source = "recorded_at of the StreamHeads event"
    problems.sort(key=lambda p: (p.seq is not None, p.seq or 0))
