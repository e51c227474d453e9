"""``tilsyn publish``: the ledger as C2SP tlog-tiles, read back by Go's sumdb/note and sumdb/tlog.

Go's implementation (Debian's golang-golang-x-mod-dev, installed by ``make test``) is one no one here
wrote: tests/go/tilescheck verifies the checkpoint with the printed verifier key, recomputes the root from
the tiles and proves every entry of the entry bundles into it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tilsyn.cli.main import cli
from tilsyn.ledger import KeyStore, Ledger, create_checkpoint, merkle
from tilsyn.ledger.checkpoint import checkpoint_body, sign_note
from tilsyn.ledger.checkpoints import note_key_name
from tilsyn.ledger.tiles import _index, entries_path, tile_path
from tilsyn.ledger.witnessing import log_vkey


GO_SRC = Path(__file__).parent / "go" / "tilescheck" / "main.go"


@pytest.fixture(scope="module")
def tilescheck(tmp_path_factory):
    """The Go checker, built once; skipped without Go (but CI must have it: 'make test' installs it)."""
    if shutil.which("go") is None or not Path("/usr/share/gocode/src/golang.org/x/mod/sumdb/tlog").is_dir():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true but Go or golang-golang-x-mod-dev is missing ('make test' installs them)")
        pytest.skip("Go and Debian's golang-golang-x-mod-dev are not installed ('make test' installs them)")
    out = tmp_path_factory.mktemp("go") / "tilescheck"
    env = os.environ | {"GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOFLAGS": "",
                        "GOCACHE": str(tmp_path_factory.mktemp("gocache"))}
    subprocess.run(["go", "build", "-o", str(out), str(GO_SRC)], check=True, env=env, capture_output=True)

    def check(directory: Path, vkey: str) -> str:
        r = subprocess.run([str(out), str(directory), vkey], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return r.stdout

    return check


@pytest.fixture
def setup(tmp_path, keystore, policy):
    db = tmp_path / "tilsyn.db"
    ledger, authority = Ledger.init(f"sqlite:///{db}", "Socialtilsyn Øst", keystore, policy=policy)
    ledger.register_key(authority, "Karen", ["tilsynskonsulent"], keystore)
    karen = ledger.signer("Karen", keystore)
    env = {"TILSYN_HOME": str(keystore.home), "TILSYN_DB": str(db), "TILSYN_ACTOR": None}
    yield ledger, authority, karen, env
    ledger.close()


def grow(ledger, signer, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        ledger.record(signer, "tilbud/T-1001", "test.Note/1", {"text": f"observation {i}"})


def publish(env, directory: Path, code: int = 0):
    r = CliRunner().invoke(cli, ["publish", str(directory)], env=env, catch_exceptions=False)
    assert r.exit_code == code, r.stderr + r.stdout
    return r


def test_tile_index_paths():
    assert _index(1234067) == "x001/x234/067"
    assert _index(0) == "000" and _index(999) == "999" and _index(1000) == "x001/000"
    assert tile_path(0, 5) == "tile/0/005" and tile_path(1, 0, 17) == "tile/1/000.p/17"
    assert entries_path(3, 9) == "tile/entries/003.p/9"


def test_publish_full_and_partial_tiles_then_incrementally(setup, tmp_path, tilescheck):
    ledger, authority, karen, env = setup
    grow(ledger, karen, 600)
    cp = create_checkpoint(ledger, ledger.log_signer(KeyStore(env["TILSYN_HOME"])))
    out = tmp_path / "pub"
    publish(env, out)
    size = cp.size
    full, rest = divmod(size, 256)
    for n in range(full):
        assert len((out / tile_path(0, n)).read_bytes()) == 8192
        assert (out / entries_path(n)).is_file()
    assert len((out / tile_path(0, full, rest)).read_bytes()) == 32 * rest
    level1 = (out / tile_path(1, 0, full)).read_bytes()
    # A level-1 hash is the Merkle tree hash of the full level-0 tile below it.
    assert level1[:32] == merkle.root([e.record_bytes for e in ledger.read()][:256])
    assert (out / "checkpoint").read_text(encoding="utf-8").startswith(f"{ledger.origin}\n{size}\n")
    assert tilescheck(out, log_vkey(ledger)).startswith(f"ok {size} ")

    # Incremental: 300 more events; the full tiles already there are left alone.
    grow(ledger, karen, 300, start=600)
    cp2 = create_checkpoint(ledger, ledger.log_signer(KeyStore(env["TILSYN_HOME"])))
    r = publish(env, out)
    assert f"(was {size})" in r.stdout and "unchanged" in r.stdout
    unchanged = int(r.stdout.split(" unchanged")[0].rsplit(" ", 1)[1])
    assert unchanged >= 2 * full
    assert tilescheck(out, log_vkey(ledger)).startswith(f"ok {cp2.size} ")

    # A damaged full tile in the publication is repaired from the records.
    victim = out / tile_path(0, 0)
    victim.write_bytes(b"\x00" * 8192)
    assert "1 repaired" in publish(env, out).stdout
    assert tilescheck(out, log_vkey(ledger)).startswith(f"ok {cp2.size} ")


def test_publish_refuses_a_directory_this_ledger_does_not_extend(setup, tmp_path):
    ledger, authority, karen, env = setup
    grow(ledger, karen, 10)
    create_checkpoint(ledger, ledger.log_signer(KeyStore(env["TILSYN_HOME"])))
    out = tmp_path / "pub"
    publish(env, out)
    # A checkpoint signed by our own log key for a different history of 5 events: a fork.
    body = checkpoint_body(ledger.origin, 5, hashlib.sha256(b"another history").digest())
    (out / "checkpoint").write_text(sign_note(body, note_key_name(ledger.origin), ledger.log_signer(KeyStore(env["TILSYN_HOME"])).private_key), encoding="utf-8")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    r = publish(env, out, code=2)
    assert "fork" in r.stderr and r.stderr.startswith("tilsyn: error: ")
    assert before == {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    # Something that is no checkpoint of ours is refused too.
    (out / "checkpoint").write_text("hello\n", encoding="utf-8")
    assert "not a checkpoint signed by this ledger" in publish(env, out, code=2).stderr


@pytest.mark.parametrize("size", [0, 1, 2, 3, 255, 256, 257, 511, 512, 513, 1000, 65535, 65536, 65537, 66049])
def test_the_root_from_the_tiles_is_the_trees_root(size, tmp_path):
    """publish computes the root from the tile hashes it writes (no second, running right edge): at every
    size, across tile and level boundaries, it equals the RFC 9162 root of the same leaves."""
    from tilsyn.ledger.tiles import PublishResult, _full_tiles, _Writer, tiles_root

    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    writer = _Writer(tmp_path, PublishResult(size), 0)
    levels: list[list[bytes]] = [[]]
    for n, leaf in enumerate(leaves, start=1):
        levels[0].append(leaf)
        if n % 256 == 0:
            _full_tiles(levels, writer, n)
    tree = merkle.MerkleTree()
    tree.extend(leaves)
    assert tiles_root(levels) == tree.root()
