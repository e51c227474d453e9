"""Publish the ledger as a C2SP tlog-tiles static log, for monitors and any web server.

Layout under the directory (the log's URL prefix):

* ``checkpoint`` — the latest checkpoint note, with the witnesses' cosignatures;
* ``tile/<L>/<N>`` — 256 hashes (8,192 bytes): at level 0 the records' leaf hashes, at level L the
  Merkle Tree Hashes of the full tiles of level L-1; ``tile/<L>/<N>.p/<W>`` the partial tile of width W;
* ``tile/entries/<N>[.p/<W>]`` — entry bundles: each record's bytes prefixed by its big-endian u16 length.

``<N>`` is written in 3-digit groups, all but the last prefixed ``x`` (1234067 → ``x001/x234/067``).

Everything is computed from the record bytes (never from the stored Merkle nodes) and the root the tiles
give must equal the signed checkpoint's root before the checkpoint file is replaced, so a published
checkpoint always matches the tiles beside it. Publishing into a directory that holds an older
publication is incremental: its checkpoint must be signed by this ledger's log key and extended by the
ledger (else nothing is overwritten: that is a fork), unchanged files are left alone, and files that
differ from what the ledger gives are rewritten and counted.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .checkpoint import CheckpointError, parse_checkpoint
from .errors import LedgerError
from .merkle import EMPTY_ROOT
from .store import events

if TYPE_CHECKING:
    from .ledger import Ledger

__all__ = ["PublishResult", "entries_path", "publish", "tile_path", "tiles_root"]

WIDTH = 256
MAX_ENTRY = 0xFFFF  # entry bundles length-prefix each entry with a u16


def _index(n: int) -> str:
    """``n`` as zero-padded 3-digit path elements, all but the last prefixed with ``x``."""
    groups = []
    while True:
        groups.append(f"{n % 1000:03d}")
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    return "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])


def tile_path(level: int, index: int, width: int = WIDTH) -> str:
    """The tile resource path, e.g. ``tile/0/x001/x234/067`` or ``tile/1/005.p/17``."""
    return f"tile/{level}/{_index(index)}" + ("" if width == WIDTH else f".p/{width}")


def entries_path(index: int, width: int = WIDTH) -> str:
    """The entry bundle path, e.g. ``tile/entries/000`` or ``tile/entries/003.p/9``."""
    return f"tile/entries/{_index(index)}" + ("" if width == WIDTH else f".p/{width}")


def _tile_root(hashes: list[bytes]) -> bytes:
    """MTH of a power-of-two number of hashes (a perfect subtree; a full tile has 256)."""
    level = hashes
    while len(level) > 1:
        level = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
    return level[0]


def tiles_root(levels: list[list[bytes]]) -> bytes:
    """The RFC 9162 root of the tree the tiles describe, from the hashes still pending per level.

    ``levels[L]`` holds the hashes of level-L tiles not yet grouped into a full tile of level L + 1
    (fewer than 256, each covering 256**L leaves), so the tree's size written in base 256 is their
    lengths. Its perfect subtrees, largest first, are the binary pieces of each level's pending run,
    from the top level down; the root is their right fold. Every interior node below a tile hash is
    then hashed once (by :func:`_tile_root`) instead of once more for a running right edge.
    """
    pieces = []
    for pending in reversed(levels):
        pos = 0
        for bit in reversed(range(8)):
            if len(pending) >> bit & 1:
                pieces.append(_tile_root(pending[pos:pos + (1 << bit)]))
                pos += 1 << bit
    if not pieces:
        return EMPTY_ROOT
    h = pieces.pop()
    while pieces:
        h = hashlib.sha256(b"\x01" + pieces.pop() + h).digest()
    return h


@dataclass
class PublishResult:
    size: int
    written: int = 0
    unchanged: int = 0
    repaired: int = 0
    previous_size: int | None = None


class _Writer:
    def __init__(self, root: Path, result: PublishResult, protect_below: int):
        self.root, self.result, self.protect_below = root, result, protect_below
        self.deferred: list[tuple[Path, bytes]] = []

    def put(self, rel: str, data: bytes, end_index: int) -> None:
        path = self.root / rel
        try:
            existing = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            existing = None
        if existing == data:
            self.result.unchanged += 1
            return
        if existing is not None and end_index <= self.protect_below:
            # Part of the old publication, different from the ledger: wait until the old checkpoint is
            # confirmed as a prefix of this ledger before replacing anything it vouches for.
            self.deferred.append((path, data))
            return
        self._write(path, data)
        if existing is None:
            self.result.written += 1
        else:
            self.result.repaired += 1

    def flush_deferred(self) -> None:
        for path, data in self.deferred:
            self._write(path, data)
            self.result.repaired += 1
        self.deferred.clear()

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)


def publish(ledger: "Ledger", directory: str | os.PathLike) -> PublishResult:
    """Write (or bring up to date) the tlog-tiles publication of the latest checkpoint in ``directory``."""
    from .checkpoints import latest_checkpoint
    from .witnessing import open_log_note
    from .witnessing import cosigned_note

    cp = latest_checkpoint(ledger)
    if cp is None:
        raise LedgerError("no checkpoint to publish yet: run 'tilsyn checkpoint' first")
    out = Path(directory)
    with ledger.store.reading() as conn:
        origin = ledger.origin
        try:
            signed = parse_checkpoint(open_log_note(ledger, cp.note)[0])
        except CheckpointError as e:
            raise LedgerError(f"checkpoint #{cp.id} does not verify under the log key ({e}); run 'tilsyn verify'") from None
        size, root = signed.size, signed.root
        count = ledger.store.count(conn)
        if size > count:
            raise LedgerError(f"checkpoint #{cp.id} covers {size} events but the ledger has {count}; run 'tilsyn verify'")
        biggest = conn.execute(sa.select(sa.func.max(sa.func.length(events.c.record)))
                               .where(events.c.seq <= size)).scalar() or 0
        if biggest > MAX_ENTRY:
            raise LedgerError(f"a record of {biggest} bytes does not fit a tlog-tiles entry bundle (at most {MAX_ENTRY})")
        old_size, old_root = _previous(ledger, out, origin)
        if old_size is not None and old_size > size:
            raise LedgerError(f"{out} holds a publication of {old_size} events, more than this ledger's checkpoint "
                              f"({size}): a fork or a truncated ledger; refusing to overwrite it")
        result = PublishResult(size, previous_size=old_size)
        writer = _Writer(out, result, old_size or 0)
        levels: list[list[bytes]] = [[]]  # pending hashes per level
        bundle = bytearray()
        confirmed = not old_size
        n = last = 0
        while last < size:
            rows = conn.execute(sa.select(events.c.seq, events.c.record).where(events.c.seq > last)
                                .where(events.c.seq <= size).order_by(events.c.seq).limit(20000)).all()
            if not rows:
                break
            for r in rows:
                record = bytes(r.record)
                leaf = hashlib.sha256(b"\x00" + record).digest()
                bundle += struct.pack(">H", len(record)) + record
                levels[0].append(leaf)
                n += 1
                if n % WIDTH == 0:
                    writer.put(entries_path(n // WIDTH - 1), bytes(bundle), n)
                    bundle.clear()
                    _full_tiles(levels, writer, n)
                if not confirmed and n == old_size:
                    if tiles_root(levels) != old_root:
                        raise LedgerError(f"{out} holds a checkpoint of size {old_size} that this ledger does not "
                                          "extend (its root differs): a fork; refusing to overwrite it")
                    confirmed = True
                    writer.flush_deferred()
            last = rows[-1].seq
    if n != size:
        raise LedgerError(f"the ledger's records end at {n}, short of the checkpoint's {size}")
    if tiles_root(levels) != root:
        raise LedgerError(f"the records give a different root than checkpoint #{cp.id} signs; run 'tilsyn verify'")
    # Partial tiles and bundle for this size.
    if size % WIDTH:
        writer.put(entries_path(size // WIDTH, size % WIDTH), bytes(bundle), size)
    for level, pending in enumerate(levels):
        if pending:
            writer.put(tile_path(level, size // WIDTH ** (level + 1), len(pending)), b"".join(pending), size)
    note = cosigned_note(ledger, cp)
    path = out / "checkpoint"
    if not path.exists() or path.read_text(encoding="utf-8", errors="replace") != note:
        writer._write(path, note.encode("utf-8"))
        result.written += 1
    return result


def _full_tiles(levels: list[list[bytes]], writer: _Writer, n: int) -> None:
    """Write every tile that became full when the tree reached ``n`` leaves, and carry its hash up."""
    level = 0
    while len(levels[level]) == WIDTH:
        hashes = levels[level]
        index = (n // WIDTH ** (level + 1)) - 1
        writer.put(tile_path(level, index), b"".join(hashes), n)
        if len(levels) == level + 1:
            levels.append([])
        levels[level + 1].append(_tile_root(hashes))
        levels[level] = []
        level += 1


def _previous(ledger: "Ledger", out: Path, origin: str) -> tuple[int | None, bytes | None]:
    """The size and root of an earlier publication in ``out``, checked against our log key."""
    from .witnessing import open_log_note

    path = out / "checkpoint"
    if not path.exists():
        return None, None
    try:
        note = path.read_text(encoding="utf-8")
        cp = parse_checkpoint(open_log_note(ledger, note)[0])
    except (UnicodeDecodeError, CheckpointError) as e:
        raise LedgerError(f"{path} is not a checkpoint signed by this ledger's log key ({e}); "
                          "publish into an empty directory or remove it") from None
    if cp.origin != origin:
        raise LedgerError(f"{path} is for origin {cp.origin!r}, not {origin!r}")
    return cp.size, cp.root
