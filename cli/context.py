"""What every command needs: where the ledger is, who is acting, and where their keys live."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import click

from tilsyn.ledger.errors import AuthorizationError

if TYPE_CHECKING:  # imported where used: `tilsyn --version` / `--help` must not load the database layers
    from tilsyn.ledger import KeyStore, Ledger, Policy, Signer

DEFAULT_DB = "tilsyn.db"
SETTINGS_FILE = "tilsyn.toml"
READ_ONLY_COMMANDS = frozenset({
    "status", "history", "findings", "log", "verify", "verify-bundle", "keys list", "tilbud list",
    "subjects list", "readers list", "plugins list", "standards list", "standards show",
})
"""Commands that only read: they open the ledger read-only (SQLite ``mode=ro``), so a read-only or
archived copy can be read and verified and reading never changes the file."""

PERSONAL_DATA_READERS = frozenset({"tilsynskonsulent", "tilsynsleder"})
"""Roles that may read citizens' personal data in clear (the kernel's ``readers.READER_ROLES``; reading
also needs the reader's own key, see ledger/readers.py)."""


@dataclass
class AppContext:
    """Global options, resolved once per invocation."""

    db: str
    actor: str | None
    home: str | None = None
    _ledger: Ledger | None = field(default=None, repr=False)

    @cached_property
    def keystore(self) -> KeyStore:
        from tilsyn.ledger.keys import KeyStore

        return KeyStore(self.home)

    @property
    def passphrase(self) -> str | None:
        return os.environ.get("TILSYN_PASSPHRASE") or None

    def policy(self) -> Policy:
        """The event types of this installation: the kernel's plus every plugin's."""
        return self.plugins().policy()  # plugins are above the kernel; tilsyn.toml is checked here too

    def kek(self) -> bytes | None:
        """The operator's key-encryption key for personal data, if one is configured."""
        from tilsyn.ledger.personal import load_kek

        return load_kek(self.keystore.home, required=False)

    def ledger(self) -> Ledger:
        """The ledger, verified against what this machine verified before (kept in the key home)."""
        if self._ledger is None:
            from tilsyn.ledger.ledger import Ledger

            self._ledger = Ledger.open(self.db, self.policy(), kek=self.kek(), trust_home=self.keystore.home,
                                       read_only=reading_only())
        return self._ledger

    def raw_ledger(self):
        """The ledger opened without folding or checking anything (for 'tilsyn verify')."""
        if self._ledger is None:
            from tilsyn.ledger.ledger import Ledger

            self._ledger = Ledger.open(self.db, self.policy(), kek=self.kek(), trust_home=self.keystore.home,
                                       verified=False, read_only=reading_only())
        return self._ledger

    def plugins(self):
        """The installed plugins, with operator settings from ./tilsyn.toml ([settings] table) if present."""
        from tilsyn.plugins.manager import PluginError, default_plugins

        from .config import load_config

        try:
            return default_plugins(load_config(SETTINGS_FILE).settings)
        except PluginError as e:
            raise PluginError(f"{SETTINGS_FILE}: {e}" if not str(e).startswith(SETTINGS_FILE) else str(e)) from None

    def supervision(self, *, reading: bool = False):
        """The domain service. For ``reading``, personal data is shown only to a reader who proves
        (by their key file) to be a tilsynskonsulent or tilsynsleder; everyone else sees placeholders."""
        from tilsyn.standards.service import Supervision

        may_see = False
        if reading and self.actor:
            info = self.ledger().key_info(self.signer().key_id)  # the key file proves who reads
            may_see = bool(info.roles & PERSONAL_DATA_READERS)
        return Supervision(self.ledger(), self.plugins(), may_see_personal=may_see or not reading)

    def signer(self) -> Signer:
        if not self.actor:
            raise AuthorizationError("say who is acting: --as NAME before the command, or set $TILSYN_ACTOR")
        return self.ledger().signer(self.actor, self.keystore, self.passphrase)

    def log_signer(self) -> Signer:
        """The ledger's log key, from this key home (the authority's), for an admin acting (--as): it
        signs checkpoints; no person's key ever does."""
        info = self.ledger().key_info(self.signer().key_id)
        if "admin" not in info.roles:
            raise AuthorizationError(f"checkpoints are signed with the ledger's log key by an admin in the "
                                     f"authority's key home; {self.actor!r} is not an admin")
        return self.ledger().log_signer(self.keystore, self.passphrase)

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()


def reading_only() -> bool:
    """True when the command being run is one of :data:`READ_ONLY_COMMANDS`."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return False
    path = ctx.command_path.split(" ", 1)[1] if " " in ctx.command_path else ""
    return path in READ_ONLY_COMMANDS


pass_app = click.make_pass_decorator(AppContext)
