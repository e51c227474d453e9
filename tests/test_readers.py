"""Reading personal data needs the reader's own key: the database and the KEK open nothing by themselves.

Each scenario opens the ledger afresh, as a different person would on their own machine: with the
database and the operator's KEK, and with — or without — a permitted reader's own key home.
"""

from __future__ import annotations

import base64
import importlib.util
import sqlite3
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tilsyn.cli.main import cli
from tilsyn.ledger import AuthorizationError, KeyStore, Ledger, verify_ledger
from tilsyn.ledger.personal import group_entries, sealed_generation
from tilsyn.ledger.readerkeys import NoReaderKey, reader_key_path
from tilsyn.ledger.readers import GROUP_KEY, READERS_STREAM
from tilsyn.standards import events as ev
from tilsyn.standards.service import NO_READER_KEY, Supervision

_spec = importlib.util.spec_from_file_location("tilsyn_tests_test_personal", Path(__file__).with_name("test_personal.py"))
personal = sys.modules.setdefault(_spec.name, importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(personal)
KEK, PLUGINS, _observe = personal.KEK, personal.PLUGINS, personal._observe


def _fresh(path: Path) -> Ledger:
    """The same database and KEK, opened by another process that holds no key yet."""
    return Ledger.open(f"sqlite:///{path / 'tilsyn.db'}", PLUGINS.policy(), kek=KEK)


def _texts(sup: Supervision) -> list[str]:
    state = sup.state("T-1")
    return [sup.reveal("T-1", o, "text") for o in state.observations]


def _setup(tmp_path):
    ledger, sup, karen, lone = personal._setup(tmp_path)
    _observe(sup, karen, "B-17", "Anders Jensen blev fastholdt i køkkenet")
    return ledger, sup, karen, lone


def test_the_database_and_the_kek_without_a_readers_key_open_nothing(tmp_path):
    ledger, sup, karen, _ = _setup(tmp_path)
    outsider = _fresh(tmp_path)
    event = next(e for e in outsider.read(stream="tilbud/T-1") if e.type == ev.OBSERVATION)
    with pytest.raises(NoReaderKey, match="nobody acting here holds a reader key"):
        outsider.reveal(event.payload["text"], "tilbud/T-1", event.statement.stream_version, "text")
    assert _texts(Supervision(outsider, PLUGINS)) == [NO_READER_KEY]
    # By hand, as an insider would: the KEK opens the row's outer layer, and what is inside is sealed to
    # the reader group — no 32-byte subject key in sight.
    row = sqlite3.connect(tmp_path / "tilsyn.db").execute(
        "select wrapped from subject_keys where subject = 'B-17'").fetchone()[0]
    inner = outsider.vault._unwrap("B-17", outsider.vault.status("B-17").kek_id, bytes(row))
    entries = group_entries(inner)
    assert entries and set(entries) == {sealed_generation(event.payload["text"])}
    # The authority (admin) with the KEK, the database and its own key is no reader either.
    admin = _fresh(tmp_path)
    admin.signer("Socialtilsyn Øst", KeyStore(tmp_path / "home"))
    assert _texts(Supervision(admin, PLUGINS)) == [NO_READER_KEY]


def test_a_permitted_reader_with_their_own_key_reads(tmp_path):
    ledger, sup, karen, _ = _setup(tmp_path)
    lone = _fresh(tmp_path)  # the tilsynsleder, who recorded nothing, on her own machine
    lone.signer("Lone", KeyStore(tmp_path / "home"))
    assert _texts(Supervision(lone, PLUGINS)) == ["Anders Jensen blev fastholdt i køkkenet"]
    assert reader_key_path(tmp_path / "home", lone.registry().active_key("Lone").key_id).stat().st_mode & 0o777 == 0o600


def test_a_reader_who_joins_later_reads_what_was_sealed_before(tmp_path):
    ledger, sup, karen, lone = _setup(tmp_path)
    authority = ledger.signer("Socialtilsyn Øst", KeyStore(tmp_path / "home"))
    ledger.register_key(authority, "Mette", ["tilsynskonsulent"], KeyStore(tmp_path / "mette"))
    mette = _fresh(tmp_path)
    mette.signer("Mette", KeyStore(tmp_path / "mette"))
    assert _texts(Supervision(mette, PLUGINS)) == [NO_READER_KEY]  # not in the group until a reader rotates
    ledger.readers.rotate(karen)
    mette = _fresh(tmp_path)
    mette.signer("Mette", KeyStore(tmp_path / "mette"))
    assert _texts(Supervision(mette, PLUGINS)) == ["Anders Jensen blev fastholdt i køkkenet"]


def test_a_removed_reader_cannot_read_what_is_sealed_after_the_removal(tmp_path):
    ledger, sup, karen, lone = _setup(tmp_path)
    authority = ledger.signer("Socialtilsyn Øst", KeyStore(tmp_path / "home"))
    mette_home = KeyStore(tmp_path / "mette")
    ledger.register_key(authority, "Mette", ["tilsynskonsulent"], mette_home)
    ledger.readers.rotate(karen)
    ledger.revoke_key(authority, "Mette", "fratrådt")
    after = _observe(sup, karen, "B-17", "Anders Jensen fik ny kontaktperson")  # rotates: Mette is out
    assert sealed_generation(after.payload["text"]) == 3
    epochs = [e for e in ledger.read(stream=READERS_STREAM) if e.type == GROUP_KEY]
    assert [len(e.payload["members"]) for e in epochs] == [2, 3, 2]  # Karen and Lone; with Mette; without

    mette = _fresh(tmp_path)
    assert mette.unlock_reader("Mette", mette_home) == 1  # her own key home, her revoked key's reader key
    texts = _texts(Supervision(mette, PLUGINS))
    assert texts == ["Anders Jensen blev fastholdt i køkkenet", NO_READER_KEY]
    karen_again = _fresh(tmp_path)
    karen_again.signer("Karen", KeyStore(tmp_path / "home"))
    assert _texts(Supervision(karen_again, PLUGINS)) == ["Anders Jensen blev fastholdt i køkkenet",
                                                          "Anders Jensen fik ny kontaktperson"]
    assert verify_ledger(ledger.store, ledger.policy, kek=KEK).ok


def test_only_a_permitted_reader_can_sign_a_group_key(tmp_path):
    ledger, sup, karen, lone = _setup(tmp_path)
    authority = ledger.signer("Socialtilsyn Øst", KeyStore(tmp_path / "home"))
    with pytest.raises(AuthorizationError, match="not a permitted reader"):
        ledger.readers.rotate(authority)
    # Nor by hand: the admin's signature on a group-key event is refused at append (the role is missing).
    payload = next(e for e in ledger.read(stream=READERS_STREAM) if e.type == GROUP_KEY).payload | {"epoch": 2}
    with pytest.raises(AuthorizationError, match="lacks the role"):
        ledger.record(authority, READERS_STREAM, GROUP_KEY, payload)


def test_a_group_epoch_that_leaves_out_a_permitted_reader_is_never_sealed_under(tmp_path):
    from tilsyn.ledger.readerkeys import new_epoch

    ledger, sup, karen, lone = _setup(tmp_path)
    state = ledger.readers.state()
    karen_only = {karen.key_id: state.reader_keys[karen.key_id][0]}
    _, payload = new_epoch(ledger.genesis_key_id, 2, karen_only, None)
    ledger.record(karen, READERS_STREAM, GROUP_KEY, payload)  # signed by a reader, but Lone is left out
    state = ledger.readers.state()
    assert "left out" in state.current().problem
    after = _observe(sup, karen, "B-18", "Birte Hansen trives")
    assert sealed_generation(after.payload["text"]) == 3  # a proper epoch was made first
    lone_view = _fresh(tmp_path)
    lone_view.signer("Lone", KeyStore(tmp_path / "home"))
    assert _texts(Supervision(lone_view, PLUGINS))[-1] == "Birte Hansen trives"


def test_a_reader_key_is_signed_by_its_owner_not_by_an_admin(tmp_path):
    from tilsyn.ledger.readers import READER_KEY

    ledger, sup, karen, lone = _setup(tmp_path)
    authority = ledger.signer("Socialtilsyn Øst", KeyStore(tmp_path / "home"))
    fake = {"key_id": karen.key_id, "x25519_public_key": base64.b64encode(b"\x01" * 32).decode()}
    with pytest.raises(AuthorizationError):
        ledger.record(authority, READERS_STREAM, READER_KEY, fake)
    # Signed by another reader for Karen's key id: recorded, but it binds nothing to Karen.
    ledger.record(lone, READERS_STREAM, READER_KEY, fake)
    assert ledger.readers.state().reader_keys[karen.key_id][0] != b"\x01" * 32


def test_status_history_and_report_in_clear_only_for_a_reader_acting_with_their_own_key(tmp_path):
    home = tmp_path / "home"
    env = {"TILSYN_HOME": str(home), "TILSYN_DB": None, "TILSYN_ACTOR": None, "TILSYN_PASSPHRASE": None,
           "TILSYN_KEK": None, "TILSYN_KEK_FILE": None}

    def run(*args, **extra):
        result = CliRunner().invoke(cli, ["--db", str(tmp_path / "tilsyn.db"), *args], env=env | extra,
                                    catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output)
        return result.stdout

    run("init", "--authority", "Socialtilsyn Øst")
    run("--as", "Socialtilsyn Øst", "keys", "add", "Karen", "--role", "tilsynskonsulent")
    run("--as", "Socialtilsyn Øst", "keys", "add", "Mette", "--role", "tilbudsleder")
    run("--as", "Karen", "tilbud", "add", "T-1", "--name", "Lærkehøj", "--type", "døgntilbud")
    run("--as", "Karen", "visit", "start", "T-1", "--kind", "anmeldt")
    run("--as", "Karen", "observe", "T-1", "2.3.1", "--source", "borger", "--method", "interview",
        "--subject", "B-17", "--text", "Anders Jensen blev fastholdt")
    for command in (("status", "T-1", "--json"), ("history", "T-1", "--json"), ("history", "T-1")):
        assert "Anders Jensen" in run("--as", "Karen", *command)
        for who in ((), ("--as", "Mette"), ("--as", "Socialtilsyn Øst")):
            assert "Anders Jensen" not in run(*who, *command)
    for who in ((), ("--as", "Mette"), ("--as", "Socialtilsyn Øst")):
        for command in (("status", "T-1"), ("history", "T-1")):
            assert "Personoplysninger er skjult" in run(*who, *command)
    assert "skjult" not in run("--as", "Karen", "status", "T-1")
    run("--as", "Karen", "report", "T-1", "--out", str(tmp_path / "r.html"))
    assert "Anders Jensen" in (tmp_path / "r.html").read_text()
    run("--as", "Mette", "report", "T-1", "--out", str(tmp_path / "m.html"))
    assert "Anders Jensen" not in (tmp_path / "m.html").read_text()
    # Karen's reader key moved away: her role alone shows nothing, and the note says why.
    key = next((home / "keys").glob("*.x25519.pem"))
    key.rename(tmp_path / "elsewhere.pem")
    out = run("--as", "Karen", "history", "T-1")
    assert "Anders Jensen" not in out and "ingen læsenøgle" in out and "KEK" in out


def test_a_ledger_of_before_reader_groups_keeps_working_and_its_old_keys_move_under_the_group(tmp_path):
    """Old rows held the subject key under the KEK alone (tilsyn-enc:v1). They still open until the first
    group key exists; then they are sealed to the group too, and the KEK alone opens nothing."""
    import os

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from tilsyn.ledger.personal import PREFIX, _aad, kek_id

    ledger, sup, karen, lone = personal._setup(tmp_path)
    legacy = os.urandom(32)
    version = ledger.stream_version("tilbud/T-1") + 1
    nonce = os.urandom(12)
    old_text = PREFIX + "B-9:" + base64.b64encode(nonce + AESGCM(legacy).encrypt(
        nonce, "Carl Nielsen, gammel tekst".encode(), _aad("tilbud/T-1", version, "text"))).decode()
    wrap_nonce = os.urandom(12)
    old_row = wrap_nonce + AESGCM(KEK).encrypt(wrap_nonce, legacy, b"B-9")
    with ledger.store.writing() as conn:  # as an older version wrote it
        conn.exec_driver_sql("INSERT INTO subject_keys (subject, wrapped, kek_id, created_at) VALUES (?, ?, ?, ?)",
                             ("B-9", old_row, kek_id(KEK), "2025-01-01T00:00:00Z"))
    sup.record(karen, "T-1", ev.OBSERVATION, {"marker": "2.3.1", "source": "borger", "method": "interview",
                                               "text": old_text, "subject": "B-9"})
    assert not list(ledger.read(stream=READERS_STREAM, types=[GROUP_KEY]))  # nothing sealed anew: no group yet
    assert _texts(Supervision(_fresh(tmp_path), PLUGINS)) == ["Carl Nielsen, gammel tekst"]  # KEK alone, as before

    _observe(sup, karen, "B-17", "Anders Jensen")  # the first group key: old keys move under it
    assert _texts(Supervision(_fresh(tmp_path), PLUGINS)) == [NO_READER_KEY, NO_READER_KEY]
    reader = _fresh(tmp_path)
    reader.signer("Lone", KeyStore(tmp_path / "home"))
    assert _texts(Supervision(reader, PLUGINS)) == ["Carl Nielsen, gammel tekst", "Anders Jensen"]
    assert old_row not in personal._raw_bytes(tmp_path)  # the KEK-only row is gone from the files too
    assert verify_ledger(ledger.store, ledger.policy, kek=KEK).ok
