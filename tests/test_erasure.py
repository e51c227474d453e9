"""Erasure that really erases: no copy of a destroyed subject key left in the table's storage, on SQLite
and PostgreSQL; no erasure of a subject the ledger never saw; no orphan key from a refused or killed batch.

The storage is read the way an attacker with a copy of the files would: SQLite's database and WAL files
byte for byte, PostgreSQL's relation file through ``pg_relation_filepath`` (after a CHECKPOINT, so what
the server holds in memory is on disk), with autovacuum off for the table, so that nothing but the
erasure itself can remove the dead row version.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tilsyn.ledger import ValidationError, verify_ledger
from tilsyn.standards import events as ev

KEK = bytes(range(32))
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    # tests/ is not a package (pytest runs with --import-mode=importlib): load helpers by their path.
    spec = importlib.util.spec_from_file_location(f"tilsyn_tests_{name}", Path(__file__).with_name(f"{name}.py"))
    module = sys.modules.setdefault(spec.name, importlib.util.module_from_spec(spec))
    spec.loader.exec_module(module)
    return module


killing, personal = _load("killing"), _load("test_personal")
_observe = personal._observe


def _setup(url: str, home: Path):
    return personal._setup(home.parent, KEK, url)


def _wrapped(ledger, subject: str) -> bytes:
    return bytes(ledger.vault.status(subject).wrapped)


def _storage(ledger, tmp_path: Path) -> list[bytes]:
    """Every byte of the subject key table's storage, as files on disk."""
    if ledger.store.dialect == "sqlite":
        return [f.read_bytes() for f in (tmp_path / "tilsyn.db", tmp_path / "tilsyn.db-wal") if f.exists()]
    with ledger.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("CHECKPOINT")  # dirty buffers to the relation files
        path = conn.exec_driver_sql("SELECT pg_relation_filepath('subject_keys')").scalar()
        paths = {path, *_pg_paths_seen}
        _pg_paths_seen.add(path)
        out = []
        for p in sorted(paths):  # the file of before the erasure too: dropped, or it must not hold the key
            data = conn.execute(sa.text("SELECT pg_read_binary_file(CAST(:p AS text), 0, 16777216, true)"), {"p": p}).scalar()
            out.append(bytes(data) if data is not None else b"")
        return out


_pg_paths_seen: set[str] = set()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    """SQLite, or a PostgreSQL database of its own: VACUUM waits only for the snapshots of sessions in the
    same database, so other tests' open transactions elsewhere on the server do not hold this one back."""
    _pg_paths_seen.clear()
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tilsyn.db'}"
        return
    from tests.conftest import PG_URL, require_pg

    require_pg()
    name = f"readers_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield str(sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


def test_erasure_leaves_no_copy_of_the_subject_key_in_the_tables_storage(url, tmp_path):
    ledger, sup, karen, lone = _setup(url, tmp_path / "home")
    if ledger.store.dialect == "postgresql":
        with ledger.store.engine.begin() as conn:  # nothing but the erasure may clean up the dead row
            conn.exec_driver_sql("ALTER TABLE subject_keys SET (autovacuum_enabled = off)")
    _observe(sup, karen, "B-17", "Anders Jensen blev fastholdt i køkkenet")
    _observe(sup, karen, "B-18", "Birte Hansen trives")
    erased, kept = _wrapped(ledger, "B-17"), _wrapped(ledger, "B-18")
    # The test can fail: before the erasure the wrapped key is there to be found.
    assert any(erased in blob for blob in _storage(ledger, tmp_path))

    ledger.erase_subject(lone, "B-17", "GDPR art. 17")

    assert ledger.vault.scrub_warning is None
    storage = _storage(ledger, tmp_path)
    assert not any(erased in blob for blob in storage)
    assert any(kept in blob for blob in storage)  # the other subject's key is still stored (and readable)
    assert sup.reveal("T-1", sup.state("T-1").observations[-1], "text") == "Birte Hansen trives"
    assert verify_ledger(ledger.store, ledger.policy, kek=KEK).ok
    ledger.close()


def test_erase_refuses_a_subject_the_ledger_never_saw(url, tmp_path):
    ledger, sup, karen, lone = _setup(url, tmp_path / "home")
    _observe(sup, karen, "B-17", "Anders Jensen")
    before = ledger.count()
    with pytest.raises(ValidationError, match=r"never seen.*did you mean 'B-17'\?; nothing was erased"):
        ledger.erase_subject(lone, "B17", "GDPR art. 17")
    assert ledger.count() == before
    assert ledger.vault.status("B17") is None
    ledger.close()


def test_cli_erase_of_a_typo_is_one_line_exit_2_and_changes_nothing(tmp_path):
    from click.testing import CliRunner

    from tilsyn.cli.main import cli

    env = {"TILSYN_HOME": str(tmp_path / "home"), "TILSYN_DB": None, "TILSYN_ACTOR": None,
           "TILSYN_PASSPHRASE": None, "TILSYN_KEK": None, "TILSYN_KEK_FILE": None}
    db = str(tmp_path / "tilsyn.db")

    def run(*args):
        return CliRunner().invoke(cli, ["--db", db, *args], env=env, catch_exceptions=False)

    assert run("init", "--authority", "Socialtilsyn Øst").exit_code == 0
    assert run("--as", "Socialtilsyn Øst", "keys", "add", "Lone", "--role", "tilsynsleder").exit_code == 0
    size = os.path.getsize(db)
    result = run("--as", "Lone", "erase", "B17", "--reason", "GDPR art. 17")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "tilsyn: error: the ledger holds no personal data about 'B17' (never seen); nothing was erased"]
    assert os.path.getsize(db) == size
    assert "B17" not in run("subjects", "list").stdout


CHILD = r"""
import base64, json, sys, time
from pathlib import Path

sys.path.insert(0, sys.argv[1])
from tilsyn.ledger import KeyStore, Ledger
from tilsyn.plugins.manager import load_plugins
from tilsyn.standards import events as ev

url, home, marker, kek = sys.argv[2], sys.argv[3], Path(sys.argv[4]), base64.b64decode(sys.argv[5])
ledger = Ledger.open(url, load_plugins().policy(), kek=kek)
karen = ledger.signer("Karen", KeyStore(home))
stmt = ledger.statement(karen, "tilbud/T-1", ev.OBSERVATION,
                        {"marker": "2.3.1", "source": "borger", "method": "interview", "text": "Carl Nielsen",
                         "subject": "B-99", "standard": "kvalitetsmodel-2025", "standard_version": "2025.1"})


def stall(conn, events):  # inside the transaction, after the batch's subject keys were inserted
    rows = conn.exec_driver_sql("SELECT count(*) FROM subject_keys WHERE subject = 'B-99'").scalar()
    marker.write_text(json.dumps({"key_rows": rows}))
    time.sleep(600)


ledger.append(karen.sign(stmt), within=stall)
sys.exit(3)
"""


def test_a_batch_killed_mid_transaction_leaves_no_orphan_subject_key(url, tmp_path):
    import base64

    ledger, sup, karen, lone = _setup(url, tmp_path / "home")
    _observe(sup, karen, "B-1", "Ejnar Ålund")  # the reader group has its key: the child only seals under it
    before = ledger.count()
    marker = tmp_path / "stalled.json"
    killing.kill_when_marked([sys.executable, "-c", CHILD, str(PROJECT_ROOT), url, str(tmp_path / "home"),
                              str(marker), base64.b64encode(KEK).decode()], marker, timeout=120)
    assert json.loads(marker.read_text()) == {"key_rows": 1}  # the key was written, uncommitted
    assert ledger.vault.status("B-99") is None
    assert ledger.count() == before
    assert verify_ledger(ledger.store, ledger.policy, kek=KEK).ok
    # The subject can be recorded afresh, with a key of its own that opens.
    _observe(sup, karen, "B-99", "Carl Nielsen")
    assert sup.reveal("T-1", sup.state("T-1").observations[-1], "text") == "Carl Nielsen"
    ledger.close()


def test_a_refused_batch_leaves_no_orphan_subject_key(url, tmp_path):
    from tilsyn.standards.service import BatchRefused

    ledger, sup, karen, lone = _setup(url, tmp_path / "home")
    good = (ev.OBSERVATION, {"marker": "2.3.1", "source": "borger", "method": "interview", "text": "Dorthe",
                             "subject": "B-50"})
    bad = (ev.MARKER_ASSESSED, {"marker": "2.3.1", "verdict": "ikke til stede", "reason": "kort", "subject": "B-51"})
    with pytest.raises(BatchRefused):
        sup.record_many([(karen, "T-1", *good, None), (karen, "T-1", *bad, None)])
    assert ledger.vault.status("B-50") is None and ledger.vault.status("B-51") is None
    ledger.close()
