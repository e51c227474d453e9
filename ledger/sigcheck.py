"""Signature checks of an append, started before the write lock and finished before the commit.

Every append verifies every signature against the key registered for it at the event's position
(issue 9). Verifying is the costliest step of an append (three times signing), and it needs no
database: cryptography releases the GIL while it verifies, so the checks run on threads, over every
core, while the appending thread takes the lock, reads the head, seals the records and inserts them.

An early check is made against the key the registry names *now*. Under the lock the registry is
brought up to date and each event's key authorised at its position; the early result counts only if
that key is byte for byte the one it was checked with — otherwise (a key registered in the same
batch, a registry that moved on) the signature is verified again there and then. The answer is the
same as verifying inline; only the time differs.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Mapping, Sequence

from . import keys

_WORKERS = max(2, os.cpu_count() or 1)
_pool: ThreadPoolExecutor | None = None
_EARLY_FROM = 16
"""Smaller batches are verified inline: handing one signature to a thread and back costs about what the
overlap saves (measured on 2 cores), so only batches are checked early."""
_BATCH_FROM = 64
"""A batch at least this large is split over every core; a smaller one is checked on one thread."""


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:  # made on first use: an import must not start threads
        _pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="tilsyn-verify")
    return _pool


def _verify_all(items: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]:
    return [keys.verify(pub, sig, data) for pub, sig, data in items]


class EarlyChecks:
    """The early signature checks of one batch of signed statements (see the module docstring)."""

    def __init__(self, batch: Sequence, registered: Mapping[str, object]):
        # Keyed by the signed statement object itself: the ledger may put statements of its own between.
        self._early: dict[int, tuple[bytes, int]] = {}
        jobs: list[tuple[bytes, bytes, bytes]] = []
        for item in batch if len(batch) >= _EARLY_FROM else ():
            pub = getattr(registered.get(item.statement.key_id), "public_key", None)
            if pub is not None:
                self._early[id(item)] = (pub, len(jobs))
                jobs.append((pub, item.signature, item.data))
        self._batch = batch  # keeps the items (and so their ids) alive while the checks are pending
        self._parts: list[Future] = []
        self._size = max(1, len(jobs))
        if not jobs:
            return
        pool = _executor()
        if len(jobs) >= _BATCH_FROM:
            self._size = -(-len(jobs) // _WORKERS)
        for start in range(0, len(jobs), self._size):
            self._parts.append(pool.submit(_verify_all, jobs[start:start + self._size]))

    def verifies(self, item, public_key: bytes) -> bool:
        """Whether ``item``'s signature verifies under ``public_key`` (the key authorised for it)."""
        early = self._early.get(id(item))
        if early is None or early[0] != public_key:
            return keys.verify(public_key, item.signature, item.data)
        n = early[1]
        return self._parts[n // self._size].result()[n % self._size]

    def knows(self, item) -> bool:
        """Whether an early check of ``item`` was started."""
        return id(item) in self._early

    def cancel(self) -> None:
        """Stop checks not started yet (the append failed before it needed them)."""
        for future in self._parts:
            future.cancel()
