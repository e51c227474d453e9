"""File modes: the key home and its folders 0700, private keys and the KEK 0600, whatever the umask; a
report that shows personal data in clear is written 0600 and says so."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from tilsyn.cli.main import cli

AUTHORITY = "Socialtilsyn Øst"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask():
    old = os.umask(0o000)  # a careless shell: everything would be world-readable by default
    yield
    os.umask(old)


def _run(tmp_path: Path, *args: str):
    env = {"TILSYN_HOME": str(tmp_path / "home"), "TILSYN_DB": None, "TILSYN_ACTOR": None,
           "TILSYN_PASSPHRASE": None, "TILSYN_KEK": None, "TILSYN_KEK_FILE": None}
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "tilsyn.db"), *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, (args, result.output)
    return result


def test_key_home_folders_are_0700_and_secrets_0600_under_any_umask(tmp_path, loose_umask):
    _run(tmp_path, "init", "--authority", AUTHORITY)
    _run(tmp_path, "--as", AUTHORITY, "keys", "add", "Karen", "--role", "tilsynskonsulent")
    _run(tmp_path, "--as", "Karen", "tilbud", "add", "T-1", "--name", "Lærkehøj", "--type", "døgntilbud")
    home = tmp_path / "home"
    folders = [home, *(p for p in home.rglob("*") if p.is_dir())]
    files = [p for p in home.rglob("*") if p.is_file()]
    assert len(folders) >= 2 and any(p.suffix == ".pem" for p in files) and (home / "tilsyn.kek") in files
    assert {str(p.relative_to(tmp_path)): _mode(p) for p in folders} == \
        {str(p.relative_to(tmp_path)): 0o700 for p in folders}
    assert {str(p.relative_to(tmp_path)): _mode(p) for p in files} == \
        {str(p.relative_to(tmp_path)): 0o600 for p in files}


def test_a_key_home_made_loose_by_hand_is_tightened_when_keys_are_written(tmp_path):
    home = tmp_path / "home"
    (home / "keys").mkdir(parents=True)
    os.chmod(home, 0o755)
    os.chmod(home / "keys", 0o777)
    _run(tmp_path, "init", "--authority", AUTHORITY)
    assert (_mode(home), _mode(home / "keys")) == (0o700, 0o700)


def test_a_report_with_personal_data_in_clear_is_0600_and_says_so(tmp_path, loose_umask):
    _run(tmp_path, "init", "--authority", AUTHORITY)
    _run(tmp_path, "--as", AUTHORITY, "keys", "add", "Karen", "--role", "tilsynskonsulent")
    _run(tmp_path, "--as", "Karen", "tilbud", "add", "T-1", "--name", "Lærkehøj", "--type", "døgntilbud")
    _run(tmp_path, "--as", "Karen", "visit", "start", "T-1")  # an observation belongs to a visit
    _run(tmp_path, "--as", "Karen", "observe", "T-1", "2.3.1", "--source", "borger", "--method", "interview",
         "--subject", "B-17", "--text", "Anders Jensen blev fastholdt i køkkenet")
    shown = _run(tmp_path, "--as", "Karen", "report", "T-1", "--out", str(tmp_path / "rapport.html"))
    assert "Anders Jensen" in (tmp_path / "rapport.html").read_text()
    assert _mode(tmp_path / "rapport.html") == 0o600
    assert "indeholder personoplysninger i klar tekst" in shown.stdout
    hidden = _run(tmp_path, "report", "T-1", "--out", str(tmp_path / "offentlig.html"))
    assert "Anders Jensen" not in (tmp_path / "offentlig.html").read_text()
    assert "personoplysninger i klar tekst" not in hidden.stdout
