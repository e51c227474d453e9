"""Errors raised by the ledger kernel.

Every error a user can cause carries one clear sentence; the CLI prints it on one line and exits 2.
"""


class LedgerError(Exception):
    """Base class of every error the kernel raises on purpose."""


class ValidationError(LedgerError):
    """A statement or payload is malformed (a float, a bad timestamp, an unknown event type …)."""


class ConflictError(LedgerError):
    """Optimistic concurrency: the stream moved on since the actor read it. Nothing was written."""

    def __init__(self, stream: str, expected: int, actual: int):
        self.stream, self.expected, self.actual = stream, expected, actual
        super().__init__(
            f"conflict on stream {stream!r}: expected it at version {expected}, "
            f"but it is at version {actual}; nothing was written"
        )


class AuthorizationError(LedgerError):
    """The signing key is unknown, revoked, belongs to someone else or lacks the required role."""


class KeyFileError(LedgerError):
    """A private key file is missing, unreadable or its passphrase is wrong."""


class StoreError(LedgerError):
    """The database cannot be opened, is not a ledger, or already holds one."""


class DamagedError(LedgerError):
    """Stored data failed verification: the bytes, a chain link, a signature or a cache disagree.

    ``seq`` is the first position found damaged, ``reason`` what is wrong there. The CLI exits 1 on it
    (a failed verification), never 2; run ``tilsyn verify`` for the full list of problems.
    """

    def __init__(self, seq: int, reason: str):
        self.seq, self.reason = seq, reason
        super().__init__(f"the ledger is damaged at seq {seq}: {reason}; run 'tilsyn verify'")
