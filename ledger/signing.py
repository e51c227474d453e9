"""Signing statements: a :class:`Signer` is an actor holding their private key.

Signing needs no database and no lock, so a whole visit can be signed on the supervisor's machine,
or a large batch on every core (:meth:`Signer.sign_many`), before the ledger is touched.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .envelope import Statement, encode_statement
from .keys import key_id, public_bytes


@dataclass(frozen=True)
class SignedStatement:
    """A statement, its canonical bytes and the signature over exactly those bytes."""

    statement: Statement
    data: bytes
    signature: bytes
    # The public key of the signer that produced this, when it was made by a local Signer; the ledger
    # then only compares keys instead of re-verifying a signature it watched being made.
    signer_public_key: bytes | None = field(default=None, compare=False, repr=False)


_PARALLEL_FROM = 256
"""Batches at least this large are signed on several threads."""


class Signer:
    """An actor and their Ed25519 private key."""

    def __init__(self, actor: str, private_key: Ed25519PrivateKey):
        self.actor = actor
        self.private_key = private_key
        self.public_key = public_bytes(private_key)
        self.key_id = key_id(self.public_key)

    def sign(self, statement: Statement) -> SignedStatement:
        """Encode the statement canonically and sign those bytes."""
        if statement.key_id != self.key_id or statement.actor != self.actor:
            raise ValueError("statement names another actor or key than this signer")
        data = encode_statement(statement)
        return SignedStatement(statement, data, self.private_key.sign(data), self.public_key)

    def sign_many(self, statements: Sequence[Statement], workers: int | None = None) -> list[SignedStatement]:
        """Sign a batch, spreading large ones over threads on every core.

        cryptography releases the GIL while it signs, so threads scale with the cores; unlike processes
        they cost nothing to start and the private key never leaves this process.
        """
        datas = [encode_statement(s) for s in statements]
        workers = workers if workers is not None else (os.cpu_count() or 1)
        if workers <= 1 or len(datas) < _PARALLEL_FROM:
            sigs = [self.private_key.sign(d) for d in datas]
        else:
            sign = self.private_key.sign
            size = -(-len(datas) // workers)
            chunks = [datas[i:i + size] for i in range(0, len(datas), size)]
            with ThreadPoolExecutor(workers) as pool:
                sigs = [s for part in pool.map(lambda chunk: [sign(d) for d in chunk], chunks) for s in part]
        return [SignedStatement(s, d, g, self.public_key) for s, d, g in zip(statements, datas, sigs)]


# -- signing in another process ----------------------------------------------------------------
# Threads share the GIL: a thread that signs gets it back only at the interpreter's switch interval
# while the main thread is busy sealing and inserting, so the two barely overlap. A worker process
# has its own interpreter and keeps the other core busy with signatures alone. It is a plain
# subprocess (``python -m tilsyn.ledger.signworker``) speaking length-prefixed frames over its pipes,
# not multiprocessing: that would re-run the caller's script in the child when it lacks a main guard.


class SigningProcess:
    """A worker process that signs for one signer: ``submit(statements)`` returns a future of the
    signed batch; results come back in order. The private key travels to the worker once, over its
    stdin pipe, and lives only in that process's memory."""

    def __init__(self, signer: Signer):
        import queue
        import subprocess
        import sys
        import threading

        from cryptography.hazmat.primitives import serialization

        self.signer = signer
        raw = signer.private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                               serialization.NoEncryption())
        self._proc = subprocess.Popen([sys.executable, "-m", "tilsyn.ledger.signworker"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE)
        self._proc.stdin.write(raw)
        self._proc.stdin.flush()
        self._outbox: queue.Queue = queue.Queue()
        self._waiting: queue.Queue = queue.Queue()
        # One thread writes batches, one reads signatures: neither pipe can fill up and block the other.
        self._writer = threading.Thread(target=self._write, daemon=True, name="tilsyn-sign-writer")
        self._reader = threading.Thread(target=self._read, daemon=True, name="tilsyn-sign-reader")
        self._writer.start()
        self._reader.start()

    def _write(self) -> None:
        stdin = self._proc.stdin
        while (datas := self._outbox.get()) is not None:
            frame = [len(datas).to_bytes(4, "big")]
            for d in datas:
                frame += (len(d).to_bytes(4, "big"), d)
            stdin.write(b"".join(frame))
            stdin.flush()
        stdin.close()

    def _read(self) -> None:
        stdout = self._proc.stdout
        while (item := self._waiting.get()) is not None:
            future, statements, datas = item
            blob = stdout.read(64 * len(datas))
            if len(blob) != 64 * len(datas):
                future.set_exception(RuntimeError("the signing worker stopped"))
                continue
            pub = self.signer.public_key
            future.set_result([SignedStatement(st, d, blob[64 * i:64 * i + 64], pub)
                               for i, (st, d) in enumerate(zip(statements, datas))])

    def submit(self, statements: Sequence[Statement]):
        """Encode here, sign there; the future's result is the list of signed statements."""
        from concurrent.futures import Future

        datas = [encode_statement(st) for st in statements]
        future: Future = Future()
        self._waiting.put((future, list(statements), datas))
        self._outbox.put(datas)
        return future

    def close(self) -> None:
        self._outbox.put(None)
        self._waiting.put(None)
        self._writer.join()
        self._reader.join()
        self._proc.wait()

    def __enter__(self) -> "SigningProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
