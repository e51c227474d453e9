"""`tilsyn --version` and `tilsyn --help` answer at once: they do not load the database layers.

Checked by what is imported, in a fresh interpreter (never by timing: bench/ measures time). The
lazy parts must not change anything a user or a caller of the Python API sees: the help text reads
exactly as click writes it with every command loaded, and every public name of ``tilsyn.ledger``
is the object it always was.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import tilsyn
import tilsyn.ledger
from tilsyn.cli import main as cli_main

# The database layers, and rich (the consoles are made when a command first prints).
HEAVY = ("sqlalchemy", "psycopg", "tilsyn.ledger.store", "tilsyn.ledger.ledger", "rich")

# Runs the real console entry point, then reports what it imported (on stdout, after the command's).
_WRAPPER = """
import json, sys
from tilsyn.cli.main import main
try:
    main()
except SystemExit as e:
    code = e.code
else:
    code = 0
sys.stdout.write("\\n@@" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _run(args: list[str], *, stderr: str = "") -> tuple[str, int, list[str]]:
    done = subprocess.run([sys.executable, "-c", _WRAPPER, *args], capture_output=True, text=True, timeout=60)
    assert done.stderr.startswith(stderr) and (stderr or done.stderr == ""), done.stderr
    output, _, report = done.stdout.rpartition("\n@@")
    info = json.loads(report)
    return output, info["code"], info["modules"]


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["-h"]])
def test_version_and_help_do_not_import_the_database_layers(args):
    output, code, modules = _run(args)
    assert code == 0
    assert ("version 0.1.0" if args == ["--version"] else "Commands:") in output
    loaded = [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert loaded == [], f"tilsyn {' '.join(args)} imported {loaded[:5]}"
    assert not [m for m in modules if m.startswith("tilsyn.cli.") and m not in {
        "tilsyn.cli.main", "tilsyn.cli.errors", "tilsyn.cli.context", "tilsyn.cli.output"}]


def test_the_entry_point_under_importtime_does_not_import_sqlalchemy():
    """The same through ``python -X importtime -m tilsyn``, the interpreter's own account."""
    for args in (["--version"], ["--help"]):
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "tilsyn", *args],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0
        imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line]
        assert "tilsyn.cli.main" in imported  # the account is real
        assert not [m for m in imported if m.split(".")[0] in ("sqlalchemy", "psycopg")], args


def test_a_command_still_loads_what_it_needs():
    """The laziness is only deferral: a command that opens a ledger does import the store."""
    output, code, modules = _run(["--db", "/nonexistent-dir/x.db", "log"], stderr="tilsyn: error: ")
    assert code == 2 and "sqlalchemy" in modules


def test_help_reads_exactly_as_with_every_command_loaded(monkeypatch):
    lazy = CliRunner().invoke(cli_main.cli, ["--help"])
    monkeypatch.setattr(cli_main.TilsynGroup, "format_commands", click.Group.format_commands)
    eager = CliRunner().invoke(cli_main.cli, ["--help"])
    assert lazy.exit_code == eager.exit_code == 0
    assert lazy.output == eager.output


def test_every_command_has_its_summary():
    assert set(cli_main.COMMAND_SUMMARIES) == set(cli_main.COMMAND_MODULES)


def test_a_command_without_a_summary_is_still_listed(monkeypatch):
    monkeypatch.delitem(cli_main.COMMAND_SUMMARIES, "verify")
    result = CliRunner().invoke(cli_main.cli, ["--help"])
    assert result.exit_code == 0 and "  verify " in result.output


def test_the_version_constant_is_the_distributions():
    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text("utf-8"))
    assert tilsyn.__version__ == pyproject["project"]["version"]
    assert tilsyn.__version__ == importlib.metadata.version("tilsyn-ledger")
    result = CliRunner().invoke(cli_main.cli, ["--version"])
    assert result.output == f"tilsyn, version {tilsyn.__version__}\n"


def test_every_public_name_of_the_kernel_package_is_what_it_was():
    for name in tilsyn.ledger.__all__:
        value = getattr(tilsyn.ledger, name)
        module = importlib.import_module(f"tilsyn.ledger.{tilsyn.ledger._EXPORTS[name]}")
        assert value is getattr(module, name), name
        assert name in dir(tilsyn.ledger)
    namespace: dict = {}
    exec("from tilsyn.ledger import *", namespace)
    assert set(tilsyn.ledger.__all__) <= set(namespace)
    assert tilsyn.ledger.store is importlib.import_module("tilsyn.ledger.store")  # submodules as attributes


def test_an_unknown_name_of_the_kernel_package_is_an_error():
    with pytest.raises(AttributeError):
        tilsyn.ledger.NoSuchThing  # noqa: B018
    with pytest.raises(ImportError):
        exec("from tilsyn.ledger import NoSuchThing", {})
