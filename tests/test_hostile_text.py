"""What is shown is what was signed: hostile text through every recording command, read back through
every view — printed literally (never console markup), no raw control character on the terminal,
valid JSON that gives back exactly what was typed."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest
from click.testing import CliRunner

from tilsyn.cli.main import cli
from tilsyn.cli.output import visible

SUPERVISOR, LEADER, MANAGER, AUTHORITY = "Karen Holm", "Lone Dahl", "Mette Lund", "Socialtilsyn Øst"

# Markup rich would parse (and crash on, or swallow), terminal escapes, BEL, CR, a right-to-left override.
HOSTILE = "[/] [bold]fed[/bold] [i]kursiv[/i] \x1b[31mrød\x1b[0m \x1b]0;titel\x07 bip\x07 retur\rX \u202eevil\u202c slut"
NAME = "Eve [/][bold] \x1b[2J\x07\u202eInsider"  # CR/LF/TAB are refused in names by the kernel
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def ledger_dir(tmp_path_factory):
    """The demo, plus hostile text through every recording command."""
    from tilsyn.cli.demo import run_demo

    directory = tmp_path_factory.mktemp("hostile") / "demo"
    directory.mkdir()
    assert run_demo(directory).ok
    env = env_for(directory)

    def ok(*args):
        result = CliRunner().invoke(cli, list(args), env=env)
        assert result.exit_code == 0, (args, result.output)
        return result

    ok("--as", AUTHORITY, "keys", "add", NAME, "--role", "tilsynskonsulent")
    ok("--as", SUPERVISOR, "tilbud", "add", "T-[b]\x1b", "--name", HOSTILE, "--type", "dagtilbud")
    ok("--as", SUPERVISOR, "visit", "start", "T-1001", "--kind", "anmeldt", "--visit", "B[i]2")
    observed = ok("--as", NAME, "observe", "T-1001", "2.3.1", "--source", "borger", "--method", "interview",
                  "--text", HOSTILE, "--json")
    observed_seq = json.loads(observed.stdout)["seq"]
    ok("--as", NAME, "observe", "T-1001", "2.3.1", "--source", "borger", "--method", "interview", "--text", HOSTILE)
    ok("--as", SUPERVISOR, "visit", "abort", "T-1001", "--visit", "B[i]2", "--reason", HOSTILE)
    ok("--as", SUPERVISOR, "assess", "marker", "T-1001", "2.4.1", "til-stede", "--reason", HOSTILE + " " * 10)
    ok("--as", SUPERVISOR, "risk", "T-1001", "rød", "--criterion", "2.3", "--reason", HOSTILE * 2)
    # The demo's påbud is efterkommet and 2.3 opfyldt (issue 13): hostile text in an anbefaling, and in a
    # lawful decision on a failing 2.4 (the demo's tilsyn.toml holds the klagevejledning and hjemler).
    ok("--as", LEADER, "anbefal", "T-1001", "--criterion", "2.3", "--text", HOSTILE)
    ok("--as", SUPERVISOR, "assess", "marker", "T-1001", "2.4.2", "ikke-til-stede", "--reason", HOSTILE + " " * 10)
    ok("--as", SUPERVISOR, "assess", "criterion", "T-1001", "2.4", "ikke-opfyldt", "--reason",
       "Markør 2.4.1 er til stede. Markør 2.4.2 er ikke til stede. " + HOSTILE)
    from tilsyn.cli.demo import HJEMMEL

    old = os.getcwd()
    os.chdir(directory)
    try:
        ok("--as", LEADER, "decide", "T-1001", "skærpet-tilsyn", "--criterion", "2.4", "--reason",
           "Kriterium 2.4, markør 2.4.2: " + HOSTILE, "--indhold", HOSTILE, "--hjemmel", HJEMMEL,
           "--uden-partshoering", HOSTILE)
    finally:
        os.chdir(old)
    ok("--as", MANAGER, "plan", "add", "T-1001", "--priority", "3", "--item", "P[i]3", "--tema", "2 Sundhed og trivsel",
       "--emne", HOSTILE, "--maal", HOSTILE, "--hvad", HOSTILE, "--hvordan", HOSTILE, "--dokumentation", HOSTILE,
       "--hvem", HOSTILE, "--start", "2026-12-01", "--slut", "2027-02-01")
    ok("--as", MANAGER, "plan", "revise", "T-1001", "P[i]3", "--emne", HOSTILE + " (rettet)", "--reason", HOSTILE)
    ok("--as", NAME, "correct", "T-1001", str(observed_seq), "--reason", HOSTILE)
    ok("--as", AUTHORITY, "keys", "revoke", NAME, "--reason", HOSTILE)
    return directory


def env_for(directory):
    return {"TILSYN_DB": str(directory / "tilsyn.db"), "TILSYN_HOME": str(directory), "TILSYN_ACTOR": None,
            "TILSYN_PASSPHRASE": None, "TILSYN_KEK": None, "TILSYN_KEK_FILE": None}


VIEWS = [
    ("--as", SUPERVISOR, "status", "T-1001"),
    ("history", "T-1001"),
    ("--as", SUPERVISOR, "history", "T-1001"),
    ("findings", "T-1001"),
    ("findings",),
    ("--as", SUPERVISOR, "explain", "T-1001"),
    ("tilbud", "list"),
    ("keys", "list"),
    ("log",),
    ("log", "--stream", "ledger/keys"),
    ("status", "T-[b]\x1b"),
    ("history", "T-[b]\x1b"),
]


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: " ".join(a for a in v if a != SUPERVISOR))
def test_every_view_shows_hostile_text_literally(ledger_dir, view):
    result = CliRunner().invoke(cli, list(view), env=env_for(ledger_dir))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Traceback" not in result.output
    assert not RAW.search(out), repr(RAW.search(out))  # nothing raw reaches the terminal
    text_views = {"status", "history", "explain", "tilbud", "keys"}
    if text_views & set(view):
        # Literally: the brackets are there and the escapes are visible. Long cells may be wrapped by the
        # table, so look for pieces that fit in a cell.
        flat = re.sub(r"\s+", " ", out)
        squeezed = flat.replace(" ", "")
        assert "[/]" in flat and "\\x1b" in flat, out
        if "keys" in view:
            assert "[bold]" in flat and "\\x1b[2J\\a\\u202eInsider" in squeezed
        if "explain" in view or ("history" in view and "T-1001" in view):
            assert "\\x1b[31mrød\\x1b[0m" in squeezed, out
            assert "[bold]fed[/bold][i]kursiv[/i]" in squeezed, out


@pytest.mark.parametrize("view", [v for v in VIEWS if "explain" not in v or True],
                         ids=lambda v: " ".join(a for a in v if a != SUPERVISOR) + " --json")
def test_every_json_view_is_valid_and_gives_back_what_was_typed(ledger_dir, view):
    result = CliRunner().invoke(cli, [*view, "--json"], env=env_for(ledger_dir))
    assert result.exit_code == 0, result.output
    assert not RAW.search(result.stdout)
    data = json.loads(result.stdout)
    strings = list(_strings(data))
    if {"status", "history", "explain", "tilbud"} & set(view) and "T-[b]\x1b" not in view:
        assert any(HOSTILE in s for s in strings), view  # exactly as typed, once parsed
    if "keys" in view:
        assert NAME in strings


def _strings(data):
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for k, v in data.items():
            yield k
            yield from _strings(v)
    elif isinstance(data, list):
        for v in data:
            yield from _strings(v)


def test_the_recording_commands_echo_literally(ledger_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(ledger_dir, copy)
    env = env_for(copy)
    result = CliRunner().invoke(cli, ["--as", AUTHORITY, "keys", "add", "[red]Mallory[/] \x1b[5m", "--role",
                                      "tilsynskonsulent"], env=env)
    assert result.exit_code == 0, result.output
    assert "[red]Mallory[/] \\x1b[5m" in result.stdout and not RAW.search(result.stdout)
    result = CliRunner().invoke(cli, ["--as", AUTHORITY, "keys", "grant", "[red]Mallory[/] \x1b[5m", "--role",
                                      "tilbudsleder"], env=env)
    assert result.exit_code == 0 and "[red]Mallory[/]" in result.stdout and not RAW.search(result.stdout)


def test_nul_is_refused_at_input_with_a_clear_error(ledger_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(ledger_dir, copy)
    result = CliRunner().invoke(cli, ["--as", SUPERVISOR, "observe", "T-1001", "2.3.1", "--source", "borger",
                                      "--method", "interview", "--text", "før\x00efter"], env=env_for(copy))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["tilsyn: error: argument 11 contains a NUL character, which the ledger "
                                          "does not record (see 'tilsyn --help')"]


def test_errors_naming_hostile_text_stay_on_one_line(ledger_dir):
    result = CliRunner().invoke(cli, ["--as", "Ukendt\r\n\x1b[2Jperson", "observe", "T-1001", "2.3.1", "--source",
                                      "borger", "--method", "interview", "--text", "x"], env=env_for(ledger_dir))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tilsyn: error:") and not RAW.search(result.stderr)


@pytest.mark.parametrize("text, shown", [
    ("\x1b[31m", "\\x1b[31m"), ("a\rb", "a\\rb"), ("bip\x07", "bip\\a"), ("\u202eevil", "\\u202eevil"),
    ("\x85", "\\x85"), ("\x7f", "\\x7f"), ("linje\nlinje\tfane", "linje\nlinje\tfane"), ("[/]", "[/]"),
    ("æøå ÆØÅ", "æøå ÆØÅ"), ("\u2066isolate\u2069", "\\u2066isolate\\u2069"), ("\x00", "\\0"),
])
def test_visible(text, shown):
    assert visible(text) == shown
