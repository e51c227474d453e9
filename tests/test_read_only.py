"""Reading never changes the ledger file: read-only commands open SQLite with mode=ro."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3

from click.testing import CliRunner

from tilsyn.cli.context import READ_ONLY_COMMANDS
from tilsyn.cli.main import cli


def test_reading_an_archived_copy_changes_no_byte_and_keeps_its_journal_mode(tmp_path):
    from tilsyn.cli.demo import run_demo

    directory = tmp_path / "demo"
    directory.mkdir()
    run_demo(directory)
    archive = tmp_path / "arkiv"
    archive.mkdir()
    db = archive / "tilsyn.db"
    shutil.copy(directory / "tilsyn.db", db)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete"  # as an archived file would be
    conn.close()
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    env = {"TILSYN_DB": str(db), "TILSYN_HOME": str(directory), "TILSYN_ACTOR": None}
    for args in (["--as", "Karen Holm", "status", "T-1001"], ["history", "T-1001"], ["findings"], ["verify"],
                 ["log"], ["keys", "list"], ["tilbud", "list"], ["subjects", "list"],
                 ["--as", "Karen Holm", "status", "T-1001", "--as-of", "19"]):
        result = CliRunner().invoke(cli, args, env=env)
        assert result.exit_code == 0, (args, result.output)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in archive.iterdir()) == ["tilsyn.db"]  # no -wal, no -shm left behind
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_the_read_only_commands_exist():
    from click import Group

    for path in READ_ONLY_COMMANDS:
        command = cli
        for part in path.split():
            assert isinstance(command, Group), path
            command = command.get_command(None, part)
            assert command is not None, path
