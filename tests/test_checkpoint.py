"""Tests for tilsyn.ledger.checkpoint (C2SP signed-note and tlog-checkpoint)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tilsyn.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    checkpoint_body,
    key_hash,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
    sign_note,
    verifier_key,
)

EM = "\u2014"

# Known-answer vector from golang.org/x/mod/sumdb/note (the reference
# implementation of signed notes): key, text and the exact signed message.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT
    + "\n"
    + EM
    + " PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

# The example checkpoint body from c2sp.org/tlog-checkpoint.
SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

ROOT = bytes(range(32))
ROOT_B64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
ORIGIN = "tilsyn.example/ledger"


def go_private_key() -> Ed25519PrivateKey:
    seed = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert seed[0] == 1
    return Ed25519PrivateKey.from_private_bytes(seed[1:])


def raw_pub(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes_raw()


@pytest.fixture(scope="module")
def log_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


# --------------------------------------------------------------------------
# Checkpoint bodies
# --------------------------------------------------------------------------


def test_checkpoint_body_exact_format() -> None:
    assert checkpoint_body(ORIGIN, 5, ROOT) == f"{ORIGIN}\n5\n{ROOT_B64}\n"
    assert checkpoint_body(ORIGIN, 0, ROOT, ["ext one", "ext two"]) == (
        "tilsyn.example/ledger\n0\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\next one\next two\n"
    )


def test_parse_spec_example_and_round_trip() -> None:
    cp = parse_checkpoint(SPEC_BODY)
    assert cp.origin == "example.com/behind-the-sofa"
    assert cp.size == 20852163
    assert cp.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert cp.extensions == ()
    assert cp.body() == SPEC_BODY
    assert checkpoint_body(cp.origin, cp.size, cp.root) == SPEC_BODY


def test_parse_with_extensions() -> None:
    body = checkpoint_body(ORIGIN, 2**64 - 1, ROOT, ["a b c", "\u00e6\u00f8\u00e5"])
    assert parse_checkpoint(body) == Checkpoint(ORIGIN, 2**64 - 1, ROOT, ("a b c", "\u00e6\u00f8\u00e5"))


GOOD = f"{ORIGIN}\n5\n{ROOT_B64}\n"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (GOOD[:-1], "newline"),  # missing final newline
        (f"{ORIGIN}\n5\n", "line"),  # no root line
        (f"{ORIGIN}\n05\n{ROOT_B64}\n", "decimal"),  # leading zero
        (f"{ORIGIN}\n00\n{ROOT_B64}\n", "decimal"),
        (f"{ORIGIN}\n-1\n{ROOT_B64}\n", "decimal"),
        (f"{ORIGIN}\n+5\n{ROOT_B64}\n", "decimal"),
        (f"{ORIGIN}\n 5\n{ROOT_B64}\n", "decimal"),
        (f"{ORIGIN}\n5 \n{ROOT_B64}\n", "decimal"),
        (f"{ORIGIN}\n0x5\n{ROOT_B64}\n", "decimal"),
        (f"{ORIGIN}\n1_000\n{ROOT_B64}\n", "decimal"),
        (f"{ORIGIN}\n\u0665\n{ROOT_B64}\n", "decimal"),  # Arabic-Indic digit five
        (f"{ORIGIN}\n18446744073709551616\n{ROOT_B64}\n", "exceeds"),
        (f"{ORIGIN}\n\n{ROOT_B64}\n", "empty"),
        (f"\n5\n{ROOT_B64}\n", "empty"),  # empty origin
        (f"{ORIGIN}\n5\n!!!!\n", "base64"),
        (f"{ORIGIN}\n5\n{ROOT_B64[:-1]}\n", "base64"),  # missing padding
        (f"{ORIGIN}\n5\n{ROOT_B64[:-2]}J=\n", "non-canonical"),  # non-zero padding bits
        (f"{ORIGIN}\n5\n{ROOT_B64} \n", "base64"),
        (f"{ORIGIN}\n5\n{base64.b64encode(ROOT[:31]).decode()}\n", "31 bytes"),
        (f"{ORIGIN}\n5\n{base64.b64encode(ROOT + b'x').decode()}\n", "33 bytes"),
        (GOOD + "\n", "empty"),  # empty extension line
        (GOOD + "ext\n\n", "empty"),
        (GOOD.replace("\n", "\r\n"), "control"),
        (GOOD.replace("5", "5\t"), "control"),
        (GOOD.replace("\n", "\n\n", 1), "empty"),
    ],
)
def test_parse_rejects_malformed(body: str, reason: str) -> None:
    with pytest.raises(CheckpointError, match=reason):
        parse_checkpoint(body)


def test_checkpoint_error_is_value_error() -> None:
    assert issubclass(CheckpointError, ValueError)


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, ROOT, ()),
        ("a\nb", 1, ROOT, ()),
        (ORIGIN, -1, ROOT, ()),
        (ORIGIN, 2**64, ROOT, ()),
        (ORIGIN, True, ROOT, ()),
        (ORIGIN, 1, ROOT[:31], ()),
        (ORIGIN, 1, ROOT, ("",)),
        (ORIGIN, 1, ROOT, ("x\ny",)),
        (ORIGIN, 1, ROOT, "ext"),
    ],
)
def test_checkpoint_body_rejects_unparseable(origin, size, root, extensions) -> None:  # noqa: ANN001
    with pytest.raises(CheckpointError):
        checkpoint_body(origin, size, root, extensions)


# --------------------------------------------------------------------------
# Keys and signed notes
# --------------------------------------------------------------------------


def test_key_hash_and_verifier_key_match_go() -> None:
    key = go_private_key()
    assert key_hash("PeterNeumann", raw_pub(key)).hex() == "c74f20a3"
    assert verifier_key("PeterNeumann", raw_pub(key)) == GO_VKEY
    assert parse_verifier_key(GO_VKEY) == ("PeterNeumann", raw_pub(key))


def test_key_hash_definition(log_key: Ed25519PrivateKey) -> None:
    pub = raw_pub(log_key)
    expected = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + pub).digest()[:4]
    assert key_hash(ORIGIN, pub) == expected
    vkey = verifier_key(ORIGIN, pub)
    typed_key = base64.b64encode(b"\x01" + pub).decode()
    assert vkey == f"{ORIGIN}+{expected.hex()}+{typed_key}"
    assert parse_verifier_key(vkey) == (ORIGIN, pub)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u00a0b", "a\nb", "a\tb"])
def test_invalid_key_names(name: str, log_key: Ed25519PrivateKey) -> None:
    with pytest.raises(CheckpointError):
        key_hash(name, raw_pub(log_key))
    with pytest.raises(CheckpointError):
        sign_note("text\n", name, log_key)


@pytest.mark.parametrize(
    "vkey",
    [
        GO_VKEY.replace("c74f20a3", "c74f20a4"),  # key ID mismatch
        GO_VKEY.replace("c74f20a3", "C74F20A3"),  # upper-case hex
        GO_VKEY.replace("+ARpc", "+AhSpc"),  # not type 0x01 / bad length
        "PeterNeumann+c74f20a3",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        GO_VKEY + "==",
    ],
)
def test_parse_verifier_key_rejects(vkey: str) -> None:
    with pytest.raises(CheckpointError):
        parse_verifier_key(vkey)


def test_sign_note_matches_go_exactly() -> None:
    assert sign_note(GO_TEXT, "PeterNeumann", go_private_key()) == GO_NOTE
    name, pub = parse_verifier_key(GO_VKEY)
    assert open_note(GO_NOTE, name, pub) == GO_TEXT
    assert open_note(GO_NOTE.encode("utf-8"), name, pub) == GO_TEXT


def test_signed_checkpoint_exact_text(log_key: Ed25519PrivateKey) -> None:
    body = checkpoint_body(ORIGIN, 5, ROOT)
    note = sign_note(body, ORIGIN, log_key)
    kid = key_hash(ORIGIN, raw_pub(log_key))
    sig = log_key.sign(body.encode())  # Ed25519 is deterministic
    expected = (
        "tilsyn.example/ledger\n5\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
        "\n"
        "\u2014 tilsyn.example/ledger " + base64.b64encode(kid + sig).decode() + "\n"
    )
    assert note == expected
    assert note.encode("utf-8").count(b"\xe2\x80\x94 ") == 1  # U+2014 then a space


def test_round_trip(log_key: Ed25519PrivateKey) -> None:
    body = checkpoint_body(ORIGIN, 1234, ROOT, ["ext"])
    note = sign_note(body, ORIGIN, log_key)
    opened = open_note(note, ORIGIN, raw_pub(log_key))
    assert opened == body
    assert parse_checkpoint(opened) == Checkpoint(ORIGIN, 1234, ROOT, ("ext",))


def test_note_text_may_contain_blank_lines(log_key: Ed25519PrivateKey) -> None:
    text = "line one\n\nline three\n\n"
    note = sign_note(text, "k", log_key)
    assert open_note(note, "k", raw_pub(log_key)) == text


def test_changed_body_rejected(log_key: Ed25519PrivateKey) -> None:
    body = checkpoint_body(ORIGIN, 1234, ROOT)
    note = sign_note(body, ORIGIN, log_key)
    pub = raw_pub(log_key)
    for i in range(len(body)):
        for replacement in {"x", "0", "\n", "A"} - {body[i]}:
            tampered = note[:i] + replacement + note[i + 1 :]
            with pytest.raises(CheckpointError):
                open_note(tampered, ORIGIN, pub)
    with pytest.raises(CheckpointError):
        open_note("extra\n" + note, ORIGIN, pub)


def test_changed_signature_rejected(log_key: Ed25519PrivateKey) -> None:
    body = checkpoint_body(ORIGIN, 1234, ROOT)
    note = sign_note(body, ORIGIN, log_key)
    pub = raw_pub(log_key)
    prefix, b64 = note[:-1].rsplit(" ", 1)
    blob = base64.b64decode(b64)
    for byte in range(len(blob)):
        for bit in range(8):
            bad = bytearray(blob)
            bad[byte] ^= 1 << bit
            tampered = f"{prefix} {base64.b64encode(bytes(bad)).decode()}\n"
            # A flipped key ID bit makes the line unknown ("no signature");
            # a flipped signature bit makes it a bad signature.
            match = "no signature" if byte < 4 else "bad signature"
            with pytest.raises(CheckpointError, match=match):
                open_note(tampered, ORIGIN, pub)
    truncated = f"{prefix} {base64.b64encode(blob[:-1]).decode()}\n"
    with pytest.raises(CheckpointError, match="bad signature"):
        open_note(truncated, ORIGIN, pub)


def test_wrong_key_rejected(log_key: Ed25519PrivateKey) -> None:
    note = sign_note(checkpoint_body(ORIGIN, 1, ROOT), ORIGIN, log_key)
    other = raw_pub(Ed25519PrivateKey.generate())
    with pytest.raises(CheckpointError, match="no signature"):
        open_note(note, ORIGIN, other)
    with pytest.raises(CheckpointError, match="no signature"):
        open_note(note, "other.example/log", raw_pub(log_key))


def test_colliding_key_id_with_wrong_key_is_a_bad_signature(log_key: Ed25519PrivateKey) -> None:
    # A line whose name and key ID match the trusted key but whose signature
    # was made by someone else must fail, not be skipped.
    body = checkpoint_body(ORIGIN, 1, ROOT)
    kid = key_hash(ORIGIN, raw_pub(log_key))
    forged = Ed25519PrivateKey.generate().sign(body.encode())
    note = f"{body}\n{EM} {ORIGIN} {base64.b64encode(kid + forged).decode()}\n"
    with pytest.raises(CheckpointError, match="bad signature"):
        open_note(note, ORIGIN, raw_pub(log_key))
    # ... even when a valid signature from the same key is also present.
    good = sign_note(body, ORIGIN, log_key)
    with pytest.raises(CheckpointError, match="bad signature"):
        open_note(good + note.split("\n\n")[1], ORIGIN, raw_pub(log_key))


def test_unknown_cosignatures_ignored(log_key: Ed25519PrivateKey) -> None:
    body = checkpoint_body(ORIGIN, 99, ROOT)
    witness = Ed25519PrivateKey.generate()
    log_note = sign_note(body, ORIGIN, log_key)
    witness_line = sign_note(body, "witness.example/w1", witness).split("\n\n")[-1]
    other_id = base64.b64encode(b"\x00\x01\x02\x03" + bytes(64)).decode()
    garbage_same_name = f"{EM} {ORIGIN} {other_id}\n"
    kid = key_hash(ORIGIN, raw_pub(log_key))
    same_id_other_name = f"{EM} other.example {base64.b64encode(kid + bytes(64)).decode()}\n"
    big_sig = base64.b64encode(b"\xff" * 2424).decode()
    post_quantum_sized = f"{EM} pq.example {big_sig}\n"
    extras = witness_line + garbage_same_name + same_id_other_name + post_quantum_sized
    log_line = log_note.split("\n\n")[-1]
    for note in (log_note + extras, f"{body}\n{extras}{log_line}"):
        assert open_note(note, ORIGIN, raw_pub(log_key)) == body
        assert open_note(note, "witness.example/w1", raw_pub(witness)) == body


@pytest.mark.parametrize(
    "mangle",
    [
        lambda n: n[:-1],  # no final newline
        lambda n: n.replace("\n\n", "\n"),  # no blank line
        lambda n: n.replace(EM + " ", "-- "),  # ASCII instead of em dash
        lambda n: n.replace(EM + " ", EM),  # no space after the dash
        lambda n: n.replace(EM + " ", EM + "  "),  # empty key name
        lambda n: n[: n.rindex(" ")] + "\n",  # no signature field
        lambda n: n[:-2] + "!\n",  # bad base64
        lambda n: n.replace(ORIGIN + " ", "bad+name "),  # '+' in a name
        lambda n: n + "\n",  # trailing blank line
        lambda n: n + "garbage\n",  # non-signature line in the block
        lambda n: n.replace("\n5\n", "\n5\r\n"),  # control character
        lambda n: n + n.split("\n\n")[1] * 100,  # too many signatures
        lambda n: n.split("\n\n")[1],  # no text at all
    ],
)
def test_malformed_notes_rejected(mangle, log_key: Ed25519PrivateKey) -> None:  # noqa: ANN001
    note = sign_note(checkpoint_body(ORIGIN, 5, ROOT), ORIGIN, log_key)
    with pytest.raises(CheckpointError):
        open_note(mangle(note), ORIGIN, raw_pub(log_key))


def test_short_signature_blob_is_malformed(log_key: Ed25519PrivateKey) -> None:
    body = checkpoint_body(ORIGIN, 5, ROOT)
    short = base64.b64encode(b"abcd").decode()
    note = sign_note(body, ORIGIN, log_key) + f"{EM} w {short}\n"
    with pytest.raises(CheckpointError, match="malformed"):
        open_note(note, ORIGIN, raw_pub(log_key))


@pytest.mark.parametrize("text", ["", "no newline", "ctrl\x07char\n", "bad \ud800 surrogate\n"])
def test_sign_note_rejects_invalid_text(text: str, log_key: Ed25519PrivateKey) -> None:
    with pytest.raises(CheckpointError):
        sign_note(text, ORIGIN, log_key)


def test_open_note_rejects_invalid_utf8(log_key: Ed25519PrivateKey) -> None:
    note = sign_note("text\n", ORIGIN, log_key).encode()
    with pytest.raises(CheckpointError, match="UTF-8"):
        open_note(b"\xff" + note, ORIGIN, raw_pub(log_key))
