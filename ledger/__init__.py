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

# The names above, each from the module that defines it. They are imported on first use (PEP 562), not
# here: importing the package (the CLI does, for its errors) must not pull in SQLAlchemy, psycopg and
# the crypto stack, so that `tilsyn --version` and `tilsyn --help` answer at once.
_EXPORTS = {
    "Record": "envelope", "Statement": "envelope",
    "AuthorizationError": "errors", "ConflictError": "errors", "KeyFileError": "errors", "LedgerError": "errors",
    "StoreError": "errors", "ValidationError": "errors",
    "ROLES": "identity",
    "KeyStore": "keys",
    "Event": "ledger", "Ledger": "ledger",
    "EventType": "policy", "Policy": "policy",
    "SignedStatement": "signing", "Signer": "signing",
    "Report": "verify", "verify_ledger": "verify",
    "BundleReport": "bundle", "export_bundle": "bundle", "verify_bundle": "bundle",
    "create_checkpoint": "checkpoints", "verify_all": "checkpoints", "verify_checkpoints": "checkpoints",
}


def __getattr__(name: str):
    import importlib

    module_name = _EXPORTS.get(name)
    if module_name is None:
        # A submodule (``tilsyn.ledger.store``) that nobody imported yet: the eager package used to
        # import them all, so attribute access to one keeps working.
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module_name}"), name)
    globals()[name] = value  # the next access is a plain lookup
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "AuthorizationError", "ConflictError", "Event", "EventType", "KeyFileError", "KeyStore", "Ledger",
    "LedgerError", "Policy", "ROLES", "Record", "Report", "SignedStatement", "Signer", "Statement",
    "StoreError", "ValidationError", "verify_ledger",
    "BundleReport", "create_checkpoint", "export_bundle", "verify_all", "verify_bundle", "verify_checkpoints",
]
