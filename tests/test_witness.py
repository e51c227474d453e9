"""Witnesses, receipts and fork detection, with two real witnesses on loopback (uvicorn in threads).

The demo supervision is the ledger: a påbud at seq 21 of tilbud T-1001. The insider rewrite at the end is
the attack of issue 12: the authority, holding every key and the database, drops the påbud and re-signs
everything after it; its own ``verify`` passes, but any one earlier receipt, bundle or witness exposes it.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
import msgspec
import pytest
from click.testing import CliRunner

from tilsyn.cli.demo import run_demo
from tilsyn.cli.main import cli
from tilsyn.ledger import KeyStore, Ledger
from tilsyn.ledger.checkpoint import checkpoint_body, key_hash, sign_note
from tilsyn.ledger.checkpoints import note_key_name
from tilsyn.ledger.cosignature import cosign, find_cosignature
from tilsyn.ledger.envelope import decode_record, decode_statement
from tilsyn.ledger.merkle import EMPTY_ROOT
from tilsyn.ledger.witness import Witness, init_witness, request_body
from tilsyn.ledger.witness_server import bind, server
from tilsyn.cli.demo import PAABUD_SEQ  # the demo's påbud, after its varsel and høringssvar (issue 13)

AUTHORITY = "Socialtilsyn Øst"


# -- witnesses on loopback ---------------------------------------------------------------------
@contextmanager
def serving(directory: Path):
    """A witness server on a free loopback port; always shut down."""
    w = Witness(directory)
    sock = bind("127.0.0.1:0")
    srv = server(w, sock)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert srv.started, "witness server did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", w
    finally:
        srv.should_exit = True
        thread.join(10)
        sock.close()


class Demo:
    """The demo ledger, its key home, and ``tilsyn`` run against it from its directory."""

    def __init__(self, path: Path):
        self.dir = path
        assert run_demo(path).ok
        self.db = path / "tilsyn.db"
        self.env = {"TILSYN_HOME": str(path), "TILSYN_DB": str(self.db), "TILSYN_ACTOR": None,
                    "TILSYN_PASSPHRASE": None, "TILSYN_WITNESS_DIR": None}

    def __call__(self, *args: str):
        return CliRunner().invoke(cli, list(args), env=self.env, catch_exceptions=False)

    def ok(self, *args: str):
        r = self(*args)
        assert r.exit_code == 0, f"{args} exited {r.exit_code}: {r.stderr}{r.stdout}"
        return r

    def ledger(self) -> Ledger:
        from tilsyn.plugins.manager import build_policy

        return Ledger.open(str(self.db), build_policy())

    def vkey(self) -> str:
        return self.ok("checkpoint", "--vkey").stdout.strip()

    def log_key(self):
        """The ledger's log key (it signs checkpoints) and its origin."""
        with self.ledger() as ledger:
            return ledger.log_signer(KeyStore(self.dir)).private_key, ledger.origin


@pytest.fixture
def demo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # tilsyn.toml is read from the working directory
    return Demo(tmp_path / "demo")


@pytest.fixture
def two_witnesses(tmp_path, demo):
    """Two witnesses trusting the demo ledger's log key, serving; and a tilsyn.toml policy needing both."""
    vkey = demo.vkey()
    init_witness(tmp_path / "w1", "ankestyrelsen.dk/vidne", [vkey])
    init_witness(tmp_path / "w2", "socialtilsyn-syd.example/vidne", [vkey])
    with serving(tmp_path / "w1") as (u1, w1), serving(tmp_path / "w2") as (u2, w2):
        write_policy(tmp_path / "policy.txt", vkey, [("ank", w1, u1), ("syd", w2, u2)], "group begge all ank syd\nquorum begge\n")
        (tmp_path / "tilsyn.toml").write_text('[witness]\npolicy = "policy.txt"\n', encoding="utf-8")
        yield (u1, w1), (u2, w2)


def write_policy(path: Path, log_vkey: str, witnesses, tail: str) -> None:
    lines = [f"# test policy\nlog {log_vkey}\n"] + [f"witness {n} {w.vkey} {u}\n" for n, w, u in witnesses]
    path.write_text("".join(lines) + tail, encoding="utf-8")


def add_observation(demo: Demo, text: str = "Beboerne fortæller om faste aftaler.") -> None:
    demo.ok("--as", "Karen Holm", "observe", "T-1001", "2.3.1", "--source", "pårørende", "--method",
            "trianguleringsinterview", "--visit", "B3", "--efterfoelgende", "--text", text)  # after the demo's visit


def state_size(w: Witness, origin: str) -> int:
    note = w.latest(origin)
    return int(note.split("\n")[1]) if note else 0


# -- cosigning and the quorum -------------------------------------------------------------------
def test_checkpoint_is_cosigned_by_both_witnesses_and_verify_demands_the_quorum(demo, two_witnesses, tmp_path):
    (u1, w1), (u2, w2) = two_witnesses
    r = demo.ok("--as", AUTHORITY, "checkpoint", "--json")
    import json

    out = json.loads(r.stdout)
    assert out["quorum"]["ok"] and set(out["quorum"]["cosigners"]) == {"ank", "syd"}
    assert all(o["ok"] for o in out["witnesses"])
    # The note names the signed time and carries verifiable cosignatures with timestamps.
    note = out["note"]
    assert find_cosignature(note, w1.name, w1.public_key) > 0
    assert find_cosignature(note, w2.name, w2.public_key) > 0
    assert out["signed_time"] and out["signed_time"] <= find_cosignature(note, w1.name, w1.public_key)
    v = demo.ok("verify")
    assert "meets the witness quorum" in v.stdout
    # A new event, a new checkpoint: submitted with a consistency proof from the witnessed size.
    add_observation(demo)
    demo.ok("--as", AUTHORITY, "checkpoint")
    with demo.ledger() as ledger:
        assert state_size(w1, ledger.origin) == state_size(w2, ledger.origin) == ledger.count()
    demo.ok("verify")


def test_quorum_missed_when_a_witness_is_down(demo, tmp_path):
    vkey = demo.vkey()
    init_witness(tmp_path / "w1", "ankestyrelsen.dk/vidne", [vkey])
    init_witness(tmp_path / "w2", "socialtilsyn-syd.example/vidne", [vkey])
    w2 = Witness(tmp_path / "w2")
    with serving(tmp_path / "w1") as (u1, w1):
        dead = bind("127.0.0.1:0")  # a port nobody answers on
        u2 = f"http://127.0.0.1:{dead.getsockname()[1]}"
        dead.close()
        write_policy(tmp_path / "policy.txt", vkey, [("ank", w1, u1), ("syd", w2, u2)],
                     "group begge all ank syd\nquorum begge\n")
        (tmp_path / "tilsyn.toml").write_text('[witness]\npolicy = "policy.txt"\n', encoding="utf-8")
        add_observation(demo)
        r = demo("--as", AUTHORITY, "checkpoint")
        assert r.exit_code == 1
        assert "Quorum NOT met" in r.stderr and "cannot reach" in r.stderr
        v = demo("verify")
        assert v.exit_code == 1 and "quorum not met" in v.stderr
        # The same cosignatures meet a weaker policy given on the command line.
        write_policy(tmp_path / "any.txt", vkey, [("ank", w1, u1), ("syd", w2, u2)],
                     "group en any ank syd\nquorum en\n")
        assert "meets the witness quorum" in demo.ok("verify", "--policy", str(tmp_path / "any.txt")).stdout


def test_the_client_recovers_from_409_by_the_size_the_witness_reports(demo, two_witnesses):
    (u1, w1), _ = two_witnesses
    demo.ok("--as", AUTHORITY, "checkpoint", "--no-witness")
    key, origin = demo.log_key()
    with demo.ledger() as ledger:
        from tilsyn.ledger.checkpoints import latest_checkpoint

        cp = latest_checkpoint(ledger)
        # Someone else already had this checkpoint cosigned by w1; our database does not know it.
        assert httpx.post(u1 + "/add-checkpoint", content=request_body(0, [], cp.note)).status_code == 200
    add_observation(demo)
    r = demo.ok("--as", AUTHORITY, "checkpoint", "--json")
    import json

    assert json.loads(r.stdout)["quorum"]["ok"]


# -- the protocol's status codes ------------------------------------------------------------------
def signed(key, origin: str, size: int, root: bytes) -> str:
    body = checkpoint_body(origin, size, root)
    return sign_note(body, note_key_name(origin), key) + cosign(body, note_key_name(origin), key, int(time.time()))


def test_add_checkpoint_status_codes(demo, two_witnesses):
    (url, w), _ = two_witnesses
    key, origin = demo.log_key()
    with demo.ledger() as ledger:
        n = ledger.count()
        root5, root_n = ledger.tree.root(5), ledger.tree.root(n)
        proof = ledger.tree.consistency_proof(5, n)
    post = lambda body: httpx.post(url + "/add-checkpoint", content=body)  # noqa: E731
    # 200 from the empty state, then 409 telling the size, on a stale old size.
    assert post(request_body(0, [], signed(key, origin, 5, root5))).status_code == 200
    stale = post(request_body(0, [], signed(key, origin, n, root_n)))
    assert stale.status_code == 409 and stale.text == "5\n"
    assert stale.headers["content-type"] == "text/x.tlog.size"
    # 422: a consistency proof that does not verify (one byte flipped); a non-empty proof from 0.
    bad = [bytes([proof[0][0] ^ 1]) + proof[0][1:]] + proof[1:]
    assert post(request_body(5, bad, signed(key, origin, n, root_n))).status_code == 422
    assert post(request_body(5, proof, signed(key, origin, n, b"\x07" * 32))).status_code == 422
    # 200 with the right proof; the answer is one cosignature line that verifies.
    good = post(request_body(5, proof, signed(key, origin, n, root_n)))
    assert good.status_code == 200 and good.text.startswith("\u2014 ankestyrelsen.dk/vidne ")
    assert find_cosignature(signed(key, origin, n, root_n) + good.text, w.name, w.public_key) > 0
    # 422: same size, different root.
    assert post(request_body(n, [], signed(key, origin, n, b"\x01" * 32))).status_code == 422
    # 404: an origin the witness does not witness.
    assert post(request_body(0, [], signed(key, "elsewhere.example/log", 1, root5))).status_code == 404
    # 403: the right origin signed by another key; a trusted key's signature that does not verify.
    other = Ed25519PrivateKey.generate()
    assert post(request_body(n, [], signed(other, origin, n, root_n))).status_code == 403
    note = signed(key, origin, n, root_n)
    first_sig = note.split("\n\n")[1].split("\n")[0]
    blob = bytearray(base64.b64decode(first_sig.split(" ")[2]))
    blob[-1] ^= 1
    tampered = note.replace(first_sig, first_sig.rsplit(" ", 1)[0] + " " + base64.b64encode(bytes(blob)).decode())
    assert post(request_body(n, [], tampered)).status_code == 403
    # 400: malformed bodies, and an old size beyond the checkpoint.
    for body in (b"", b"old 01\n\n" + note.encode(), b"old 5\nnot base64!\n\n" + note.encode(),
                 b"new 5\n\n" + note.encode(), b"old 5\n" + note.encode(), b"old 0\n\n" + b"\xff\xfe",
                 request_body(0, [root5] * 64, note), request_body(n + 1, [], note)):
        assert post(body).status_code == 400, body[:40]
    # 422: a size-0 checkpoint must have the empty root.
    with serving(w.dir.parent / "w2") as (url2, _):
        r = httpx.post(url2 + "/add-checkpoint", content=request_body(0, [], signed(key, origin, 0, b"\x02" * 32)))
        assert r.status_code == 422
        r = httpx.post(url2 + "/add-checkpoint", content=request_body(0, [], signed(key, origin, 0, EMPTY_ROOT)))
        assert r.status_code == 200
    # The monitoring endpoint serves the latest cosigned checkpoint; 404 for a log it never cosigned.
    got = httpx.get(f"{url}/{hashlib.sha256(origin.encode()).hexdigest()}/checkpoint")
    assert got.status_code == 200 and got.text.startswith(f"{origin}\n{n}\n")
    assert find_cosignature(got.text, w.name, w.public_key) > 0
    assert httpx.get(f"{url}/{hashlib.sha256(b'x').hexdigest()}/checkpoint").status_code == 404
    # Refused-but-signed checkpoints are kept as evidence.
    assert list((w.dir / "evidence").iterdir())


def test_a_witness_keeps_its_state_across_a_restart_and_refuses_a_fork(demo, tmp_path):
    vkey = demo.vkey()
    init_witness(tmp_path / "w", "ankestyrelsen.dk/vidne", [vkey])
    key, origin = demo.log_key()
    with demo.ledger() as ledger:
        n = ledger.count()
        root = ledger.tree.root(n)
    with serving(tmp_path / "w") as (url, _):
        assert httpx.post(url + "/add-checkpoint", content=request_body(0, [], signed(key, origin, n, root))).status_code == 200
    with serving(tmp_path / "w") as (url, w):
        again = httpx.post(url + "/add-checkpoint", content=request_body(0, [], signed(key, origin, n, root)))
        assert again.status_code == 409 and again.text == f"{n}\n"
        fork = httpx.post(url + "/add-checkpoint", content=request_body(n, [], signed(key, origin, n, b"\x09" * 32)))
        assert fork.status_code == 422
        assert state_size(w, origin) == n


# -- receipts ---------------------------------------------------------------------------------------
def test_receipt_verifies_offline_and_with_sigstore(demo, two_witnesses, tmp_path):
    demo.ok("--as", AUTHORITY, "checkpoint")
    out = tmp_path / "paabud.tlog-proof"
    demo.ok("receipt", "T-1001", str(PAABUD_SEQ), "--out", str(out))
    r = CliRunner().invoke(cli, ["verify-receipt", str(out)], env={"TILSYN_DB": "/nonexistent/x.db"})
    assert r.exit_code == 0, r.stderr
    assert "tilsyn.DecisionIssued/1" in r.stdout and "cosigned by ank" in r.stdout and "CET" in r.stdout
    text = out.read_text(encoding="utf-8")
    lines = text.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1" and lines[1].startswith("extra ") and lines[2] == f"index {PAABUD_SEQ - 1}"

    # sigstore (an implementation no one here wrote) reads the checkpoint, checks the log's signature and
    # recomputes the root from the record through the inclusion proof.
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from sigstore._internal import merkle as sm
    from sigstore._internal.rekor.checkpoint import SignedCheckpoint
    from sigstore._internal.trust import Keyring
    from sigstore_models.common import v1 as common_v1

    blank = text.index("\n\n")
    proof = [base64.b64decode(x) for x in text[:blank].split("\n")[3:]]
    note = text[blank + 2:]
    key, origin = demo.log_key()
    pub = key.public_key()
    signed_cp = SignedCheckpoint.from_text(note)
    assert signed_cp.checkpoint.origin == origin
    keyring = Keyring([common_v1.PublicKey(raw_bytes=base64.b64encode(pub.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)),
                                           key_details=common_v1.PublicKeyDetails.PKIX_ED25519)])
    kid = key_hash(note_key_name(origin), pub.public_bytes_raw())
    signed_cp.signed_note.verify(keyring, kid)  # raises if the log signature does not verify
    record = base64.b64decode(lines[1][6:])
    size = signed_cp.checkpoint.log_size
    inner, border = sm._decomp_inclusion_proof(PAABUD_SEQ - 1, size)
    assert len(proof) == inner + border
    root = sm._chain_border_right(sm._chain_inner(sm._hash_leaf(record), proof[:inner], PAABUD_SEQ - 1), proof[inner:])
    assert root.hex() == signed_cp.checkpoint.log_hash
    assert decode_statement(decode_record(record).statement).type == "tilsyn.DecisionIssued/1"

    # A changed record byte, a receipt for another stream, a missing quorum: each refused.
    flipped = text.replace(lines[1], "extra " + base64.b64encode(record[:60] + bytes([record[60] ^ 1]) + record[61:]).decode())
    (tmp_path / "bad.tlog-proof").write_text(flipped, encoding="utf-8")
    bad = CliRunner().invoke(cli, ["verify-receipt", str(tmp_path / "bad.tlog-proof")])
    assert bad.exit_code == 1 and "inclusion proof does not prove" in bad.stderr
    assert demo("receipt", "T-9999", str(PAABUD_SEQ), "--out", str(tmp_path / "x")).exit_code == 2
    (tmp_path / "junk.tlog-proof").write_text("hello\n", encoding="utf-8")
    junk = CliRunner().invoke(cli, ["verify-receipt", str(tmp_path / "junk.tlog-proof")])
    assert junk.exit_code == 2 and junk.stderr.startswith("tilsyn: error: ")
    stripped = "\n".join(ln for ln in text.split("\n") if "vidne" not in ln)
    (tmp_path / "unwitnessed.tlog-proof").write_text(stripped, encoding="utf-8")
    unw = CliRunner().invoke(cli, ["verify-receipt", str(tmp_path / "unwitnessed.tlog-proof")])
    assert unw.exit_code == 1 and "quorum not met" in unw.stderr


# -- the insider rewrite ---------------------------------------------------------------------------
def rewrite_without(demo: Demo, drop_seq: int, extra_events: int = 2) -> None:
    """The authority's rewrite: drop one record, re-seal and re-sign everything after it, add a few more
    events, and sign a new checkpoint — with every key from the key home and full access to the database."""
    from tilsyn.ledger.checkpoints import create_checkpoint

    with demo.ledger() as ledger:
        # Checkpoint bookkeeping events (stream heads) are made afresh by create_checkpoint below.
        later = [st for st in (decode_statement(decode_record(e.record_bytes).statement)
                               for e in ledger.read() if e.seq > drop_seq) if st.stream != "ledger/heads"]
        dropped = decode_statement(decode_record(next(e for e in ledger.read() if e.seq == drop_seq).record_bytes).statement)
    conn = sqlite3.connect(demo.db)
    with conn:
        conn.execute("DELETE FROM events WHERE seq >= ?", (drop_seq,))
        conn.execute("DELETE FROM merkle_nodes")
        conn.execute("DELETE FROM checkpoints")
        conn.execute("DELETE FROM checkpoint_cosignatures")
    conn.close()
    # The authority rewrites with full access to everything, its own record of what it verified too.
    shutil.rmtree(Path(demo.env["TILSYN_HOME"]) / "verified", ignore_errors=True)
    keystore = KeyStore(demo.dir)
    with demo.ledger() as ledger:
        for st in later:
            version = st.stream_version - (1 if st.stream == dropped.stream else 0)
            signer = ledger.signer(st.actor, keystore)
            if st.type == "ledger.StreamHeads/1":  # a careful forger recomputes the heads it commits to
                ledger.append_stream_heads(signer)
                continue
            ledger.append(signer.sign(msgspec.structs.replace(st, stream_version=version)))
        create_checkpoint(ledger, ledger.log_signer(keystore))
    for i in range(extra_events):
        add_observation(demo, f"Senere observation {i}.")


def test_the_insider_rewrite_is_caught_by_a_receipt_a_bundle_and_the_witnesses(demo, two_witnesses, tmp_path):
    (u1, w1), (u2, w2) = two_witnesses
    demo.ok("--as", AUTHORITY, "checkpoint")
    receipt = tmp_path / "paabud.tlog-proof"
    demo.ok("receipt", "T-1001", str(PAABUD_SEQ), "--out", str(receipt))
    demo.ok("export", "T-1001", "--out", str(tmp_path / "bundle.json"))
    shutil.copy(demo.db, tmp_path / "before.db")
    with demo.ledger() as ledger:
        origin, size_before = ledger.origin, ledger.count()
    assert "extends the checkpoint" in demo.ok("verify", "--against", str(receipt)).stdout

    rewrite_without(demo, PAABUD_SEQ)
    # As seen from a machine that never verified the ledger before (this one's own record of what it
    # verified, in the key home, would expose the rewrite at once: kernel, issue 9).
    shutil.rmtree(Path(demo.env["TILSYN_HOME"]) / "verified", ignore_errors=True)
    # The rewritten ledger is consistent in itself: without witnesses or receipts nothing shows.
    (tmp_path / "tilsyn.toml").unlink()
    demo.ok("verify")
    # Any one earlier receipt or bundle exposes the fork, naming the sizes and the påbud's seq.
    r = demo("verify", "--against", str(receipt))
    assert r.exit_code == 1
    assert "FORK" in r.stderr and f"size {size_before}" in r.stderr and f"seq {PAABUD_SEQ} differs" in r.stderr
    assert "tilsyn.DecisionIssued/1" in r.stderr
    b = demo("verify", "--against", str(tmp_path / "bundle.json"))
    assert b.exit_code == 1 and "FORK" in b.stderr
    # The witnesses refuse to cosign the fork; their state stays where it was; verify misses the quorum.
    (tmp_path / "tilsyn.toml").write_text('[witness]\npolicy = "policy.txt"\n', encoding="utf-8")
    c = demo("--as", AUTHORITY, "checkpoint")
    assert c.exit_code == 1 and c.stderr.count("FORK") == 2, c.stderr
    assert state_size(w1, origin) == state_size(w2, origin) == size_before
    v = demo("verify")
    assert v.exit_code == 1 and "quorum not met" in v.stderr
    # The untouched copy of the ledger still extends the receipt.
    ok = CliRunner().invoke(cli, ["--db", str(tmp_path / "before.db"), "verify", "--against", str(receipt)],
                            env=demo.env | {"TILSYN_DB": None})
    assert ok.exit_code == 0, ok.stderr


def test_verify_against_bad_input(demo, tmp_path):
    assert demo("verify", "--against", str(tmp_path / "missing.tlog-proof")).exit_code == 2
    (tmp_path / "bad.tlog-proof").write_text("c2sp.org/tlog-proof@v1\nindex 01\n\nx\n", encoding="utf-8")
    r = demo("verify", "--against", str(tmp_path / "bad.tlog-proof"))
    assert r.exit_code == 2 and r.stderr.startswith("tilsyn: error: ")
    # A checkpoint signed by some other log is not evidence about this one.
    other = Ed25519PrivateKey.generate()
    (tmp_path / "other.note").write_text(signed(other, "x.example/log", 1, EMPTY_ROOT), encoding="utf-8")
    r = demo("verify", "--against", str(tmp_path / "other.note"))
    assert r.exit_code == 1 and "not signed by this ledger's log key" in r.stderr


def test_verify_bundle_demands_the_quorum_of_a_policy(demo, two_witnesses, tmp_path):
    demo.ok("--as", AUTHORITY, "checkpoint", "--no-witness")
    demo.ok("export", "T-1001", "--out", str(tmp_path / "unwitnessed.json"))
    demo.ok("--as", AUTHORITY, "checkpoint")  # the same checkpoint, now cosigned by both
    demo.ok("export", "T-1001", "--out", str(tmp_path / "witnessed.json"))
    policy = str(tmp_path / "policy.txt")
    ok = demo("verify-bundle", str(tmp_path / "witnessed.json"), "--policy", policy)
    assert ok.exit_code == 0, ok.stderr
    bad = demo("verify-bundle", str(tmp_path / "unwitnessed.json"), "--policy", policy)
    assert bad.exit_code == 1 and "quorum not met" in bad.stderr
    # Without a policy the bundle checks as before.
    assert demo("verify-bundle", str(tmp_path / "unwitnessed.json")).exit_code == 0


def test_the_witness_socket_sends_without_waiting_for_acks():
    """Answers leave at once: the listening socket is TCP by name (so asyncio switches Nagle's algorithm
    off on each connection) and carries TCP_NODELAY itself; an accepted connection has it too."""
    import socket

    sock = bind("127.0.0.1:0")
    try:
        assert sock.proto == socket.IPPROTO_TCP and sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        client = socket.create_connection(sock.getsockname())
        conn, _ = sock.accept()
        with client, conn:
            assert conn.proto == socket.IPPROTO_TCP and conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        sock.close()
