"""A foreign verifier: tests/go/bundleverify checks evidence bundles from docs/evidence-bundle.md alone.

It was written without reading tilsyn's code, in Go, with Go's crypto/ed25519, sumdb/note and
sumdb/tlog. It and ``tilsyn verify-bundle`` must agree on every bundle: the demo's export, the doc's
test vector, the export tampered with byte by byte, and bundles forged by tests/bundle_forge.py (the
authority as attacker: it holds every key and re-signs everything). Where they disagree, the doc did
not say enough — the page promises that a verifier can be written from it alone.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.bundle_forge import b64, forge, key_id, possession, pub, rekey
from tilsyn.cli.main import cli

GO_SRC = Path(__file__).parent / "go" / "bundleverify"
DOC = Path(__file__).parent.parent / "docs" / "evidence-bundle.md"
GO_PACKAGES = ("golang.org/x/mod/sumdb/tlog", "golang.org/x/text/unicode/norm")


@pytest.fixture(scope="module")
def bundleverify(tmp_path_factory):
    """The Go verifier, built once; skipped without Go (CI must have it: 'make test' installs it)."""
    if shutil.which("go") is None or not all(Path("/usr/share/gocode/src", p).is_dir() for p in GO_PACKAGES):
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true but Go, golang-golang-x-mod-dev or golang-golang-x-text-dev is missing "
                        "('make test' installs them)")
        pytest.skip("Go and Debian's golang-golang-x-mod-dev/-x-text-dev are not installed ('make test' installs them)")
    out = tmp_path_factory.mktemp("go") / "bundleverify"
    env = os.environ | {"GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOFLAGS": "",
                        "GOCACHE": str(tmp_path_factory.mktemp("gocache"))}
    # GOPATH mode builds a directory only as a relative path, hence cwd.
    r = subprocess.run(["go", "build", "-o", str(out), "."], cwd=GO_SRC, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    """A fresh demo ledger: its export holds the whole ledger (every record is T-1001's, a key's or a rule's)."""
    d = tmp_path_factory.mktemp("demo")
    env = {"TILSYN_HOME": str(d / "demo"), "TILSYN_DB": str(d / "demo" / "tilsyn.db"), "TILSYN_ACTOR": None}
    r = CliRunner().invoke(cli, ["demo", "--dir", str(d / "demo")], env=env, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return d, env


@pytest.fixture(scope="module")
def demo(demo_dir):
    d, env = demo_dir
    r = CliRunner().invoke(cli, ["--as", "Socialtilsyn Øst", "export", "T-1001", "--out", str(d / "b.json")], env=env)
    assert r.exit_code == 0, r.output
    return json.loads((d / "b.json").read_text("utf-8"))


def both(bundleverify, path: Path) -> tuple[int, int, str, str]:
    go = subprocess.run([str(bundleverify), str(path)], capture_output=True, text=True)
    ours = CliRunner().invoke(cli, ["verify-bundle", str(path)], env={"TILSYN_ACTOR": None})
    return go.returncode, ours.exit_code, go.stdout + go.stderr, ours.output


def both_receipt(bundleverify, path: Path, vkey: str, policy: Path) -> tuple[int, int, str, str]:
    go = subprocess.run([str(bundleverify), "receipt", str(path), vkey], capture_output=True, text=True)
    ours = CliRunner().invoke(cli, ["verify-receipt", str(path), "--policy", str(policy)], env={"TILSYN_ACTOR": None})
    return go.returncode, ours.exit_code, go.stdout + go.stderr, ours.output


def agree(bundleverify, tmp_path, text: str, expected: int) -> str:
    path = tmp_path / "bundle.json"
    path.write_text(text, encoding="utf-8")
    go, ours, go_out, our_out = both(bundleverify, path)
    assert (go, ours) == (expected, expected), f"Go {go}: {go_out}\ntilsyn {ours}: {our_out}"
    return go_out


def doc_vector() -> str:
    text = DOC.read_text("utf-8")
    start = text.index("<!-- test vector: begin -->\n```json\n") + len("<!-- test vector: begin -->\n```json\n")
    return text[start:text.index("```\n<!-- test vector: end -->")]


def test_the_docs_test_vector_verifies_in_go(bundleverify, tmp_path):
    out = agree(bundleverify, tmp_path, doc_vector(), 0)
    assert out == ("ok tilbud/T-1001: 1 events, 1 key events, 1 rules events; checkpoint 1, size 4, "
                   "time 1735896600\n")


def test_the_demo_export_verifies_in_go_with_tilsyns_figures(bundleverify, demo, tmp_path):
    out = agree(bundleverify, tmp_path, json.dumps(demo, ensure_ascii=False), 0)
    size = int(demo["checkpoint"].split("\n")[1])  # the note's second line is the tree size
    # Besides the tilbud's events the bundle carries the genesis, 3 key registrations, 1 rules event and the heads.
    assert out.startswith(f"ok tilbud/T-1001: {len(demo['records']) - 6} events, 4 key events, 1 rules events; "
                          f"checkpoint 1, size {size}, time ")


# -- the export, tampered: (name, expected exit code, change of the parsed bundle or of its text) ---------

def _record(b, i):
    return json.loads(base64.b64decode(b["records"][i]["record"]))


def _set_record(b, i, rec):
    b["records"][i]["record"] = b64(json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode())


def _changed_payload(b):
    rec = _record(b, 10)
    st = json.loads(base64.b64decode(rec["statement"]))
    st["payload"]["text"] = "ændret"
    rec["statement"] = b64(json.dumps(st, ensure_ascii=False, separators=(",", ":")).encode())
    _set_record(b, 10, rec)


def _note(b, change):
    text, sigs = b["checkpoint"].split("\n\n")
    b["checkpoint"] = text + "\n\n" + "".join(line + "\n" for line in change(sigs.splitlines()))


def _forged_line(line, keep: int, tail: bytes) -> str:
    name, blob = line[2:].split(" ")
    return f"— {name} {b64(base64.b64decode(blob)[:keep] + tail)}"


def _unused_bits(p: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return p[:-2] + alphabet[alphabet.index(p[-2]) ^ 1] + "="


TAMPERS = [
    ("unchanged", 0, lambda b: None),
    ("exported_at changed (not signed)", 0, lambda b: b.update(exported_at="2030-01-01T00:00:00.000000Z")),
    ("heads in another order", 0, lambda b: b["heads"].reverse()),
    ("no signed-time line", 0, lambda b: _note(b, lambda ls: ls[:1])),
    ("a witness line we cannot check", 0, lambda b: _note(b, lambda ls: ls + [f"— vidne.example {b64(bytes(76))}"])),
    ("unknown member", 1, lambda b: b.update(note="x")),
    ("unknown member in heads", 1, lambda b: b["heads"][0].update(note="x")),
    ("seq as a string", 1, lambda b: b["records"][0].update(seq="1")),
    ("seq as true", 1, lambda b: b["records"][0].update(seq=True)),
    ("base64 without padding", 1, lambda b: b["records"][0]["proof"].__setitem__(0, b["records"][0]["proof"][0].rstrip("="))),
    ("base64 with unused bits set", 1, lambda b: b["records"][0]["proof"].__setitem__(0, _unused_bits(b["records"][0]["proof"][0]))),
    ("payload changed", 1, _changed_payload),
    ("record bytes not canonical", 1, lambda b: b["records"][5].update(
        record=b64(re.sub(rb'"seq":(\d+),', rb'"seq": \1,', base64.b64decode(b["records"][5]["record"]), count=1)))),
    ("an event of the stream dropped", 1, lambda b: b["records"].pop(10)),
    ("the stream's last event dropped", 1, lambda b: b["records"].pop(-2)),
    ("a key event dropped", 1, lambda b: b["records"].pop(2)),
    ("the StreamHeads record dropped", 1, lambda b: b["records"].pop()),
    ("records out of order", 1, lambda b: b["records"].insert(3, b["records"].pop(4))),
    ("a record twice", 1, lambda b: b["records"].insert(4, copy.deepcopy(b["records"][4]))),
    ("a heads entry dropped", 1, lambda b: b["heads"].pop(0)),
    ("a heads entry twice", 1, lambda b: b["heads"].append(copy.deepcopy(b["heads"][0]))),
    ("a heads version changed", 1, lambda b: b["heads"][-1].update(version=b["heads"][-1]["version"] + 1)),
    ("proof too long", 1, lambda b: b["records"][0]["proof"].append(b["records"][0]["proof"][0])),
    ("proof too short", 1, lambda b: b["records"][0]["proof"].pop()),
    ("another origin", 1, lambda b: b.update(origin="tilsyn-ledger/andet")),
    ("another stream", 1, lambda b: b.update(stream="tilbud/T-9999")),
    ("about ledger/heads", 1, lambda b: b.update(stream="ledger/heads")),
    ("no signature line of the log key", 1, lambda b: _note(b, lambda ls: ls[1:])),
    ("an extension line", 1, lambda b: b.update(checkpoint=b["checkpoint"].replace("\n\n", "\nextension\n\n", 1))),
    ("two spaces in a signature line", 1, lambda b: _note(b, lambda ls: [ls[0].replace(" ", "  ", 1)] + ls[1:])),
    ("CRLF in the note", 1, lambda b: b.update(checkpoint=b["checkpoint"].replace("\n", "\r\n"))),
    ("a second, bad signature line of the log key", 1, lambda b: _note(b, lambda ls: ls + [_forged_line(ls[0], 4, bytes(64))])),
    ("the signed time forged", 1, lambda b: _note(b, lambda ls: [ls[0], _forged_line(ls[1], 4, (1).to_bytes(8, "big") + base64.b64decode(ls[1].split(" ")[2])[12:])])),
    ("a witness line in non-canonical base64", 1, lambda b: _note(b, lambda ls: ls + ["— vidne.example AAECAwQFBgcI="])),
]

TEXT_TAMPERS = [
    ("compact", 0, lambda t: json.dumps(json.loads(t), ensure_ascii=False, separators=(",", ":"))),
    ("trailing whitespace", 0, lambda t: t + "\n \t\r\n"),
    ("a member twice", 2, lambda t: t.replace('"stream": ', '"stream": "tilbud/T-9", "stream": ', 1)),
    ("version 2.0", 2, lambda t: t.replace('"version": 2,', '"version": 2.0,', 1)),
    ("integer 2^53", 2, lambda t: t.replace('"version": 2,', '"version": 2, "seq": 9007199254740992,', 1)),
    ("a lone surrogate", 2, lambda t: t.replace('"exported_at": "', '"exported_at": "\\ud800', 1)),
    ("byte order mark", 2, lambda t: "\ufeff" + t),
    ("data after the object", 2, lambda t: t + "{}"),
    ("NaN", 2, lambda t: t.replace('"version": 2,', '"version": NaN,', 1)),
]


@pytest.mark.parametrize("name,expected,change", TAMPERS, ids=[t[0] for t in TAMPERS])
def test_tampered_export(bundleverify, demo, tmp_path, name, expected, change):
    b = copy.deepcopy(demo)
    change(b)
    agree(bundleverify, tmp_path, json.dumps(b, ensure_ascii=False, indent=1), expected)


@pytest.mark.parametrize("name,expected,change", TEXT_TAMPERS, ids=[t[0] for t in TEXT_TAMPERS])
def test_tampered_text(bundleverify, demo, tmp_path, name, expected, change):
    agree(bundleverify, tmp_path, change(json.dumps(demo, ensure_ascii=False, indent=1)), expected)


# -- forged by the authority, who holds every key: (name, expected, change of the statements) ----------

class Forgery:
    """The demo's statements re-signed by fresh keys we hold; ``build()`` forges the bundle."""

    def __init__(self, demo: dict):
        self.statements, self.log, self.people = rekey(copy.deepcopy(demo))
        self.origin, self.stream = demo["origin"], demo["stream"]
        self.options: dict = {}
        genesis, self.authority = self.statements[0]
        self.ledger, self.admin = genesis["ledger"], genesis["actor"]

    def index(self, type_: str) -> int:
        return next(i for i, (st, _) in enumerate(self.statements) if st["type"] == type_)

    def sign_as(self, i: int, actor: str, key=None) -> None:
        key = key or self.people[actor]
        self.statements[i][0].update(actor=actor, key_id=key_id(key))
        self.statements[i][1] = key

    def event(self, stream, type_, payload, actor=None, key=None, at=None):
        key = key or (self.people[actor] if actor else self.authority)
        version = 1 + sum(1 for st, _ in self.statements if st["stream"] == stream)
        st = {"stream": stream, "stream_version": version, "type": type_, "occurred_at": "2025-01-02T03:04:05.000000Z",
              "actor": actor or self.admin, "key_id": key_id(key), "ledger": self.ledger, "payload": payload}
        self.statements.insert(len(self.statements) if at is None else at, [st, key])

    def register(self, name, roles, key=None, **extra):
        key = key or Ed25519PrivateKey.generate()
        proof = key.sign(possession(self.ledger, name, b64(pub(key))))
        self.event("ledger/keys", "ledger.KeyRegistered/1", {"key_id": key_id(key), "name": name, "proof": b64(proof),
                   "public_key": b64(pub(key)), "roles": roles, **extra})
        self.people[name] = key

    def key_event(self, type_, actor, **payload):
        self.event("ledger/keys", type_, {"key_id": key_id(self.people[actor]), "name": actor, **payload})

    def rotate_person(self, name, proof_name=None):
        """The person's own key hands over to a new one (KeyRotated, signed by the old key)."""
        old, new = self.people[name], Ed25519PrivateKey.generate()
        pk = b64(pub(new))
        self.event("ledger/keys", "ledger.KeyRotated/1", {"key_id": key_id(new), "name": name, "previous_key_id": key_id(old),
                   "proof": b64(new.sign(possession(self.ledger, proof_name or name, pk))), "public_key": pk}, actor=name)
        self.people[name] = new
        return old

    def rules(self, change, at=None, actor=None):
        payload = copy.deepcopy(self.statements[self.index("ledger.RulesInForce/1")][0]["payload"])
        change(payload["types"])
        self.event("ledger/policy", "ledger.RulesInForce/1", payload, actor=actor, at=at)

    def rotate(self, proof_key=None):
        new = Ed25519PrivateKey.generate()
        pk = b64(pub(new))
        proof = (proof_key or new).sign(possession(self.ledger, "ledger", pk))
        self.event("ledger/keys", "ledger.LedgerKeyRotated/1", {"key_id": key_id(new), "previous_key_id": key_id(self.log),
                   "proof": b64(proof), "public_key": pk}, actor="ledger", key=self.log)
        self.old_log, self.log = self.log, new

    def on_stream(self, stream):
        """The tilbud renamed: its stream, and the tilbud scopes of key events."""
        old_id, new_id = self.stream.split("/", 1)[1], stream.split("/", 1)[1]
        for st, _ in self.statements:
            if st["stream"] == self.stream:
                st["stream"] = stream
            if st["stream"] == "ledger/keys" and old_id in st["payload"].get("tilbud", []):
                st["payload"]["tilbud"] = sorted(new_id if t == old_id else t for t in st["payload"]["tilbud"])
        self.stream = stream

    def build(self) -> dict:
        return forge(self.statements, self.stream, self.origin, self.log, **self.options)


def _rename_origin(f, origin):
    f.statements[0][0]["payload"]["origin"] = f.origin = origin


def _rename_authority(f, name):
    for st, key in f.statements:
        if st["actor"] == f.admin:
            st["actor"] = name
    f.statements[0][0]["payload"]["authority"] = f.admin = name


def _move_after_first_use(f, name):
    i = next(i for i, (st, _) in enumerate(f.statements) if st["type"] == "ledger.KeyRegistered/1" and st["payload"]["name"] == name)
    moved = f.statements.pop(i)
    j = next(j for j, (st, _) in enumerate(f.statements) if st["actor"] == name)
    f.statements.insert(j + 1, moved)
    for n, (st, _) in enumerate(s for s in f.statements if s[0]["stream"] == "ledger/keys"):
        st["stream_version"] = n + 1


def _scoped_answer(f, extra):
    f.register("Per Holm", ["tilbudsleder"], tilbud=["T-1001"])
    f.event(f.stream, "tilsyn.Hoeringssvar/1", {"text": "Vi er enige.", "varsel": 20, **extra}, actor="Per Holm")


def _fulfilled_by(f, roles, actor=None):
    f.rules(lambda t: t["tilsyn.DecisionFulfilled/1"].update(roles=roles), at=f.index("tilsyn.DecisionFulfilled/1"))
    if actor:
        f.sign_as(f.index("tilsyn.DecisionFulfilled/1"), actor)


FORGERIES = [
    ("re-signed as it was", 0, lambda f: None),
    ("a role granted", 0, lambda f: f.key_event("ledger.RoleGranted/1", "Karen Holm", roles=["tilsynsleder"])),
    ("a key registered", 0, lambda f: f.register("Ny Person", ["tilsynskonsulent"])),
    ("rules recorded by a tilsynskonsulent", 0, lambda f: f.rules(lambda t: None, actor="Karen Holm")),
    ("rules let a tilsynskonsulent fulfil", 0, lambda f: _fulfilled_by(f, ["tilsynskonsulent"], "Karen Holm")),
    ("log key rotated", 0, lambda f: f.rotate()),
    ("log key rotated twice", 0, lambda f: (f.rotate(), f.rotate())),
    ("no signed time", 0, lambda f: f.options.update(when=None)),
    ("a statement for another ledger", 1, lambda f: f.statements[10][0].update(ledger="f" * 32)),
    ("a tilsynskonsulent fulfils a decision", 1, lambda f: f.sign_as(f.index("tilsyn.DecisionFulfilled/1"), "Karen Holm")),
    ("an actor signs with another's key", 1, lambda f: f.statements[10][0].update(actor="Lone Dahl")),
    ("a revoked key signs", 1, lambda f: f.key_event("ledger.KeyRevoked/1", "Karen Holm", reason="x") or
     f.statements.insert(5, f.statements.pop())),
    ("role ledger granted to a person", 1, lambda f: f.key_event("ledger.RoleGranted/1", "Karen Holm", roles=["ledger"])),
    ("a person's key rotated, the new key signs", 0, lambda f: f.rotate_person("Karen Holm") and
     f.event(f.stream, "tilsyn.VisitStarted/1", {"kind": "anmeldt", "visit": "B9"}, actor="Karen Holm")),
    ("the rotated-out key signs", 1, lambda f: f.event(f.stream, "tilsyn.VisitStarted/1", {"kind": "anmeldt", "visit": "B9"},
     actor="Karen Holm", key=f.rotate_person("Karen Holm"))),
    ("a rotation proved for another name", 1, lambda f: f.rotate_person("Karen Holm", proof_name="Lone Dahl")),
    ("a registration proved for another name", 1, lambda f: f.register("X", ["tilsynskonsulent"]) or
     f.statements[-1][0]["payload"].update(name="Y")),
    ("a second key for a name", 1, lambda f: f.register("Karen Holm", ["tilsynsleder"])),
    ("a role for some tilbud with admin", 1, lambda f: f.register("X", ["admin"], tilbud=["T-1001"])),
    ("a tilbudsleder for T-1001 only acts on it", 0, lambda f: _scoped_answer(f, {})),
    ("a tilbudsleder for T-1001 only speaks about T-2002 too", 1, lambda f: _scoped_answer(f, {"tilbud": "T-2002"})),
    ("a role granted under another's name", 1, lambda f: f.event("ledger/keys", "ledger.RoleGranted/1",
     {"key_id": key_id(f.people["Karen Holm"]), "name": "Lone Dahl", "roles": ["tilsynsleder"]})),
    ("a key revoked under another's name", 1, lambda f: f.event("ledger/keys", "ledger.KeyRevoked/1",
     {"key_id": key_id(f.people["Karen Holm"]), "name": "Lone Dahl", "reason": "x"})),
    ("roles unsorted", 1, lambda f: f.register("X", ["tilsynsleder", "admin"])),
    ("roles repeated", 1, lambda f: f.register("X", ["admin", "admin"])),
    ("an unknown member in a key event", 1, lambda f: f.register("X", ["admin"], note="x")),
    ("the last admin revoked", 1, lambda f: f.event("ledger/keys", "ledger.KeyRevoked/1",
     {"key_id": f.statements[0][0]["key_id"], "name": f.admin, "reason": "x"})),
    ("a name mixing scripts", 1, lambda f: f.register("Karen H\u043elm", ["tilsynskonsulent"])),
    ("a person registered with role ledger", 1, lambda f: f.register("X", ["ledger"])),
    ("a person registered as 'ledger'", 1, lambda f: f.register("ledger", ["admin"])),
    ("a known key registered again", 1, lambda f: f.register("Karen Holm", ["tilsynsleder"], key=f.people["Karen Holm"])),
    ("a key registered with no roles", 1, lambda f: f.register("X", [])),
    ("a key event on the tilbud's stream", 1, lambda f: f.event(f.stream, "ledger.KeyRevoked/1",
     {"key_id": key_id(f.people["Karen Holm"]), "name": "Karen Holm", "reason": "x"})),
    ("rules let nobody fulfil, then one does", 1, lambda f: _fulfilled_by(f, [])),
    ("rules drop a type, then it is used", 1, lambda f: f.rules(lambda t: t.pop("tilsyn.DecisionFulfilled/1"),
     at=f.index("tilsyn.DecisionFulfilled/1"))),
    ("rules with unsorted roles", 1, lambda f: f.rules(lambda t: t["tilsyn.DecisionFulfilled/1"].update(roles=["tilsynsleder", "admin"]))),
    ("rules let the authority commit to the heads", 1, lambda f: f.rules(
        lambda t: t["ledger.StreamHeads/1"].update(roles=["admin", "ledger"]))),
    ("rules let a tilsynskonsulent register keys", 1, lambda f: f.rules(
        lambda t: t["ledger.KeyRegistered/1"].update(roles=["admin", "tilsynskonsulent"]))),
    ("StreamHeads signed by the authority", 1, lambda f: f.options.update(heads_by=(f.admin, f.authority))),
    ("checkpoint signed by the authority", 1, lambda f: f.options.update(note_key=f.authority)),
    ("raw U+2028, U+007F, '/' and an escaped control in a payload", 0, lambda f: f.statements[10][0]["payload"].update(
        text="a\u2028b\x7fc/d\x01e\u00e6")),
    ("an integer beyond 2^53 in a payload", 1, lambda f: f.statements[10][0]["payload"].update(n=2**53)),
    ("a float in a payload", 1, lambda f: f.statements[10][0]["payload"].update(n=1.5)),
    ("text not in NFC", 1, lambda f: f.statements[10][0]["payload"].update(text="Cafe\u0301")),
    ("no such day", 1, lambda f: f.statements[10][0].update(occurred_at="2025-02-30T00:00:00.000000Z")),
    ("a gap in stream_version", 1, lambda f: [st.update(stream_version=st["stream_version"] + 1)
                                              for st, _ in f.statements[20:] if st["stream"] == f.stream]),
    ("a key used before it is registered", 1, lambda f: _move_after_first_use(f, "Mette Lund")),
    ("the rules come after a key event", 1, lambda f: f.statements.insert(5, f.statements.pop(1))),
    ("checkpoint signed by the rotated-out log key", 1, lambda f: f.rotate() or f.options.update(note_key=f.old_log)),
    ("StreamHeads signed by the rotated-out log key", 1, lambda f: f.rotate() or f.options.update(heads_by=("ledger", f.old_log))),
    ("rotation without proof of possession", 1, lambda f: f.rotate(proof_key=f.authority)),
    ("an emoji in the origin", 1, lambda f: _rename_origin(f, "tilsyn\U0001F600")),
    ("a code point new in Unicode 14 in the origin", 1, lambda f: _rename_origin(f, "tilsyn\U0001FAE0")),
    ("a Danish letter in the origin", 1, lambda f: _rename_origin(f, "socialtilsyn-øst")),
    ("a '+' in the origin", 1, lambda f: _rename_origin(f, "til+syn")),
    ("a no-break space in the origin", 1, lambda f: _rename_origin(f, "til\u00a0syn")),
    ("a tab in the actor", 1, lambda f: _rename_authority(f, "Social\ttilsyn")),
    ("a line separator in the actor", 1, lambda f: _rename_authority(f, "Social\u2028tilsyn")),
    ("a stream id ending in a newline", 1, lambda f: f.on_stream("tilbud/T-1001\n")),
    ("a stream id with a no-break space", 1, lambda f: f.on_stream("tilbud/T\u00a01001")),
    ("an escape character in the stream id and actor (shown escaped)", 0,
     lambda f: (f.on_stream("tilbud/T-[b]\x1b"), _rename_authority(f, "Social\x1btilsyn"))),
]


@pytest.mark.parametrize("name,expected,change", FORGERIES, ids=[t[0] for t in FORGERIES])
def test_forged_by_the_authority(bundleverify, demo, tmp_path, name, expected, change):
    f = Forgery(demo)
    change(f)
    agree(bundleverify, tmp_path, json.dumps(f.build(), ensure_ascii=False, indent=1), expected)


def test_two_signed_times_are_two_readings(bundleverify, demo, tmp_path):
    f = Forgery(demo)
    b, later = f.build(), forge(f.statements, f.stream, f.origin, f.log, when=1735896000)
    b["checkpoint"] += later["checkpoint"].splitlines(True)[-1]
    agree(bundleverify, tmp_path, json.dumps(b, ensure_ascii=False), 1)


# -- what the doc refuses, the ledger refuses at append (so no export carries it) ---------------------

@pytest.mark.parametrize("field,value", [("stream", "tilbud/T-1001\n"), ("actor", "Karen\n"),
                                         ("type", "test.Note/1\n"), ("ledger", "abc\n"),
                                         ("stream", "tilbud/T\u00a01001"), ("actor", "Karen\u2028Holm")])
def test_no_final_newline_or_line_break_slips_through(field, value):
    from tilsyn.ledger import ValidationError
    from tilsyn.ledger.envelope import make_statement

    fields = {"stream": "tilbud/T-1001", "stream_version": 1, "type": "test.Note/1",
              "occurred_at": "2025-01-02T03:04:05.000000Z", "actor": "Karen", "key_id": "0" * 16,
              "ledger": "abc", "payload": {}} | {field: value}
    with pytest.raises(ValidationError):
        make_statement(**fields)


def test_a_key_event_off_ledger_keys_is_refused(ledger):
    from tilsyn.ledger import ValidationError
    from tilsyn.ledger.identity import KEY_REVOKED

    karen = ledger.registry().active_key("Karen")
    before = ledger.count()
    with pytest.raises(ValidationError, match="belongs on ledger/keys"):
        ledger.record(ledger.authority_signer, "tilbud/T-1001", KEY_REVOKED,
                      {"key_id": karen.key_id, "name": "Karen", "reason": "forsøg"})
    assert ledger.count() == before


# -- receipts (docs/witnessing.md): C2SP tlog-proof, the same note rules ------------------------------

@pytest.fixture(scope="module")
def receipt(demo_dir):
    """The påbud's receipt, the log's verifier key and a policy with only that key."""
    d, env = demo_dir
    r = CliRunner().invoke(cli, ["receipt", "T-1001", "22", "--out", str(d / "r.tlog-proof")], env=env)
    assert r.exit_code == 0, r.output
    vkey = CliRunner().invoke(cli, ["checkpoint", "--vkey"], env=env).stdout.strip()
    (d / "policy.txt").write_text(f"log {vkey}\nquorum none\n")
    return (d / "r.tlog-proof").read_text(), vkey, d / "policy.txt"


def _receipt_line(text: str, n: int, new: str) -> str:
    lines = text.split("\n")
    return "\n".join(lines[:n] + ([new] if new is not None else []) + lines[n + 1:])


def _log_line(text: str, n: int, change) -> str:
    head, note = text.split("\n\n", 1)
    body, sigs = note.split("\n\n")
    lines = sigs.splitlines()
    return head + "\n\n" + body + "\n\n" + "".join(line + "\n" for line in change(lines))


RECEIPT_TAMPERS = [
    ("unchanged", 0, lambda t: t),
    ("no signed-time line", 0, lambda t: _log_line(t, 1, lambda ls: ls[:1])),
    ("the record changed", 1, lambda t: _receipt_line(t, 1, "extra " + b64(
        base64.b64decode(t.split("\n")[1][6:]).replace(b'"seq":22', b'"seq":23')))),
    ("another index", 1, lambda t: _receipt_line(t, 2, "index 20")),
    ("a proof line dropped", 1, lambda t: _receipt_line(t, 4, None)),
    ("no extra line", 1, lambda t: _receipt_line(t, 1, None)),
    ("a second, bad log signature line", 1, lambda t: _log_line(t, 0, lambda ls: ls + [_forged_line(ls[0], 4, bytes(64))])),
    ("the signed time forged", 1, lambda t: _log_line(t, 1, lambda ls: [ls[0], _forged_line(
        ls[1], 4, (1).to_bytes(8, "big") + base64.b64decode(ls[1].split(" ")[2])[12:])])),
    ("text after the note", 1, lambda t: t + "x\n"),
    ("another header", 2, lambda t: t.replace("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2")),
    ("index with a leading zero", 2, lambda t: _receipt_line(t, 2, "index 021")),
    ("a proof line without padding", 2, lambda t: _receipt_line(t, 4, t.split("\n")[4].rstrip("="))),
    ("CRLF", 2, lambda t: t.replace("\n", "\r\n")),
]


@pytest.mark.parametrize("name,expected,change", RECEIPT_TAMPERS, ids=[t[0] for t in RECEIPT_TAMPERS])
def test_receipt_in_go(bundleverify, receipt, tmp_path, name, expected, change):
    text, vkey, policy = receipt
    path = tmp_path / "r.tlog-proof"
    path.write_text(change(text))
    go, ours, go_out, our_out = both_receipt(bundleverify, path, vkey, policy)
    assert (go, ours) == (expected, expected), f"Go {go}: {go_out}\ntilsyn {ours}: {our_out}"
    if expected == 0:
        assert go_out.startswith("ok receipt 22 ")
