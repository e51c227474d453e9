"""`tilsyn demo --fresh` deletes only a directory an earlier demo made — never a user's files."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tilsyn.cli.main import cli


def demo(*args, env=None):
    return CliRunner().invoke(cli, ["demo", *args], env={"TILSYN_DB": None, "TILSYN_HOME": None, **(env or {})})


def files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def one_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tilsyn: error:"), result.stderr
    return lines[0]


@pytest.fixture
def precious(tmp_path, monkeypatch):
    home = tmp_path / "home"
    work = home / "projekt"
    work.mkdir(parents=True)
    (work / "afhandling.txt").write_text("tre års arbejde")
    (home / ".bashrc").write_text("export X=1")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return home


@pytest.mark.parametrize("target", [".", "~", "$HOME", "..", "/"])
def test_fresh_refuses_the_working_directory_home_and_root(precious, target):
    before = files(precious)
    target = {"~": str(Path("~").expanduser()), "$HOME": str(precious)}.get(target, target)
    one_error(demo("--dir", target, "--fresh"))
    assert files(precious) == before


def test_fresh_refuses_a_directory_the_demo_did_not_make(precious, tmp_path):
    other = tmp_path / "mine"
    other.mkdir()
    (other / "data.csv").write_text("1,2,3")
    line = one_error(demo("--dir", str(other), "--fresh"))
    assert ".tilsyn-demo" in line and "nothing was deleted" in line
    assert files(other) == {"data.csv": b"1,2,3"}
    assert files(precious)


def test_a_file_is_not_a_demo_directory(precious, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    one_error(demo("--dir", str(f), "--fresh"))
    assert f.read_text() == "x"


def test_fresh_replaces_an_earlier_demo(precious, tmp_path):
    target = tmp_path / "tilsyn-demo"
    first = demo("--dir", str(target))
    assert first.exit_code == 0, first.output
    assert (target / ".tilsyn-demo").is_file()
    again = demo("--dir", str(target))  # without --fresh: refused, nothing touched
    assert "use --fresh" in one_error(again)
    (target / "leftover").write_text("from the first run")
    fresh = demo("--dir", str(target), "--fresh")
    assert fresh.exit_code == 0, fresh.output
    assert not (target / "leftover").exists() and (target / "tilsyn.db").is_file()
