"""The signing worker behind :class:`tilsyn.ledger.signing.SigningProcess` (``python -m``).

Reads a 32-byte raw Ed25519 private key from stdin, then frames: a 4-byte big-endian count, and that
many (4-byte length, data) items; answers each frame with the 64-byte signatures, in order.
"""

from __future__ import annotations

import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def _exact(stream, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise EOFError
    return data


def main() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    key = Ed25519PrivateKey.from_private_bytes(_exact(stdin, 32))
    while header := stdin.read(4):
        count = int.from_bytes(header, "big")
        signatures = [key.sign(_exact(stdin, int.from_bytes(_exact(stdin, 4), "big"))) for _ in range(count)]
        stdout.write(b"".join(signatures))
        stdout.flush()


if __name__ == "__main__":
    main()
