"""The README works as written: every shell block, line by line, in order, on a fresh demo.

Blocks are the README's fenced code blocks without a language (or marked sh/bash/shell) whose lines
are commands. ``make demo`` runs the Makefile's own ``demo`` recipe (with the test's venv); ``make
test`` is this very suite and is skipped. Each line runs in one bash session, in a temporary directory
that looks like a checkout (``.venv`` and ``examples/`` linked in), PATH at the venv.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ("make", "export", "tilsyn", "python", "cd", "pip")


def shell_blocks(text: str) -> list[list[str]]:
    blocks, current, lang = [], None, None
    for line in text.splitlines():
        fence = re.match(r"^```(\S*)\s*$", line)
        if fence:
            if current is None:
                current, lang = [], fence.group(1)
            else:
                if lang in ("", "sh", "bash", "shell") and current and all(
                        l.split()[0] in COMMANDS for l in current if l.strip() and not l.startswith("#")):
                    blocks.append(current)
                current = None
            continue
        if current is not None:
            current.append(line)
    return blocks


def make_recipe(target: str) -> list[str]:
    """The commands of a Makefile target, with $(BIN) pointing at the running venv."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, l in enumerate(lines) if re.match(rf"^{target}:", l))
    recipe = []
    for l in lines[start + 1:]:
        if not l.startswith("\t"):
            break
        recipe.append(l[1:].lstrip("@").replace("$(BIN)", str(Path(sys.executable).parent)))
    return recipe


def test_the_readme_blocks_are_found():
    blocks = shell_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    flat = [l for b in blocks for l in b]
    assert any(l.startswith("make demo") for l in flat)
    assert any("export T-1001 --out" in l for l in flat)
    assert not any("ledger/" in l and "tilsyn.ledger" in l for l in flat)  # the layout block is not a command block


def test_every_readme_command_block_runs_in_order(tmp_path):
    blocks = shell_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    script = ["set -o pipefail"]
    for block in blocks:
        for line in block:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            command = line.split("  #")[0].strip() if "  #" in line else line.strip()
            if command.startswith("make test"):
                continue  # this suite itself
            if command.startswith("make "):
                target = command.split()[1]
                steps = make_recipe(target)
            else:
                steps = [command]
            for step in steps:
                script.append(f"echo {shlex.quote('$ ' + line)} >&2")
                script.append(f"{step} || {{ echo {shlex.quote('README line failed: ' + line)} >&2; exit 1; }}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILSYN_")}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"
    result = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-2000:]
    assert "Traceback" not in result.stderr + result.stdout
    assert (tmp_path / "tilsyn-demo" / ".tilsyn-demo").is_file()


def test_make_test_says_what_it_installs_before_installing():
    """Every Makefile target that installs system packages names them (echo) before apt-get runs."""
    makefile = (ROOT / "Makefile").read_text()
    targets = re.findall(r"^([a-z][\w-]*):", makefile, flags=re.M)
    installing = [t for t in targets if "apt-get install" in "\n".join(make_recipe(t))]
    assert "browser" in installing
    for target in installing:
        recipe = "\n".join(make_recipe(target))
        install = recipe.find("apt-get update") if "apt-get update" in recipe else recipe.find("apt-get install")
        announce = recipe.rfind("echo", 0, install)
        assert announce >= 0, f"make {target} installs without saying what: {recipe}"


@pytest.mark.skipif(not (ROOT / "pyproject.toml").exists(), reason="needs the source tree")
def test_the_wheel_carries_the_license(tmp_path):
    import zipfile

    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                             "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    wheel = next(tmp_path.glob("tilsyn_ledger-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    licenses = [n for n in names if n.endswith("/LICENSE") and ".dist-info/" in n]
    assert licenses, names
    assert "MIT License" in zipfile.ZipFile(wheel).read(licenses[0]).decode()
    assert "tilsyn/__main__.py" in names
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"tilsyn"}, top  # no generic top-level package like cli or plugins
