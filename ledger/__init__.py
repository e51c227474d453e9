"""tilsyn.ledger — the kernel: signed, hash-chained, append-only events.

It knows nothing of social supervision. The public API:

- :class:`Ledger` — ``Ledger.init(url, authority, keystore)``, ``Ledger.open(url, policy)``,
  ``append``, ``record``, ``read``, key management;
- :class:`Signer`, :class:`SignedStatement`, :class:`KeyStore` — actors and their private keys;
- :class:`Policy`, :class:`EventType` — which event types exist and who may sign them;
- :func:`verify_ledger` — re-check everything from the stored bytes;
- ``ledger.tree`` (:class:`~tilsyn.ledger.tree.LedgerTree`) — Merkle roots and proofs;
  :func:`create_checkpoint`, :func:`verify_checkpoints`, :func:`verify_all` — signed checkpoints;
  :func:`export_bundle`, :func:`verify_bundle` — evidence bundles for outsiders;
- the errors in :mod:`tilsyn.ledger.errors`.
"""

from .envelope import Record, Statement
from .errors import AuthorizationError, ConflictError, KeyFileError, LedgerError, StoreError, ValidationError
from .identity import ROLES
from .keys import KeyStore
from .ledger import Event, Ledger
from .policy import EventType, Policy
from .signing import SignedStatement, Signer
from .verify import Report, verify_ledger
from .bundle import BundleReport, export_bundle, verify_bundle
from .checkpoints import create_checkpoint, verify_all, verify_checkpoints

__all__ = [
    "AuthorizationError", "ConflictError", "Event", "EventType", "KeyFileError", "KeyStore", "Ledger",
    "LedgerError", "Policy", "ROLES", "Record", "Report", "SignedStatement", "Signer", "Statement",
    "StoreError", "ValidationError", "verify_ledger",
    "BundleReport", "create_checkpoint", "export_bundle", "verify_all", "verify_bundle", "verify_checkpoints",
]
