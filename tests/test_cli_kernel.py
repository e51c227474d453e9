"""The kernel's commands as a user runs them: init, keys, log, verify — and every kind of bad input.

Most cases go through ``click.testing.CliRunner``; a few run the installed ``tilsyn`` command in a real
subprocess. Keys live in a ``TILSYN_HOME`` under ``tmp_path`` and the ledger is a SQLite file there:
nothing touches ``~/.tilsyn``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tilsyn.cli.main import cli
from tilsyn.ledger import Ledger

AUTHORITY = "Socialtilsyn Øst"
EVENT_FIELDS = {"seq", "recorded_at", "prev", "leaf_hash", "stream", "stream_version", "type", "occurred_at",
                "actor", "key_id", "ledger", "payload", "signature"}
HEX64 = re.compile(r"^[0-9a-f]{64}$")


class Tilsyn:
    """Runs ``tilsyn --db <file> …`` with a private key home; knows how many events the file holds."""

    def __init__(self, tmp_path: Path):
        self.db = tmp_path / "tilsyn.db"
        self.home = tmp_path / "home"
        # None removes a variable: the user's own $TILSYN_* settings must not leak into a test.
        self.env = {"TILSYN_HOME": str(self.home), "TILSYN_DB": None, "TILSYN_ACTOR": None, "TILSYN_PASSPHRASE": None}

    def __call__(self, *args: str, db: str | None = None, **env: str | None):
        result = CliRunner().invoke(cli, ["--db", db or str(self.db), *args], env=self.env | env,
                                    catch_exceptions=False)
        return result

    def ok(self, *args: str, **env: str | None):
        result = self(*args, **env)
        assert result.exit_code == 0, f"{args} exited {result.exit_code}: {result.stderr}"
        return result

    def count(self) -> int:
        if not self.db.exists():
            return 0
        with contextlib.closing(sqlite3.connect(self.db)) as conn:
            return conn.execute("SELECT count(*) FROM events").fetchone()[0]

    def key_files(self) -> list[str]:
        return sorted(p.name for p in (self.home / "keys").glob("*"))


@pytest.fixture
def tilsyn(tmp_path) -> Tilsyn:
    return Tilsyn(tmp_path)


@pytest.fixture
def with_keys(tilsyn) -> Tilsyn:
    """A ledger with the authority (admin) and Karen (tilsynskonsulent)."""
    tilsyn.ok("init", "--authority", AUTHORITY)
    tilsyn.ok("--as", AUTHORITY, "keys", "add", "Karen", "--role", "tilsynskonsulent")
    return tilsyn


@pytest.fixture(autouse=True)
def users_own_key_home_is_untouched():
    home = Path.home() / ".tilsyn"
    before = sorted(home.rglob("*")) if home.exists() else None
    yield
    assert (sorted(home.rglob("*")) if home.exists() else None) == before


def only_error_line(result) -> str:
    """The one line a refused command prints on stderr."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got: {result.stderr!r}"
    assert lines[0].startswith("tilsyn: error: "), lines[0]
    return lines[0]


# -- the happy path -----------------------------------------------------------------------------

def test_init_keys_log_and_verify(tilsyn):
    init = tilsyn.ok("init", "--authority", AUTHORITY, "--json")
    created = json.loads(init.stdout)
    assert created["authority"] == AUTHORITY and Path(created["key_file"]).parent == tilsyn.home / "keys"
    assert Path(created["key_file"]).stat().st_mode & 0o777 == 0o600

    added = tilsyn.ok("--as", AUTHORITY, "keys", "add", "Karen", "--role", "tilsynskonsulent")
    assert "Karen" in added.stdout and "tilsynskonsulent" in added.stdout
    granted = tilsyn.ok("--as", AUTHORITY, "keys", "grant", "Karen", "--role", "tilsynsleder")
    # seq 2: the rules in force; seq 4: Karen's reader key (signed by her new key, in the one-step path)
    assert "Granted tilsynsleder to Karen at seq 5" in granted.stdout
    tilsyn.ok("--as", AUTHORITY, "keys", "add", "Lone", "--role", "tilbudsleder", "--role", "tilsynsleder")
    revoked = tilsyn.ok("--as", AUTHORITY, "keys", "revoke", "Lone", "--reason", "left the authority")
    assert "of Lone at seq 8" in revoked.stdout
    assert tilsyn.count() == 8

    keys = json.loads(tilsyn.ok("keys", "list", "--json").stdout)
    by_name = {k["actor"]: k for k in keys}
    assert set(by_name) == {AUTHORITY, "Karen", "Lone", "ledger"}  # "ledger": the log key, made at init
    assert by_name["ledger"]["roles"] == ["ledger"] and by_name["ledger"]["key_id"] != by_name[AUTHORITY]["key_id"]
    assert by_name[AUTHORITY]["roles"] == ["admin"] and by_name[AUTHORITY]["registered_seq"] == 1
    assert by_name["Karen"]["roles"] == ["tilsynskonsulent", "tilsynsleder"] and by_name["Karen"]["revoked_seq"] is None
    assert (by_name["Lone"]["revoked_seq"], by_name["Lone"]["revoke_reason"]) == (8, "left the authority")
    table = tilsyn.ok("keys", "list").stdout
    assert "Karen" in table and "Lone" in table and "revoked at seq 8" in table

    log = tilsyn.ok("log").stdout
    assert "ledger.Genesis/1" in log and "ledger.KeyRevoked/1" in log and "ledger/keys" in log

    logged = json.loads(tilsyn.ok("log", "--json").stdout)
    with Ledger.open(str(tilsyn.db)) as ledger:
        stored = [e.to_dict() for e in ledger.read()]
        head = ledger.head().leaf_hash.hex()
    assert logged == stored
    assert [e["seq"] for e in logged] == [1, 2, 3, 4, 5, 6, 7, 8]
    for e in logged:
        assert set(e) == EVENT_FIELDS
        assert HEX64.match(e["leaf_hash"]) and HEX64.match(e["prev"]) and e["signature"]
    assert logged[0]["payload"]["authority"] == AUTHORITY and logged[0]["prev"] == "0" * 64
    assert logged[7]["payload"]["reason"] == "left the authority"

    only_keys = json.loads(tilsyn.ok("log", "--stream", "ledger/keys", "--type", "ledger.KeyRegistered/1",
                                     "--json").stdout)
    assert [e["seq"] for e in only_keys] == [3, 6]

    verify = tilsyn.ok("verify")
    assert verify.stdout.splitlines()[0] == f"ok: 8 events verified; head {head}"
    assert "not detectable: events removed from the end" in verify.stdout
    report = json.loads(tilsyn.ok("verify", "--json").stdout)
    assert report["ok"] is True and report["events"] == 8 and report["head_hash"] == head
    assert report["first_bad_seq"] is None and report["problems"] == []


def test_an_empty_log_says_so(tilsyn):
    tilsyn.ok("init", "--authority", AUTHORITY)
    assert "(no events)" in tilsyn.ok("log", "--stream", "tilbud/T-404").stdout
    assert json.loads(tilsyn.ok("log", "--stream", "tilbud/T-404", "--json").stdout) == []


def test_actor_from_the_environment(with_keys):
    with_keys.ok("keys", "add", "Per", "--role", "tilbudsleder", TILSYN_ACTOR=AUTHORITY)
    assert with_keys.count() == 5  # genesis, rules in force, two keys, Karen's reader key


# -- tampering -----------------------------------------------------------------------------------

def test_a_tampered_row_fails_verification_naming_its_seq(with_keys):
    with_keys.ok("--as", AUTHORITY, "keys", "add", "Lone", "--role", "tilsynsleder")
    with contextlib.closing(sqlite3.connect(with_keys.db)) as conn:
        (record,) = conn.execute("SELECT record FROM events WHERE seq = 2").fetchone()
        forged = bytearray(record)
        forged[record.index(b'"statement":"') + 40] ^= 0x01  # one bit of the signed statement
        conn.execute("UPDATE events SET record = ? WHERE seq = 2", (bytes(forged),))
        conn.commit()

    result = with_keys("verify")
    assert result.exit_code == 1
    assert result.stderr.startswith("FAILED at seq 2: ")
    assert "ok:" not in result.stdout

    as_json = with_keys("verify", "--json")
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False and report["first_bad_seq"] == 2 and report["first_problem"]


# -- refused input: exit 2, one line on stderr, the ledger unchanged ----------------------------

def test_unknown_actor(with_keys):
    before = with_keys.count()
    result = with_keys("--as", "Nobody", "keys", "add", "Per", "--role", "tilsynskonsulent")
    assert result.exit_code == 2
    assert "unknown actor 'Nobody'" in only_error_line(result)
    assert with_keys.count() == before


def test_no_actor_given(with_keys):
    before = with_keys.count()
    result = with_keys("keys", "add", "Per", "--role", "tilsynskonsulent")
    assert result.exit_code == 2
    assert "--as NAME" in only_error_line(result)
    assert with_keys.count() == before


def test_a_revoked_key_cannot_act(with_keys):
    with_keys.ok("--as", AUTHORITY, "keys", "add", "Anne", "--role", "admin")
    with_keys.ok("--as", AUTHORITY, "keys", "revoke", "Anne", "--reason", "changed jobs")
    before = with_keys.count()
    result = with_keys("--as", "Anne", "keys", "add", "Per", "--role", "tilsynskonsulent")
    assert result.exit_code == 2
    assert "no active key" in only_error_line(result)
    assert with_keys.count() == before


def test_a_role_without_admin_cannot_manage_keys(with_keys):
    before = with_keys.count()
    result = with_keys("--as", "Karen", "keys", "add", "Per", "--role", "tilsynskonsulent")
    assert result.exit_code == 2
    assert "admin" in only_error_line(result)
    assert with_keys.count() == before
    assert len(with_keys.key_files()) == 4  # authority, log key, Karen and her reader key: none left for Per


def test_missing_key_file(with_keys, tmp_path):
    before = with_keys.count()
    result = with_keys("--as", AUTHORITY, "keys", "add", "Per", "--role", "tilsynskonsulent",
                       TILSYN_HOME=str(tmp_path / "empty-home"))
    assert result.exit_code == 2
    assert "no private key file" in only_error_line(result)
    assert with_keys.count() == before


def test_wrong_passphrase(with_keys):
    with_keys.ok("--as", AUTHORITY, "keys", "add", "Anne", "--role", "admin", TILSYN_PASSPHRASE="hemmelig")
    before, files = with_keys.count(), with_keys.key_files()
    result = with_keys("--as", "Anne", "keys", "add", "Per", "--role", "tilsynskonsulent", TILSYN_PASSPHRASE="forkert")
    assert result.exit_code == 2
    assert "wrong passphrase" in only_error_line(result)
    assert with_keys.count() == before and with_keys.key_files() == files
    with_keys.ok("--as", "Anne", "keys", "add", "Per", "--role", "tilsynskonsulent", TILSYN_PASSPHRASE="hemmelig")


@pytest.mark.parametrize("url, says", [
    ("mysql://somewhere/db", "unsupported database URL"),
    ("postgresql+psycopg://localhost:notaport/db", "malformed database URL"),
    ("sqlite://", "in-memory"),
])
def test_malformed_database_url(with_keys, url, says):
    before = with_keys.count()
    result = with_keys("log", db=url)
    assert result.exit_code == 2
    assert says in only_error_line(result)
    assert with_keys.count() == before


def test_no_ledger_at_the_path(tilsyn, tmp_path):
    result = tilsyn("log", db=str(tmp_path / "nothing-here.db"))
    assert result.exit_code == 2
    assert "no ledger at" in only_error_line(result)


def test_init_on_an_existing_ledger(with_keys):
    before, files = with_keys.count(), with_keys.key_files()
    result = with_keys("init", "--authority", "Another Authority")
    assert result.exit_code == 2
    assert "already exists" in only_error_line(result)
    assert with_keys.count() == before and with_keys.key_files() == files


def test_a_second_key_for_the_same_person(with_keys):
    before = with_keys.count()
    result = with_keys("--as", AUTHORITY, "keys", "add", "Karen", "--role", "tilsynsleder")
    assert result.exit_code == 2
    assert "already has an active key" in only_error_line(result)
    assert with_keys.count() == before


def test_revoke_with_a_blank_reason(with_keys):
    before = with_keys.count()
    result = with_keys("--as", AUTHORITY, "keys", "revoke", "Karen", "--reason", "   ")
    assert result.exit_code == 2
    assert "reason" in only_error_line(result)
    assert with_keys.count() == before


@pytest.mark.parametrize("args, says", [
    (("keys", "add", "Per", "--role", "direktør"), "Invalid value for '--role'"),
    (("keys", "grant", "Karen", "--role", "direktør"), "Invalid value for '--role'"),
    (("keys", "revoke", "Karen"), "Missing option '--reason'"),
    (("keys", "add", "Per"), "Missing option '--role'"),
])
def test_usage_errors_are_refused_by_click(with_keys, args, says):
    """Click refuses these before any command runs: its usage message, exit 2, nothing written."""
    before, files = with_keys.count(), with_keys.key_files()
    result = with_keys("--as", AUTHORITY, *args)
    assert result.exit_code == 2
    assert says in result.stderr
    assert with_keys.count() == before and with_keys.key_files() == files


# -- the installed command -----------------------------------------------------------------------

def run_installed(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "tilsyn"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILSYN_")}
    env["TILSYN_HOME"] = str(tmp_path / "home")
    return subprocess.run([str(exe), "--db", str(tmp_path / "real.db"), *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def test_the_installed_command(tmp_path):
    init = run_installed(tmp_path, "init", "--authority", AUTHORITY)
    assert init.returncode == 0, init.stderr
    assert run_installed(tmp_path, "--as", AUTHORITY, "keys", "add", "Karen", "--role", "tilsynskonsulent").returncode == 0

    verify = run_installed(tmp_path, "verify")
    assert verify.returncode == 0, verify.stderr
    assert re.fullmatch(r"ok: 4 events verified; head [0-9a-f]{64}", verify.stdout.splitlines()[0])

    refused = run_installed(tmp_path, "--as", "Nobody", "keys", "add", "Per", "--role", "tilsynskonsulent")
    assert refused.returncode == 2
    assert refused.stderr.startswith("tilsyn: error: unknown actor 'Nobody'") and refused.stderr.count("\n") == 1

    assert run_installed(tmp_path, "--help").returncode == 0
    assert run_installed(tmp_path, "keys", "revoke", "--help").returncode == 0
