"""Identities made real (issue 10): statements bind their ledger; the ledger's own log key signs checkpoints."""

from __future__ import annotations

import base64
import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tilsyn.cli.main import cli
from tilsyn.ledger import (AuthorizationError, KeyStore, Ledger, ValidationError, create_checkpoint, export_bundle,
                           verify_bundle, verify_checkpoints, verify_ledger)
from tilsyn.ledger.checkpoint import checkpoint_body, sign_note
from tilsyn.ledger.checkpoints import list_checkpoints, note_key_name
from tilsyn.ledger.envelope import Record, encode_record, leaf_hash
from tilsyn.ledger.heads import HEADS_STREAM, STREAM_HEADS
from tilsyn.ledger.enrollment import make_request
from tilsyn.ledger.identity import KEY_REGISTERED, KEYS_STREAM, LOG_ACTOR
from tilsyn.ledger.signing import SignedStatement
from tilsyn.ledger.store import checkpoints

from .conftest import make_policy

AUTHORITY = "Socialtilsyn Øst"
STREAM = "tilbud/T-1001"


def second_ledger(tmp_path, name: str = "other"):
    """Another authority's ledger with a key home of its own."""
    keystore = KeyStore(tmp_path / f"{name}-home")
    ledger, admin = Ledger.init(f"sqlite:///{tmp_path / (name + '.db')}", "Socialtilsyn Syd", keystore,
                                policy=make_policy())
    return ledger, admin, keystore


def register_same_key(ledger: Ledger, admin, signer) -> None:
    """The same person enrolls the same key in a second ledger (what the replay of issue 10 relied on)."""
    request = make_request(signer.private_key, signer.actor, ledger.ledger_id, ledger.origin)
    ledger.register_request(admin, request, ["tilsynskonsulent"])


def append_raw(ledger: Ledger, data: bytes, signature: bytes) -> int:
    """An insider's row: statement bytes and signature chained onto the head, bypassing every check."""
    from tilsyn.ledger.envelope import decode_statement

    s = decode_statement(data)
    head = ledger.head()
    seq = head.seq + 1
    raw = encode_record(Record(seq, head.recorded_at, head.leaf_hash.hex(), data, signature))
    with ledger.store.writing() as conn:
        ledger.store.insert(conn, [(seq, s.stream, s.stream_version, s.type, s.actor, s.occurred_at,
                                    head.recorded_at, leaf_hash(raw), raw)])
    return seq


# -- statements bind their ledger ----------------------------------------------------------------
def test_every_statement_names_its_ledger(ledger):
    genesis = next(ledger.read())
    assert len(ledger.ledger_id) == 32 and int(ledger.ledger_id, 16) >= 0
    assert genesis.payload["ledger_id"] == ledger.ledger_id == genesis.statement.ledger
    assert ledger.origin == f"tilsyn-ledger/{ledger.ledger_id}"
    assert {e.statement.ledger for e in ledger.read()} == {ledger.ledger_id}
    assert b'"ledger":"' + ledger.ledger_id.encode() + b'"' in genesis.statement_bytes


def test_cross_ledger_replay_is_refused_on_append(ledger, keystore, tmp_path):
    karen = ledger.signer("Karen", keystore)
    event = ledger.record(karen, STREAM, "test.Note/1", {"text": "kun i denne ledger"})
    other, admin, _ = second_ledger(tmp_path)
    register_same_key(other, admin, karen)  # the same person, the same key, elsewhere
    before = other.count()
    with pytest.raises(AuthorizationError, match="signed for ledger"):
        other.append(SignedStatement(event.statement, event.statement_bytes, event.signature))
    assert other.count() == before and verify_ledger(other.store, other.policy).ok
    other.close()


def test_verify_refuses_a_replayed_statement(ledger, keystore, tmp_path):
    karen = ledger.signer("Karen", keystore)
    other, admin, _ = second_ledger(tmp_path)
    register_same_key(other, admin, karen)
    # A statement Karen signed for the first ledger, at the stream version the second one expects next.
    stmt = ledger.statement(karen, STREAM, "test.Note/1", {"text": "genbrugt"}, stream_version=1)
    signed = karen.sign(stmt)
    seq = append_raw(other, signed.data, signed.signature)
    report = verify_ledger(other.store, other.policy)
    assert not report.ok and report.first.seq == seq and "signed for ledger" in report.first.message
    other.close()


def test_verify_bundle_refuses_a_replayed_statement(ledger, keystore, tmp_path):
    """The authority of the second ledger forges its own bundle with a statement from the first one."""
    from .test_bundle import reseal

    karen = ledger.signer("Karen", keystore)
    other, admin, other_home = second_ledger(tmp_path)
    register_same_key(other, admin, karen)
    other.log = other.log_signer(other_home)
    honest = other.record(karen, STREAM, "test.Note/1", {"text": "ærlig"})  # Karen signs for this ledger too
    doc = json.loads(export_bundle(other, STREAM, other.log))
    assert verify_bundle(json.dumps(doc).encode()).ok
    replayed = karen.sign(ledger.statement(karen, STREAM, "test.Note/1", {"text": "ærlig"}, stream_version=1))
    raw = encode_record(Record(honest.seq, honest.recorded_at, honest.prev, replayed.data, replayed.signature))
    forged = reseal(other, doc, {honest.seq: raw})
    report = verify_bundle(json.dumps(forged).encode())
    assert not report.ok
    assert any(p.seq == honest.seq and "signed for ledger" in p.message for p in report.problems)
    other.close()


# -- the ledger's own log key --------------------------------------------------------------------
def test_the_log_key_is_registered_in_genesis_and_held_by_the_authority_home_only(ledger, keystore):
    genesis = next(ledger.read())
    log = ledger.log_key()
    assert genesis.payload["log_key"] == {"key_id": log.key_id,
                                          "public_key": base64.b64encode(log.public_key).decode()}
    assert log.actor == LOG_ACTOR and log.roles == {"ledger"} and log.key_id != ledger.genesis_key_id
    assert keystore.path(log.key_id).exists() and keystore.path(log.key_id).stat().st_mode & 0o777 == 0o600
    cp = create_checkpoint(ledger, ledger.log)
    heads = next(ledger.read(after_seq=cp.size - 1))
    assert (heads.type, heads.actor, heads.statement.key_id) == (STREAM_HEADS, LOG_ACTOR, log.key_id)


def test_no_person_signs_stream_heads_or_takes_the_log_key(ledger, keystore):
    authority = ledger.authority_signer
    before = ledger.count()
    with pytest.raises(AuthorizationError, match="lacks the role"):
        ledger.record(authority, HEADS_STREAM, STREAM_HEADS, {"size": before, "streams": 1, "root": "A" * 43 + "="})
    with pytest.raises(ValidationError, match="reserved"):
        ledger.register_key(authority, LOG_ACTOR, ["admin"], keystore)
    with pytest.raises(ValidationError, match="only rotated"):
        ledger.revoke_key(authority, LOG_ACTOR, "vi vil signere selv")
    with pytest.raises(ValidationError, match="no role"):
        ledger.grant_role(authority, LOG_ACTOR, "admin")
    assert ledger.count() == before and verify_ledger(ledger.store, ledger.policy).ok


def test_rotating_the_log_key(ledger, keystore):
    karen = ledger.signer("Karen", keystore)
    ledger.record(karen, STREAM, "test.Note/1", {"text": "før"})
    old = ledger.log
    first = create_checkpoint(ledger, old)
    receipt_note = first.note
    event = ledger.rotate_ledger_key(keystore)
    new = ledger.log_signer(keystore)
    assert new.key_id != old.key_id and event.actor == LOG_ACTOR and event.statement.key_id == old.key_id
    assert [k.key_id for k in ledger.log_keys()] == [old.key_id, new.key_id]
    ledger.record(karen, STREAM, "test.Note/1", {"text": "efter"})
    # The old key is refused for new checkpoints; nothing is appended when it tries.
    before = ledger.count()
    with pytest.raises(AuthorizationError, match="rotated"):
        create_checkpoint(ledger, old)
    assert ledger.count() == before
    second = create_checkpoint(ledger, new)
    assert verify_checkpoints(ledger).ok and verify_ledger(ledger.store, ledger.policy).ok
    assert verify_bundle(export_bundle(ledger, STREAM)).ok  # the bundle follows the hand-over
    # A checkpoint the old key signs after the rotation is reported, though its root is true.
    root = ledger.tree.root(second.size)
    body = checkpoint_body(ledger.origin, second.size, root)
    late = sign_note(body, note_key_name(ledger.origin), old.private_key)
    with ledger.store.writing() as conn:
        conn.execute(checkpoints.insert().values(size=second.size, root=root, note=late, created_at=second.created_at))
    report = verify_checkpoints(ledger)
    assert not report.ok and "log key valid at its size" in report.problems[0].message
    # What the old key signed before the rotation still stands against the ledger.
    from tilsyn.ledger.against import check_against, read_evidence

    result = check_against(ledger, [read_evidence("cp", receipt_note.encode())])[0]
    assert result.ok, result.message


def test_a_forged_rotation_is_refused(ledger, keystore):
    """A rotation whose new key does not prove possession (someone else's public key) never lands."""
    from tilsyn.ledger.identity import LEDGER_KEY_ROTATED
    from tilsyn.ledger.keys import generate, key_id, public_bytes

    stranger = public_bytes(generate())
    payload = {"previous_key_id": ledger.log.key_id, "key_id": key_id(stranger),
               "public_key": base64.b64encode(stranger).decode(), "proof": base64.b64encode(bytes(64)).decode()}
    before = ledger.count()
    with pytest.raises(ValidationError, match="proof of possession"):
        ledger.record(ledger.log, KEYS_STREAM, LEDGER_KEY_ROTATED, payload)
    assert ledger.count() == before


def test_cli_checkpoint_rotate_ledger_and_vkey(tmp_path):
    home, db = tmp_path / "home", tmp_path / "t.db"
    env = {"TILSYN_HOME": str(home), "TILSYN_DB": str(db), "TILSYN_ACTOR": None}
    run = lambda *a: CliRunner().invoke(cli, list(a), env=env)  # noqa: E731
    assert run("init", "--authority", AUTHORITY).exit_code == 0
    vkey = run("checkpoint", "--vkey").stdout.strip()
    rotated = run("--as", AUTHORITY, "keys", "rotate-ledger", "--json")
    assert rotated.exit_code == 0, rotated.output
    assert json.loads(rotated.stdout)["type"] == "ledger.LedgerKeyRotated/1"
    new_vkey = run("checkpoint", "--vkey").stdout.strip()
    assert new_vkey != vkey and new_vkey.split("+")[0] == vkey.split("+")[0]
    made = run("--as", AUTHORITY, "checkpoint", "--no-witness", "--json")
    assert made.exit_code == 0, made.output
    assert run("verify").exit_code == 0
    from tilsyn.ledger.witnessing import log_vkey

    with Ledger.open(str(db)) as ledger:
        assert len(list_checkpoints(ledger)) == 1 and log_vkey(ledger) == new_vkey
    refused = run("--as", AUTHORITY, "keys", "revoke", "ledger", "--reason", "væk")
    assert refused.exit_code == 2 and refused.stderr.startswith("tilsyn: error: ") and "rotated" in refused.stderr


# -- enrollment: the person's own key, the admin never holds it ---------------------------------------
def cli_run(home, db, *args, passphrase: str | None = None):
    env = {"TILSYN_HOME": str(home), "TILSYN_DB": str(db), "TILSYN_ACTOR": None, "TILSYN_PASSPHRASE": passphrase}
    return CliRunner().invoke(cli, list(args), env=env)


def test_enrollment_round_trip_with_two_key_homes(tmp_path):
    admin_home, person_home, db = tmp_path / "admin-machine", tmp_path / "mette-machine", tmp_path / "t.db"
    assert cli_run(admin_home, db, "init", "--authority", AUTHORITY).exit_code == 0
    request = tmp_path / "mette.request.json"
    made = cli_run(person_home, db, "keys", "generate", "Mette Lund", "--out", str(request), "--json",
                   passphrase="mettes eget")
    assert made.exit_code == 0, made.output
    kid = json.loads(made.stdout)["key_id"]
    doc = json.loads(request.read_text())
    assert doc["format"] == "tilsyn-key-request/1" and doc["name"] == "Mette Lund" and "private" not in request.read_text()
    added = cli_run(admin_home, db, "--as", AUTHORITY, "keys", "add", "Mette Lund", "--role", "tilbudsleder",
                    "--tilbud", "T-1001", "--request", str(request), "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["key_file"] is None
    # The private key is on the person's machine only, encrypted under their own passphrase.
    assert (person_home / "keys" / f"{kid}.pem").exists()
    assert b"ENCRYPTED" in (person_home / "keys" / f"{kid}.pem").read_bytes()
    assert not (admin_home / "keys" / f"{kid}.pem").exists()
    assert all(kid not in p.name for p in admin_home.rglob("*"))
    with Ledger.open(str(db), make_policy()) as ledger:
        registered = next(e for e in ledger.read(stream=KEYS_STREAM) if e.type == KEY_REGISTERED)
        assert registered.payload["proof"] == doc["proof"] and registered.payload["tilbud"] == ["T-1001"]
        mette = ledger.signer("Mette Lund", KeyStore(person_home), "mettes eget")
    with Ledger.open(str(db), make_policy()) as ledger:
        ledger.register_key(ledger.signer(AUTHORITY, KeyStore(admin_home)), "Ole", ["tilsynskonsulent"],
                            KeyStore(admin_home))
    verified = cli_run(admin_home, db, "verify")
    assert verified.exit_code == 0, verified.output
    assert mette.key_id == kid


def test_a_request_for_another_ledger_or_altered_is_refused(ledger, keystore, tmp_path):
    from tilsyn.ledger.keys import generate

    other, _, _ = second_ledger(tmp_path)
    key = generate()
    foreign = make_request(key, "Per", other.ledger_id, other.origin)
    before = ledger.count()
    with pytest.raises(ValidationError, match="made for ledger"):
        ledger.register_request(ledger.authority_signer, foreign, ["tilsynskonsulent"])
    doc = json.loads(make_request(key, "Per", ledger.ledger_id, ledger.origin))
    for change in ({"name": "Per Hansen"}, {"public_key": base64.b64encode(bytes(32)).decode()}):
        forged = json.dumps(dict(doc, **change)).encode()
        with pytest.raises(ValidationError):
            ledger.register_request(ledger.authority_signer, forged, ["tilsynskonsulent"])
    with pytest.raises(ValidationError, match="not for"):
        ledger.register_request(ledger.authority_signer, json.dumps(doc).encode(), ["tilsynskonsulent"], name="Ole")
    assert ledger.count() == before
    other.close()


def test_cli_add_with_a_bad_request_exits_2_and_changes_nothing(tmp_path):
    home, db = tmp_path / "home", tmp_path / "t.db"
    assert cli_run(home, db, "init", "--authority", AUTHORITY).exit_code == 0
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"format": "tilsyn-key-request/1", "name": "Per"}')
    with Ledger.open(str(db)) as ledger:
        before = ledger.count()
    result = cli_run(home, db, "--as", AUTHORITY, "keys", "add", "Per", "--role", "tilsynskonsulent", "--request", str(bad))
    assert result.exit_code == 2 and result.stderr.startswith("tilsyn: error: ") and "lacks" in result.stderr
    with Ledger.open(str(db)) as ledger:
        assert ledger.count() == before


def test_verify_rechecks_the_proof_of_possession(ledger, keystore):
    """An insider swaps the public key in a registration (re-signed by the admin): verify refuses it."""
    from tilsyn.ledger.keys import generate, key_id, public_bytes

    authority = ledger.authority_signer
    stranger = public_bytes(generate())
    request = json.loads(make_request(generate(), "Per", ledger.ledger_id, ledger.origin))
    payload = {"name": "Per", "key_id": key_id(stranger), "public_key": base64.b64encode(stranger).decode(),
               "roles": ["tilsynskonsulent"], "proof": request["proof"]}
    stmt = ledger.statement(authority, KEYS_STREAM, KEY_REGISTERED, payload)
    with pytest.raises(ValidationError, match="proof of possession"):
        ledger.append(authority.sign(stmt))
    signed = authority.sign(stmt)
    seq = append_raw(ledger, signed.data, signed.signature)
    report = verify_ledger(ledger.store, ledger.policy)
    assert not report.ok and report.first.seq == seq and "proof of possession" in report.first.message


# -- scoped roles -----------------------------------------------------------------------------
def scoped_ledger(ledger, keystore):
    """Per is a tilsynskonsulent for T-1 only; Karen (authority-wide) works on T-2."""
    ledger.register_key(ledger.authority_signer, "Per", ["tilsynskonsulent"], keystore, tilbud=["T-1"])
    return ledger.signer("Per", keystore), ledger.signer("Karen", keystore)


def test_a_scoped_role_acts_only_on_its_tilbud(ledger, keystore):
    per, karen = scoped_ledger(ledger, keystore)
    ledger.record(per, "tilbud/T-1", "test.Note/1", {"text": "på T-1"})
    ledger.record(karen, "tilbud/T-2", "test.Note/1", {"text": "på T-2"})
    before = ledger.count()
    for stream in ("tilbud/T-2", "notes/general"):
        with pytest.raises(AuthorizationError, match="only for tilbud T-1"):
            ledger.record(per, stream, "test.Note/1", {"text": "uden for rammen"})
    assert ledger.count() == before
    ledger.grant_role(ledger.authority_signer, "Per", "tilsynskonsulent", tilbud=["T-2"])
    ledger.record(per, "tilbud/T-2", "test.Note/1", {"text": "nu også T-2"})
    info = ledger.key_info(per.key_id)
    assert info.scopes == {"tilsynskonsulent": {"T-1", "T-2"}} and info.to_dict()["tilbud"] == {
        "tilsynskonsulent": ["T-1", "T-2"]}
    with pytest.raises(ValidationError, match="cannot be limited"):
        ledger.register_key(ledger.authority_signer, "Ib", ["admin"], keystore, tilbud=["T-1"])
    assert verify_ledger(ledger.store, ledger.policy).ok


def test_verify_and_verify_bundle_refuse_an_event_beyond_its_scope(ledger, keystore):
    from .test_bundle import reseal

    per, karen = scoped_ledger(ledger, keystore)
    honest = ledger.record(karen, "tilbud/T-2", "test.Note/1", {"text": "Karens"})
    doc = json.loads(export_bundle(ledger, "tilbud/T-2", ledger.log))
    # The forger holds Per's key and the database: Per's own valid signature on an event about T-2.
    beyond = per.sign(ledger.statement(per, "tilbud/T-2", "test.Note/1", {"text": "Pers"}, stream_version=1))
    raw = encode_record(Record(honest.seq, honest.recorded_at, honest.prev, beyond.data, beyond.signature))
    report = verify_bundle(json.dumps(reseal(ledger, doc, {honest.seq: raw})).encode())
    assert not report.ok and any(p.seq == honest.seq and "only for tilbud T-1" in p.message for p in report.problems)
    late = per.sign(ledger.statement(per, "tilbud/T-2", "test.Note/1", {"text": "Pers"}))
    seq = append_raw(ledger, late.data, late.signature)
    found = verify_ledger(ledger.store, ledger.policy)
    assert not found.ok and found.first.seq == seq and "only for tilbud T-1" in found.first.message


def test_a_scoped_tilbudsleder_is_refused_on_another_tilbuds_plan(tmp_path):
    """The issue's case: the leader of one tilbud approved another's plan. Now exit 2, ledger unchanged."""
    from tilsyn.cli.demo import run_demo

    demo, home = tmp_path / "demo", tmp_path / "ib-machine"
    assert run_demo(demo).ok
    db = demo / "tilsyn.db"
    admin = lambda *a: cli_run(demo, db, *a)  # noqa: E731
    assert admin("--as", "Karen Holm", "tilbud", "add", "T-2002", "--name", "Solsikken",
                 "--type", "dagtilbud").exit_code == 0
    request = tmp_path / "ib.json"
    assert cli_run(home, db, "keys", "generate", "Ib Berg", "--out", str(request)).exit_code == 0
    added = admin("--as", AUTHORITY, "keys", "add", "Ib Berg", "--role", "tilbudsleder", "--tilbud", "T-2002",
                  "--request", str(request))
    assert added.exit_code == 0 and "tilbudsleder for T-2002" in added.stdout, added.output
    ib = lambda *a: cli_run(home, db, "--as", "Ib Berg", *a)  # noqa: E731
    with Ledger.open(str(db)) as ledger:
        before = ledger.count()
    row = ["--priority", "9", "--tema", "Organisation og ledelse", "--emne", "Supervision", "--maal", "M",
           "--hvad", "H", "--hvordan", "H", "--start", "2026-12-01", "--slut", "2027-01-31", "--dokumentation", "D",
           "--hvem", "Ib Berg"]
    for args in (["plan", "add", "T-1001", *row], ["plan", "approve", "T-1001"]):
        refused = ib(*args)
        assert refused.exit_code == 2, refused.output
        assert refused.stderr.startswith("tilsyn: error: ") and "Ib Berg er tilbudsleder for T-2002" in refused.stderr
        assert "Traceback" not in refused.output
    with Ledger.open(str(db)) as ledger:
        assert ledger.count() == before
    assert admin("verify").exit_code == 0


# -- rotations, the last admin, one active key per name ---------------------------------------------
def test_a_person_rotates_their_own_key(ledger, keystore, tmp_path):
    ledger.register_key(ledger.authority_signer, "Per", ["tilsynskonsulent"], keystore, tilbud=["T-1"])
    per = ledger.signer("Per", keystore)
    ledger.record(per, "tilbud/T-1", "test.Note/1", {"text": "med den gamle nøgle"})
    own_home = KeyStore(tmp_path / "per-new-home")
    event, new = ledger.rotate_key(per, own_home, "pers nye")
    assert event.statement.key_id == per.key_id and event.payload["previous_key_id"] == per.key_id
    assert new.key_id != per.key_id and own_home.path(new.key_id).exists()
    info = ledger.key_info(new.key_id)
    assert info.roles == {"tilsynskonsulent"} and info.scopes == {"tilsynskonsulent": {"T-1"}}
    before = ledger.count()
    with pytest.raises(AuthorizationError, match="rotated to"):
        ledger.record(per, "tilbud/T-1", "test.Note/1", {"text": "den gamle er væk"})
    assert ledger.count() == before
    ledger.record(new, "tilbud/T-1", "test.Note/1", {"text": "med den nye"})
    assert verify_ledger(ledger.store, ledger.policy).ok


def test_a_second_active_key_for_a_name_is_refused(ledger, keystore):
    from tilsyn.ledger.keys import generate

    before = ledger.count()
    with pytest.raises(ValidationError, match="already has an active key"):
        ledger.register_key(ledger.authority_signer, "Karen", ["tilsynsleder"], keystore)
    request = make_request(generate(), "Karen", ledger.ledger_id, ledger.origin)
    with pytest.raises(ValidationError, match="already has an active key"):
        ledger.register_request(ledger.authority_signer, request, ["tilsynsleder"])
    # Past the Ledger API's own check, the registry refuses it too (what verify re-applies).
    from tilsyn.ledger.enrollment import read_request

    payload = read_request(request, ledger.ledger_id).payload(["tilsynsleder"])
    with pytest.raises(ValidationError, match="declared rotation"):
        ledger.record(ledger.authority_signer, KEYS_STREAM, KEY_REGISTERED, payload)
    assert ledger.count() == before


def test_the_last_admin_key_cannot_be_revoked(ledger, keystore, tmp_path):
    before = ledger.count()
    with pytest.raises(ValidationError, match="last active admin"):
        ledger.revoke_key(ledger.authority_signer, AUTHORITY, "fratrådt")
    assert ledger.count() == before
    ledger.register_key(ledger.authority_signer, "Anne", ["admin"], keystore)
    ledger.revoke_key(ledger.authority_signer, AUTHORITY, "Anne overtager")
    anne = ledger.signer("Anne", keystore)
    with pytest.raises(ValidationError, match="last active admin"):
        ledger.revoke_key(anne, "Anne", "ingen tilbage")
    # A rotation is the way to replace the last admin's key: the successor comes with it.
    _, anne2 = ledger.rotate_key(anne, KeyStore(tmp_path / "anne"))
    assert "admin" in ledger.key_info(anne2.key_id).roles and verify_ledger(ledger.store, ledger.policy).ok


def test_cli_revoking_the_last_admin_or_the_ledger_key_exits_2(tmp_path):
    home, db = tmp_path / "home", tmp_path / "t.db"
    assert cli_run(home, db, "init", "--authority", AUTHORITY).exit_code == 0
    with Ledger.open(str(db)) as ledger:
        before = ledger.count()
    for name in (AUTHORITY, "ledger"):
        result = cli_run(home, db, "--as", AUTHORITY, "keys", "revoke", name, "--reason", "væk")
        assert result.exit_code == 2 and result.stderr.startswith("tilsyn: error: "), result.output
        assert ("last active admin" if name == AUTHORITY else "only rotated") in result.stderr
    with Ledger.open(str(db)) as ledger:
        assert ledger.count() == before
    rotated = cli_run(home, db, "--as", AUTHORITY, "keys", "rotate")
    assert rotated.exit_code == 0 and "Rotated the key of" in rotated.stdout, rotated.output
    assert cli_run(home, db, "verify").exit_code == 0


# -- names --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, reason", [
    ("Karen Hоlm", "mixes scripts"),           # Cyrillic о in a Latin name
    ("KAREN HOLM", "confusable with the registered name 'Karen Holm'"),
    ("Karen\u00a0Holm", "confusable with the registered name 'Karen Holm'"),  # a no-break space
    ("Ib Berg", "confusable with the registered name 'lb Berg'"),  # capital I for small l
])
def test_confusable_names_are_refused_with_the_reason(ledger, keystore, name, reason):
    ledger.register_key(ledger.authority_signer, "Karen Holm", ["tilsynskonsulent"], keystore)
    ledger.register_key(ledger.authority_signer, "lb Berg", ["tilsynskonsulent"], keystore)
    before = ledger.count()
    with pytest.raises(ValidationError, match=reason):
        ledger.register_key(ledger.authority_signer, name, ["tilsynsleder"], keystore)
    assert ledger.count() == before


def test_names_are_registered_in_nfc_and_trimmed(ledger, keystore):
    decomposed = "  Åse Ærø\n".replace("Å", "A\u030a")  # NFD Å, surrounding whitespace
    info, _ = ledger.register_key(ledger.authority_signer, decomposed, ["tilsynskonsulent"], keystore)
    assert info.actor == "Åse Ærø" and next(ledger.read(stream=KEYS_STREAM, after_seq=info.registered_seq - 1)
                                           ).payload["name"] == "Åse Ærø"
    with pytest.raises(ValidationError, match="already has an active key"):
        ledger.register_key(ledger.authority_signer, "Åse Ærø ", ["tilsynsleder"], keystore)  # trailing space


def test_verify_refuses_a_forged_registration_of_a_look_alike_name(ledger, keystore):
    from tilsyn.ledger.keys import generate

    # The forger signs a registration of "Kаren" (Cyrillic а) with a valid proof for that name.
    key = generate()
    forged = json.loads(make_request(key, "Karen", ledger.ledger_id, ledger.origin))
    from tilsyn.ledger.identity import possession_bytes

    look_alike = "K\u0430ren"
    forged_payload = {"name": look_alike, "key_id": forged["key_id"], "public_key": forged["public_key"],
                      "roles": ["tilsynskonsulent"],
                      "proof": base64.b64encode(key.sign(possession_bytes(ledger.ledger_id, look_alike,
                                                                          forged["public_key"]))).decode()}
    authority = ledger.authority_signer
    signed = authority.sign(ledger.statement(authority, KEYS_STREAM, KEY_REGISTERED, forged_payload))
    seq = append_raw(ledger, signed.data, signed.signature)
    report = verify_ledger(ledger.store, ledger.policy)
    assert not report.ok and report.first.seq == seq and "mixes scripts" in report.first.message


# -- one meaning for key events ---------------------------------------------------------------------
def forge_key_event(ledger, type: str, payload: dict) -> int:
    """The admin signs a key event the Ledger API would never build, and an insider appends it raw."""
    authority = ledger.authority_signer
    signed = authority.sign(ledger.statement(authority, KEYS_STREAM, type, payload))
    with pytest.raises(ValidationError):
        ledger.append(signed)  # refused at append …
    return append_raw(ledger, signed.data, signed.signature)  # … and by verify once it is in the table


@pytest.mark.parametrize("type, payload, reason", [
    ("ledger.RoleGranted/1", {"name": "Lone Dahl", "roles": ["tilsynsleder"]}, "belongs to 'Karen'"),
    ("ledger.RoleGranted/1", {"name": "Karen", "roles": ["tilsynsleder", "admin"]}, "sorted, without repeats"),
    ("ledger.RoleGranted/1", {"name": "Karen", "roles": ["tilsynsleder"], "note": "x"}, "unknown members note"),
    ("ledger.KeyRevoked/1", {"name": "Lone Dahl", "reason": "fratrådt"}, "belongs to 'Karen'"),
])
def test_key_events_have_one_meaning(ledger, keystore, type, payload, reason):
    payload = {"key_id": ledger.signer("Karen", keystore).key_id, **payload}
    seq = forge_key_event(ledger, type, payload)
    report = verify_ledger(ledger.store, ledger.policy)
    assert not report.ok and report.first.seq == seq and reason in report.first.message


def test_the_reader_key_of_a_request_is_registered_and_follows_a_rotation(ledger, keystore, tmp_path):
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from tilsyn.ledger.keys import generate

    x = X25519PrivateKey.generate().public_key().public_bytes_raw()
    key = generate()
    info = ledger.register_request(ledger.authority_signer, make_request(key, "Per", ledger.ledger_id, ledger.origin, x),
                                   ["tilsynskonsulent"])
    assert info.x25519_public_key == x and info.to_dict()["x25519_public_key"] == base64.b64encode(x).decode()
    from tilsyn.ledger.signing import Signer

    _, new = ledger.rotate_key(Signer("Per", key), KeyStore(tmp_path / "per"))
    assert ledger.key_info(new.key_id).x25519_public_key == x  # carried over unless the rotation brings another
    doc = json.loads(make_request(generate(), "Ole", ledger.ledger_id, ledger.origin, x))
    doc["x25519_public_key"] = base64.b64encode(bytes(32)).decode()  # swapped after signing
    with pytest.raises(ValidationError, match="proof of possession"):
        ledger.register_request(ledger.authority_signer, json.dumps(doc).encode(), ["tilsynskonsulent"])
    assert verify_ledger(ledger.store, ledger.policy).ok
