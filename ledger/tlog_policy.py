"""C2SP tlog-policy: which logs and witnesses are trusted, and which cosigners make a quorum.

The file is line based (space/tab separated, ``#`` comments)::

    log <vkey> [<url>]
    witness <name> <vkey> [<url>]
    group <name> all|any|<k> <member>...
    quorum <name>|none

Log keys are Ed25519 note keys (signature type 0x01), witness keys ``cosignature/v1`` keys (type 0x04).
A group (and the quorum) may name only witnesses and groups defined on earlier lines, each member at most
once, so definitions cannot be circular. :func:`check_note` applies a policy to a signed checkpoint: it is
valid if one listed log signed it and the witnesses that validly cosigned it satisfy the quorum.
"""

from __future__ import annotations

import re

import msgspec

from .checkpoint import CheckpointError, note_key_name, open_note, parse_checkpoint, parse_verifier_key
from .cosignature import find_cosignature, parse_cosigner_vkey

__all__ = ["NoteCheck", "PolicyError", "PolicyLog", "PolicyWitness", "TlogPolicy", "check_note", "parse_policy"]

# Octets allowed: tab, newline, 0x20-0x7E and anything with the high bit set.
_FORBIDDEN = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")
_DECIMAL = re.compile(r"[1-9][0-9]*")


class PolicyError(ValueError):
    """The policy file is malformed."""


class PolicyLog(msgspec.Struct, frozen=True):
    vkey: str
    name: str
    public_key: bytes
    url: str | None = None


class PolicyWitness(msgspec.Struct, frozen=True):
    name: str  # the policy's own name for it
    vkey: str
    key_name: str  # the signed-note key name inside the vkey
    public_key: bytes
    url: str | None = None


class _Group(msgspec.Struct, frozen=True):
    threshold: int
    members: tuple[str, ...]


class TlogPolicy(msgspec.Struct):
    """A parsed policy. ``quorum`` is ``"none"`` or the name of a witness or group."""

    logs: list[PolicyLog] = msgspec.field(default_factory=list)
    witnesses: dict[str, PolicyWitness] = msgspec.field(default_factory=dict)
    groups: dict[str, _Group] = msgspec.field(default_factory=dict)
    quorum: str | None = None
    text: str = ""

    def satisfied(self, cosigned: set[str], name: str | None = None) -> bool:
        """True if the witnesses named in ``cosigned`` (policy names) meet ``name`` (default: the quorum)."""
        name = self.quorum if name is None else name
        if name is None:
            return False
        if name == "none":
            return True
        if name in self.witnesses:
            return name in cosigned
        group = self.groups[name]
        return sum(self.satisfied(cosigned, m) for m in group.members) >= group.threshold

    def describe_quorum(self) -> str:
        """The quorum rule in words, for messages."""
        def words(name: str) -> str:
            if name == "none" or name in self.witnesses:
                return name
            g = self.groups[name]
            return f"{g.threshold} of ({', '.join(words(m) for m in g.members)})"
        return words(self.quorum) if self.quorum else "(no quorum)"

    def log_for(self, key_name: str) -> list[PolicyLog]:
        return [log for log in self.logs if log.name == key_name]


def parse_policy(data: str | bytes, *, require_quorum: bool = True) -> TlogPolicy:
    """Parse a tlog-policy file strictly; raises :class:`PolicyError` naming the line at fault.

    ``require_quorum=False`` accepts a file of ``log`` lines alone (a witness's list of logs it trusts).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    bad = _FORBIDDEN.search(raw)
    if bad:
        raise PolicyError(f"control character 0x{bad.group()[0]:02x} at byte {bad.start()}: only tab and newline are allowed")
    # Names and URLs are opaque octets; we hold them as text decoded with surrogateescape so any octets
    # survive and compare byte for byte.
    text = raw.decode("utf-8", errors="surrogateescape")
    policy = TlogPolicy(text=text)
    seen_keys: set[bytes] = set()
    for number, line in enumerate(text.split("\n"), 1):
        items = re.split(r"[ \t]+", line.strip(" \t"))
        if items == [""] or items[0].startswith("#"):
            continue

        def fail(message: str) -> PolicyError:
            return PolicyError(f"line {number}: {message}")

        keyword, args = items[0], items[1:]
        if keyword == "log":
            if len(args) not in (1, 2):
                raise fail("expected 'log <vkey> [<url>]'")
            try:
                name, pub = parse_verifier_key(args[0])
            except CheckpointError as e:
                raise fail(f"log key: {e}") from None
            if pub in seen_keys:
                raise fail("duplicate key")
            seen_keys.add(pub)
            policy.logs.append(PolicyLog(args[0], name, pub, args[1] if len(args) == 2 else None))
        elif keyword == "witness":
            if len(args) not in (2, 3):
                raise fail("expected 'witness <name> <vkey> [<url>]'")
            name = args[0]
            if name == "none" or name in policy.witnesses or name in policy.groups:
                raise fail(f"name {name!r} is already defined (or reserved)")
            try:
                key_name, pub = parse_cosigner_vkey(args[1])
            except CheckpointError as e:
                raise fail(f"witness key: {e}") from None
            if pub in seen_keys:
                raise fail("duplicate key")
            seen_keys.add(pub)
            policy.witnesses[name] = PolicyWitness(name, args[1], key_name, pub, args[2] if len(args) == 3 else None)
        elif keyword == "group":
            if len(args) < 3:
                raise fail("expected 'group <name> all|any|<k> <member>...'")
            name, threshold_text, members = args[0], args[1], args[2:]
            if name == "none" or name in policy.witnesses or name in policy.groups:
                raise fail(f"name {name!r} is already defined (or reserved)")
            for m in members:
                if m not in policy.witnesses and m not in policy.groups:
                    raise fail(f"member {m!r} is not a witness or group defined on an earlier line")
            if len(set(members)) != len(members):
                raise fail("a member is listed more than once")
            if threshold_text == "all":
                k = len(members)
            elif threshold_text == "any":
                k = 1
            elif _DECIMAL.fullmatch(threshold_text):
                k = int(threshold_text)
                if not 1 <= k <= len(members):
                    raise fail(f"threshold {k} must be between 1 and {len(members)}")
            else:
                raise fail(f"threshold {threshold_text!r} must be 'all', 'any' or a decimal number")
            policy.groups[name] = _Group(k, tuple(members))
        elif keyword == "quorum":
            if len(args) != 1:
                raise fail("expected 'quorum <name>'")
            if policy.quorum is not None:
                raise fail("a policy has exactly one quorum line")
            if args[0] != "none" and args[0] not in policy.witnesses and args[0] not in policy.groups:
                raise fail(f"quorum {args[0]!r} is not a witness or group defined on an earlier line")
            policy.quorum = args[0]
        else:
            raise fail(f"unknown keyword {keyword!r}")
    if require_quorum and policy.quorum is None:
        raise PolicyError("the policy has no quorum line ('quorum none' if no cosignatures are required)")
    return policy


class NoteCheck(msgspec.Struct):
    """The outcome of :func:`check_note`."""

    ok: bool = False
    reason: str | None = None
    origin: str | None = None
    size: int | None = None
    root: bytes | None = None
    log: PolicyLog | None = None
    log_time: int | None = None  # the log's own cosignature/v1 timestamp: when it signed the checkpoint
    cosigners: dict[str, int] = msgspec.field(default_factory=dict)  # policy witness name -> cosignature timestamp

    def to_dict(self) -> dict:
        return {"ok": self.ok, "reason": self.reason, "origin": self.origin, "size": self.size,
                "root": self.root.hex() if self.root else None, "log_time": self.log_time,
                "cosigners": dict(self.cosigners)}


def check_note(note: str, policy: TlogPolicy) -> NoteCheck:
    """Check a checkpoint note against ``policy``: a listed log signed it, and the quorum cosigned it.

    Never raises on bad input: ``ok`` is false and ``reason`` says why. A cosignature line from a listed
    witness that does not verify fails the whole note (signed-note rule); lines from unknown keys are
    ignored.
    """
    result = NoteCheck()
    if not isinstance(note, str):
        result.reason = "the checkpoint is not text"
        return result
    text = None
    for log in policy.logs:
        try:
            text = open_note(note, log.name, log.public_key)
        except CheckpointError as e:
            if "no signature from key" in str(e):
                continue
            result.reason = f"the checkpoint is malformed or its log signature is bad: {e}"
            return result
        result.log = log
        break
    if text is None:
        result.reason = ("the checkpoint is signed by none of the policy's logs"
                         if policy.logs else "the policy lists no log")
        return result
    try:
        cp = parse_checkpoint(text)
    except CheckpointError as e:
        result.reason = f"malformed checkpoint: {e}"
        return result
    result.origin, result.size, result.root = cp.origin, cp.size, cp.root
    if note_key_name(cp.origin) != result.log.name:
        result.reason = f"the checkpoint's origin {cp.origin!r} is not the log {result.log.name!r}"
        return result
    try:
        result.log_time = find_cosignature(note, result.log.name, result.log.public_key)
        for name, w in policy.witnesses.items():
            ts = find_cosignature(note, w.key_name, w.public_key)
            if ts is not None:
                result.cosigners[name] = ts
    except CheckpointError as e:
        result.reason = f"a cosignature does not verify: {e}"
        return result
    if not policy.satisfied(set(result.cosigners)):
        have = ", ".join(sorted(result.cosigners)) or "no witness"
        result.reason = f"quorum not met: cosigned by {have}; the policy needs {policy.describe_quorum()}"
        return result
    result.ok = True
    return result
