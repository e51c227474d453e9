"""What every command needs: where the ledger is, who is acting, and where their keys live."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property

import click

from tilsyn.ledger import KeyStore, Ledger, Policy, Signer
from tilsyn.ledger.errors import AuthorizationError

DEFAULT_DB = "tilsyn.db"


@dataclass
class AppContext:
    """Global options, resolved once per invocation."""

    db: str
    actor: str | None
    home: str | None = None
    _ledger: Ledger | None = field(default=None, repr=False)

    @cached_property
    def keystore(self) -> KeyStore:
        return KeyStore(self.home)

    @property
    def passphrase(self) -> str | None:
        return os.environ.get("TILSYN_PASSPHRASE") or None

    def policy(self) -> Policy:
        """The event types of this installation: the kernel's plus every plugin's."""
        from tilsyn.plugins.manager import build_policy  # plugins are above the kernel

        return build_policy()

    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger.open(self.db, self.policy())
        return self._ledger

    def plugins(self):
        from tilsyn.plugins.manager import default_plugins

        return default_plugins()

    def supervision(self):
        from tilsyn.standards.service import Supervision

        return Supervision(self.ledger(), self.plugins())

    def signer(self) -> Signer:
        if not self.actor:
            raise AuthorizationError("say who is acting: --as NAME before the command, or set $TILSYN_ACTOR")
        return self.ledger().signer(self.actor, self.keystore, self.passphrase)

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()


pass_app = click.make_pass_decorator(AppContext)
