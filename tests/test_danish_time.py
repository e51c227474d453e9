"""People read Danish time (Europe/Copenhagen, zone visible); the ledger keeps UTC."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tilsyn.cli.main import cli
from tilsyn.cli.timeview import danish_date, danish_time, local_time


@pytest.mark.parametrize("stored, table, prose", [
    ("2026-09-15T07:00:00.000000Z", "2026-09-15 09:00 CEST", "15. september 2026 kl. 09.00 (CEST)"),
    ("2026-12-01T09:00:00.000000Z", "2026-12-01 10:00 CET", "1. december 2026 kl. 10.00 (CET)"),
    ("2026-03-29T00:59:59.000000Z", "2026-03-29 01:59 CET", "29. marts 2026 kl. 01.59 (CET)"),
    ("2026-03-29T01:00:00.000000Z", "2026-03-29 03:00 CEST", "29. marts 2026 kl. 03.00 (CEST)"),
    ("2026-10-25T00:30:00.000000Z", "2026-10-25 02:30 CEST", "25. oktober 2026 kl. 02.30 (CEST)"),
    ("2026-10-25T01:30:00.000000Z", "2026-10-25 02:30 CET", "25. oktober 2026 kl. 02.30 (CET)"),
    ("2026-12-31T23:30:00.000000Z", "2027-01-01 00:30 CET", "1. januar 2027 kl. 00.30 (CET)"),
])
def test_local_time_shows_the_danish_wall_clock_and_its_zone(stored, table, prose):
    assert local_time(stored) == table
    assert danish_time(stored) == prose


def test_what_is_not_a_time_is_shown_as_it_is():
    assert local_time(None) == "–" and local_time("") == "–"
    assert local_time("i går") == "i går"
    assert danish_date("2027-01-31") == "31. januar 2027"


def test_a_visit_entered_at_nine_reads_back_at_nine(tmp_path):
    from tilsyn.cli.demo import run_demo

    directory = tmp_path / "demo"
    directory.mkdir()
    run_demo(directory)
    env = {"TILSYN_DB": str(directory / "tilsyn.db"), "TILSYN_HOME": str(directory), "TILSYN_ACTOR": None}
    runner = CliRunner()
    rec = runner.invoke(cli, ["--as", "Karen Holm", "visit", "start", "T-1001", "--visit", "B2", "--kind", "anmeldt",
                              "--occurred-at", "2026-11-03T09:00+01:00", "--json"], env=env)
    assert rec.exit_code == 0, rec.output
    assert json.loads(rec.stdout)["occurred_at"] == "2026-11-03T08:00:00.000000Z"  # stored UTC, unchanged
    summer = runner.invoke(cli, ["--as", "Karen Holm", "observe", "T-1001", "2.3.1", "--source", "borger",
                                 "--method", "interview", "--text", "kl. 9", "--visit", "B1", "--efterfølgende",
                                 "--occurred-at", "2026-09-16T09:00+02:00"],
                           env=env)
    assert summer.exit_code == 0, summer.output
    history = runner.invoke(cli, ["history", "T-1001"], env=env)
    assert "2026-11-03 09:00 CET" in history.stdout and "2026-09-16 09:00 CEST" in history.stdout
    assert "2026-09-15 11:00 CEST" in history.stdout  # the demo's 09:00 UTC
    as_json = json.loads(runner.invoke(cli, ["history", "T-1001", "--json"], env=env).stdout)
    assert any(e["occurred_at"] == "2026-09-16T07:00:00.000000Z" for e in as_json)


def test_tilde_in_the_key_home_means_the_home_directory(tmp_path, monkeypatch):
    from tilsyn.ledger import KeyStore

    monkeypatch.setenv("HOME", str(tmp_path))
    assert KeyStore("~/.tilsyn").home == tmp_path / ".tilsyn"
    monkeypatch.setenv("TILSYN_HOME", "~/nøgler")
    assert KeyStore().home == tmp_path / "nøgler"
    db = tmp_path / "l.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "--home", "~/hjem", "init", "--authority", "Socialtilsyn Øst"],
                                env={"TILSYN_HOME": None})
    assert result.exit_code == 0, result.output
    assert list((tmp_path / "hjem" / "keys").glob("*.pem"))
    assert not (tmp_path / "~").exists() and not list(tmp_path.glob("**/~"))


def test_a_bare_date_is_the_danish_day(tmp_path):
    """`--occurred-at 2026-11-05` is midnight of that day in Denmark, and `--as-of 2026-09-14` ends at
    Danish midnight: an event at 23:30 Danish time on the 14th (21:30 UTC) is inside it, not the next day."""
    from tilsyn.cli.demo import run_demo

    directory = tmp_path / "demo"
    directory.mkdir()
    run_demo(directory)
    env = {"TILSYN_DB": str(directory / "tilsyn.db"), "TILSYN_HOME": str(directory), "TILSYN_ACTOR": None}
    runner = CliRunner()
    rec = runner.invoke(cli, ["--as", "Karen Holm", "observe", "T-1001", "2.3.1", "--source", "borger",
                              "--method", "interview", "--text", "dagen efter", "--visit", "B1", "--efterfølgende",
                              "--occurred-at", "2026-11-05", "--json"], env=env)
    assert rec.exit_code == 0, rec.output
    assert json.loads(rec.stdout)["occurred_at"] == "2026-11-04T23:00:00.000000Z"  # 00:00 CET
    history = runner.invoke(cli, ["history", "T-1001"], env=env)
    assert "2026-11-05 00:00 CET" in history.stdout and "2026-11-05 01:00" not in history.stdout
    # --as-of a date: up to the end of that Danish day, in UTC a little earlier than midnight UTC.
    from tilsyn.standards.service import parse_as_of

    assert parse_as_of("2026-09-14") == (None, "2026-09-14T21:59:59.999999Z")
    assert parse_as_of("2026-01-14") == (None, "2026-01-14T22:59:59.999999Z")
