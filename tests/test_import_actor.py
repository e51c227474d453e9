"""Import signs only as its actor (issue 10, item 5): a file naming another person is refused."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tilsyn.cli.main import cli
from tilsyn.ledger.store import Store

AUTHORITY = "Socialtilsyn Øst"


def run(tmp_path: Path, *args: str):
    return CliRunner().invoke(cli, ["--db", str(tmp_path / "t.db"), "--home", str(tmp_path / "home"), *args])


def count(tmp_path: Path) -> int:
    with Store.connect(str(tmp_path / "t.db")).reading() as conn:
        return Store.count(conn)


def test_import_refuses_events_naming_another_actor(tmp_path):
    for args in (("init", "--authority", AUTHORITY),
                 ("--as", AUTHORITY, "keys", "add", "Karen", "--role", "tilsynskonsulent"),
                 ("--as", AUTHORITY, "keys", "add", "Lone", "--role", "tilsynsleder")):
        assert run(tmp_path, *args).exit_code == 0
    batch = {"tilbud": "T-1", "actor": "Lone", "event": [
        {"type": "tilbud", "name": "Lærkehøj", "tilbud_type": "døgntilbud", "has_board": False}]}
    (tmp_path / "b.json").write_text(json.dumps(batch, ensure_ascii=False), encoding="utf-8")
    before = count(tmp_path)
    result = run(tmp_path, "--as", "Karen", "import", str(tmp_path / "b.json"))
    assert result.exit_code == 2 and "'Lone'" in result.stderr and "nothing was recorded" in result.stderr
    assert count(tmp_path) == before
    # Two actors in one file and no --as: nobody may sign for the other.
    batch["event"].append({"type": "tilbud", "tilbud": "T-2", "actor": "Karen", "name": "Kastanjen",
                           "tilbud_type": "døgntilbud", "has_board": False})
    (tmp_path / "b.json").write_text(json.dumps(batch, ensure_ascii=False), encoding="utf-8")
    result = run(tmp_path, "import", str(tmp_path / "b.json"))
    assert result.exit_code == 2 and "one file is signed by one person" in result.stderr
    assert count(tmp_path) == before
    # The file's own actor importing it works.
    batch["event"].pop()
    batch["actor"] = "Karen"
    (tmp_path / "b.json").write_text(json.dumps(batch, ensure_ascii=False), encoding="utf-8")
    assert run(tmp_path, "--as", "Karen", "import", str(tmp_path / "b.json")).exit_code == 0
    assert count(tmp_path) == before + 1
