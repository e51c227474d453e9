"""``tilsyn verify-receipt FILE --policy P`` and ``tilsyn verify-bundle FILE [--policy P]`` answer from the
console entry point without the command layer: the same output and exit codes as the click commands,
with only the offline check's modules loaded.

Checked through the real entry point in a fresh interpreter (what it imports is reported after it ran),
never by timing: bench/bench_witness.py and bench/bench_proofs.py measure the time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tilsyn.cli.launch import _offline_check
from tilsyn.cli.main import cli

AUTHORITY = "Socialtilsyn Øst"
HEAVY = ("click", "rich", "sqlalchemy", "psycopg", "pluggy", "jinja2", "yaml", "tilsyn.ledger.ledger",
         "tilsyn.ledger.store", "tilsyn.plugins", "tilsyn.standards", "tilsyn.cli.main")

# The console entry point, then what it imported (on stdout, after the command's own output).
_WRAPPER = """
import json, sys
from tilsyn.cli.launch import main
sys.argv[0] = "tilsyn"
try:
    main()
except SystemExit as e:
    code = e.code
sys.stdout.write("\\n@@" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def launch(args: list[str], cwd: Path) -> tuple[str, str, int, list[str]]:
    done = subprocess.run([sys.executable, "-c", _WRAPPER, *args], capture_output=True, text=True, timeout=60,
                          cwd=cwd, env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)})
    output, _, report = done.stdout.rpartition("\n@@")
    info = json.loads(report)
    return output, done.stderr, info["code"], info["modules"]


def full_command(args: list[str], cwd: Path) -> tuple[str, str, int]:
    """The click command (tilsyn.cli.main) with the same arguments, from the same directory."""
    done = subprocess.run([sys.executable, "-c", "from tilsyn.cli.main import main; main()", *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)})
    return done.stdout, done.stderr, done.returncode


@pytest.fixture(scope="module")
def receipts(tmp_path_factory) -> Path:
    """A ledger with a checkpoint, a sound receipt of its genesis event, a broken one, junk and a policy."""
    d = tmp_path_factory.mktemp("receipts")
    env = {"TILSYN_HOME": str(d / "home"), "TILSYN_DB": str(d / "tilsyn.db"), "TILSYN_ACTOR": None}

    def ok(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.stdout

    ok("init", "--authority", AUTHORITY)
    ok("--as", AUTHORITY, "checkpoint")
    ok("receipt", "ledger/keys", "1", "--out", str(d / "genesis.tlog-proof"))
    ok("export", "ledger/keys", "--out", str(d / "keys.bundle.json"))
    bundle = (d / "keys.bundle.json").read_bytes()
    at = bundle.index(b'"record": "') + 40
    (d / "changed.bundle.json").write_bytes(bundle[:at] + bytes([bundle[at] ^ 1]) + bundle[at + 1:])
    (d / "policy.txt").write_text(f"log {ok('checkpoint', '--vkey').strip()}\nquorum none\n", encoding="utf-8")
    text = (d / "genesis.tlog-proof").read_text(encoding="utf-8")
    lines = text.split("\n")
    (d / "changed.tlog-proof").write_text(text.replace(lines[3], lines[3][:-4] + "AAA="), encoding="utf-8")
    (d / "junk.tlog-proof").write_text("hello\n", encoding="utf-8")
    return d


CASES = {
    "sound": (["genesis.tlog-proof", "--policy", "policy.txt"], 0),
    "sound, json": (["--json", "genesis.tlog-proof", "--policy=policy.txt"], 0),
    "a changed proof": (["changed.tlog-proof", "--policy", "policy.txt"], 1),
    "not a receipt": (["junk.tlog-proof", "--policy", "policy.txt"], 2),
    "no such file": (["missing.tlog-proof", "--policy", "policy.txt"], 2),
    "no such policy": (["genesis.tlog-proof", "--policy", "missing.txt"], 2),
    "a policy that is a receipt": (["genesis.tlog-proof", "--policy", "genesis.tlog-proof"], 2),
    "bundle: sound": (["keys.bundle.json"], 0),
    "bundle: sound, json, quorum": (["keys.bundle.json", "--json", "--policy", "policy.txt"], 0),
    "bundle: a changed byte": (["changed.bundle.json"], 1),
    "bundle: not a bundle": (["junk.tlog-proof"], 2),
    "bundle: no such file": (["missing.json"], 2),
    "bundle: no such policy": (["keys.bundle.json", "--policy", "missing.txt"], 2),
}


@pytest.mark.parametrize("case", CASES)
def test_the_entry_point_answers_as_the_command_does_without_the_command_layer(receipts, case):
    args, code = CASES[case]
    args = ["verify-bundle" if case.startswith("bundle") else "verify-receipt", *args]
    out, err, got, modules = launch(args, receipts)
    assert got == code
    assert (out, err, got) == full_command(args, receipts)
    loaded = sorted({m for m in modules for h in HEAVY if m == h or m.startswith(h + ".")})
    assert loaded == [], f"{args[0]} imported {loaded[:6]}"
    if code == 0:
        assert "ok: seq 1" in out or "ok: ledger/keys" in out or '"ok": true' in out
    else:
        assert err.startswith("tilsyn: error: " if code == 2 else "FAILED: ")


@pytest.mark.parametrize("args", [
    ["verify-receipt", "r.tlog-proof"],                      # policy from tilsyn.toml
    ["verify-receipt", "--help"],
    ["verify-receipt", "a", "b", "--policy", "p"],          # click refuses two files
    ["verify-receipt", "r", "--policy", "p", "--verbose"],  # an option it does not know
    ["verify-receipt", "r", "--policy"],
    ["verify-receipt", "r", "--policy", "p", "--json", "--json"],
    ["--db", "x.db", "verify-receipt", "r", "--policy", "p"],
    ["verify-receipt", "r\udcff", "--policy", "p"],          # not UTF-8: the full command names it
    ["verify-receipt", "-", "--policy", "p"],
    ["receipt", "r", "--policy", "p", "--json"],
])
def test_any_other_command_line_goes_to_the_full_command(args):
    assert _offline_check(args) is None


def test_the_plain_shape_is_recognised():
    assert _offline_check(["verify-receipt", "r", "--policy", "p"]) == ("receipt_check", "r", "p", False)
    assert _offline_check(["verify-receipt", "--json", "--policy=p", "r"]) == ("receipt_check", "r", "p", True)
    assert _offline_check(["verify-bundle", "b"]) == ("bundle_check", "b", None, False)
    assert _offline_check(["verify-bundle", "b", "--json", "--policy", "p"]) == ("bundle_check", "b", "p", True)
    assert _offline_check(["verify-bundle", "b", "--policy="]) is None
