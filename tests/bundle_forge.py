"""A bundle forger written from docs/evidence-bundle.md alone (it imports no tilsyn code): it signs a list
of statements with keys it holds and builds records, chain, tree, heads map, StreamHeads event, checkpoint
note and proofs — the authority as attacker, who holds every key. tests/test_bundle_foreign.py feeds its
bundles to tilsyn and to the Go verifier, which must agree."""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def canon(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def ordered(obj: dict, order: list[str]) -> bytes:
    """Top-level members in the table's order, payloads sorted."""
    return ("{" + ",".join(json.dumps(k) + ":" + canon(obj[k]).decode() for k in order) + "}").encode()


STATEMENT = ["stream", "stream_version", "type", "occurred_at", "actor", "key_id", "ledger", "payload"]
RECORD = ["seq", "recorded_at", "prev", "statement", "signature"]


def pub(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PrivateKey) -> str:
    return hashlib.sha256(pub(key)).hexdigest()[:16]


def leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node(a: bytes, b: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + a + b).digest()


def split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = split(len(leaves))
    return node(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 inclusion proof, leaf's sibling first."""
    if len(leaves) == 1:
        return []
    k = split(len(leaves))
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def possession(ledger: str, name: str, public_key: str, **extra) -> bytes:
    return b"tilsyn-key-possession/1\n" + canon({"ledger": ledger, "name": name, "public_key": public_key, **extra})


def key_hash(name: str, typ: int, key: Ed25519PrivateKey) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([typ]) + pub(key)).digest()[:4]


def sign_note(text: str, origin: str, log_key: Ed25519PrivateKey, when: int | None) -> str:
    lines = [b64(key_hash(origin, 1, log_key) + log_key.sign(text.encode()))]
    if when is not None:
        msg = f"cosignature/v1\ntime {when}\n".encode() + text.encode()
        lines.append(b64(key_hash(origin, 4, log_key) + when.to_bytes(8, "big") + log_key.sign(msg)))
    return text + "\n" + "".join(f"— {origin} {line}\n" for line in lines)


def forge(statements, stream: str, origin: str, log_key, number: int = 1, when: int | None = 1735896600,
          heads_by=None, note_key=None) -> dict:
    """statements: [(statement dict, signing key)], seq 1 onwards. The StreamHeads event is added at
    S = len + 1, signed by log_key (or heads_by = (actor, key)); the note by note_key or log_key."""
    ledger = statements[0][0]["ledger"]
    records, leaves, prev = [], [], "0" * 64
    heads: dict[str, tuple[int, int, str]] = {}

    def add(st, key):
        nonlocal prev
        seq = len(records) + 1
        sb = ordered(st, STATEMENT)
        rec = {"seq": seq, "recorded_at": f"2025-01-02T03:04:{seq % 60:02d}.{seq:06d}Z", "prev": prev,
               "statement": b64(sb), "signature": b64(key.sign(sb))}
        rb = ordered(rec, RECORD)
        records.append((st, rb))
        leaves.append(leaf(rb))
        prev = leaf(rb).hex()
        return seq

    for st, key in statements:
        seq = add(st, key)
        heads[st["stream"]] = (st["stream_version"], seq, leaves[-1].hex())
    names = sorted(heads, key=lambda s: s.encode())
    entries = [f"{s}\n{heads[s][0]}\n{heads[s][1]}\n{heads[s][2]}\n".encode() for s in names]
    entry_leaves = [leaf(e) for e in entries]
    actor, hkey = heads_by or ("ledger", log_key)
    add({"stream": "ledger/heads", "stream_version": number, "type": "ledger.StreamHeads/1",
         "occurred_at": "2025-01-03T09:00:01.000000Z", "actor": actor, "key_id": key_id(hkey), "ledger": ledger,
         "payload": {"root": b64(mth(entry_leaves)), "size": len(records), "streams": len(entries)}}, hkey)
    size = len(records)
    text = f"{origin}\n{size}\n{b64(mth(leaves))}\n"
    full = [stream, "ledger/keys", "ledger/policy"]
    return {
        "format": "tilsyn-evidence-bundle", "version": 2, "origin": origin, "stream": stream,
        "exported_at": "2025-01-03T09:30:00.000000Z",
        "checkpoint": sign_note(text, origin, note_key or log_key, when),
        "heads": [{"stream": s, "version": heads[s][0], "seq": heads[s][1], "leaf": heads[s][2],
                   "index": names.index(s), "proof": [b64(p) for p in path(names.index(s), entry_leaves)]}
                  for s in dict.fromkeys(full) if s in heads],
        "records": [{"seq": i + 1, "record": b64(rb), "proof": [b64(p) for p in path(i, leaves)]}
                    for i, (st, rb) in enumerate(records) if st["stream"] in full or i + 1 == size],
    }


def rekey(bundle: dict):
    """The statements of an exported bundle, with every key replaced by a fresh one we hold:
    [(statement, key)], the new log key, and {actor: key}. The forged ledger holds just these
    statements, so events of other streams the bundle leaves out (reader keys) are not needed."""
    stmts = []
    for r in bundle["records"]:
        rec = json.loads(base64.b64decode(r["record"]))
        stmts.append(json.loads(base64.b64decode(rec["statement"])))
    seqs = [json.loads(base64.b64decode(r["record"]))["seq"] for r in bundle["records"]]
    assert seqs == sorted(set(seqs)) and seqs[0] == 1
    stmts = stmts[:-1]  # the StreamHeads event is forged anew
    old_to_new: dict[str, Ed25519PrivateKey] = {}
    log_key = Ed25519PrivateKey.generate()
    g = stmts[0]["payload"]
    old_to_new[g["key_id"]] = Ed25519PrivateKey.generate()
    old_to_new[g["log_key"]["key_id"]] = log_key
    g["key_id"] = key_id(old_to_new[g["key_id"]])
    g["public_key"] = b64(pub(old_to_new[stmts[0]["key_id"]]))
    g["log_key"] = {"key_id": key_id(log_key), "public_key": b64(pub(log_key))}
    people = {}
    for st in stmts:
        p = st["payload"]
        if st["type"] in ("ledger.KeyRegistered/1", "ledger.KeyRotated/1"):
            k = old_to_new[p["key_id"]] = Ed25519PrivateKey.generate()
            p["key_id"], p["public_key"] = key_id(k), b64(pub(k))
            if "previous_key_id" in p:
                p["previous_key_id"] = key_id(old_to_new[p["previous_key_id"]])
            extra = {"x25519_public_key": p["x25519_public_key"]} if "x25519_public_key" in p else {}
            p["proof"] = b64(k.sign(possession(st["ledger"], p["name"], p["public_key"], **extra)))
        elif st["type"] in ("ledger.RoleGranted/1", "ledger.KeyRevoked/1"):
            p["key_id"] = key_id(old_to_new[p["key_id"]])
    signed = []
    for st in stmts:
        k = old_to_new[st["key_id"]]
        st["key_id"] = key_id(k)
        people[st["actor"]] = k
        signed.append([st, k])
    return signed, log_key, people
