"""The reader group of one ledger: register reader keys, keep the group key current, unlock readers.

Before anything personal is sealed, :meth:`ReaderGroup.sealing_key` makes sure the newest epoch's
members are exactly the permitted readers now (readers.py); if they are not — a reader was removed,
or joined, or changed their reader key — a permitted reader acting here first signs a new epoch. So
data is never sealed under a group key that a removed reader holds.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from . import readers
from .errors import AuthorizationError, ValidationError
from .readerkeys import NoReaderKey, load_reader_key, new_epoch, reader_key_path, save_reader_key, x25519_public

if TYPE_CHECKING:
    from .keys import KeyStore
    from .ledger import Event, Ledger
    from .signing import Signer


class ReaderGroup:
    """Reader keys and group epochs of ``ledger``, folded from its verified ``ledger/readers`` stream."""

    def __init__(self, ledger: "Ledger"):
        self.ledger = ledger
        self.keyring = ledger.vault.keyring
        self._state: readers.ReaderState | None = None
        # The sealing epoch and key, and the marks (readers stream version, last key event) they hold for:
        # sealing asks for them once per statement, so they are recomputed only when either moved.
        self._sealing: tuple[tuple[int, int], tuple[int, bytes]] | None = None
        ledger.vault.reader_state = self.state

    def _marks(self) -> tuple[int, int]:
        mark = self.ledger.stream_mark(readers.READERS_STREAM)  # catches up with other writers first
        return (mark.version if mark is not None else 0), self.ledger._registry.last_seq

    def state(self) -> readers.ReaderState:
        """The folded stream (refolded only when the stream moved on)."""
        version = self._marks()[0]
        if self._state is None or self._state.version != version:
            registry = self.ledger.registry()
            self._state = readers.fold(self.ledger.read(stream=readers.READERS_STREAM), registry)
        self.keyring.ledger_key = self.ledger.genesis_key_id
        return self._state

    # -- unlocking ---------------------------------------------------------------------------------
    def unlock(self, keystore: "KeyStore", kid: str, passphrase: str | None) -> bool:
        """Unlock the reader key of Ed25519 key ``kid`` from the person's own key home, if it is there."""
        key = load_reader_key(keystore.home, kid, passphrase)
        if key is not None:
            self.keyring.unlock(kid, key)
        return key is not None

    def unlock_actor(self, actor: str, keystore: "KeyStore", passphrase: str | None = None) -> int:
        """Unlock every reader key ``actor`` ever had (a revoked one still opens what was sealed before)."""
        return sum(self.unlock(keystore, kid, passphrase)
                   for kid, info in self.ledger.registry().keys.items() if info.actor == actor)

    # -- registering -------------------------------------------------------------------------------
    def register(self, signer: "Signer", keystore: "KeyStore", passphrase: str | None = None) -> "Event":
        """Make ``signer``'s X25519 reader key in their own key home and register it, signed by themselves."""
        state = self.state()
        key = load_reader_key(keystore.home, signer.key_id, passphrase)  # made before, not yet registered?
        made = key is None
        if made:
            key = X25519PrivateKey.generate()
            save_reader_key(keystore.home, signer.key_id, key, passphrase)
        public = x25519_public(key)
        if state.reader_keys.get(signer.key_id, (None,))[0] == public:
            raise ValidationError(f"{signer.actor!r} has registered this reader key already")
        try:
            event = self.ledger.record(signer, readers.READERS_STREAM, readers.READER_KEY,
                                       {"key_id": signer.key_id, "x25519_public_key": base64.b64encode(public).decode()})
        except BaseException:
            if made:
                reader_key_path(keystore.home, signer.key_id).unlink(missing_ok=True)
            raise
        self.keyring.unlock(signer.key_id, key)
        return event

    # -- the group key -----------------------------------------------------------------------------
    def rotate(self, signer: "Signer") -> "Event":
        """Sign a new epoch of the group key, wrapped to every permitted reader now."""
        state = self.state()
        want = readers.permitted(self.ledger.registry(), state)
        if signer.key_id not in want:
            raise AuthorizationError(f"{signer.actor!r} is not a permitted reader with a registered reader key "
                                     "(a tilsynskonsulent or tilsynsleder who ran 'tilsyn readers register')")
        if signer.key_id not in self.keyring.identities:
            raise NoReaderKey(f"the reader key of {signer.actor!r} is not in this key home")
        current = state.current()
        previous = None
        if current is not None:
            try:
                previous = self.keyring.group_key(state, current.epoch)
            except NoReaderKey:  # nobody here can hand on the history: new members read from now on
                previous = None
        number = len(state.epochs) + 1
        group, payload = new_epoch(self.keyring.ledger_key, number, want, previous)
        event = self.ledger.record(signer, readers.READERS_STREAM, readers.GROUP_KEY, payload,
                                   stream_version=state.version + 1)
        self.keyring.remember(number, group)
        self.ledger.vault.seal_legacy_keys(number, group)  # a ledger of before reader groups: its old keys too
        return event

    def stale(self, state: readers.ReaderState) -> str | None:
        """Why the newest epoch may not be sealed under now (None: it may)."""
        current = state.current()
        if current is None:
            return "there is no reader group key yet"
        if current.problem:
            return f"reader group epoch {current.epoch} is unusable: {current.problem}"
        want = readers.permitted(self.ledger.registry(), state)
        if want != current.member_x25519:
            gone = sorted(set(current.members) - set(want))
            return ("a reader was removed" if gone else "the permitted readers changed") + \
                f" since reader group epoch {current.epoch}"
        return None

    def sealing_key(self, key_id: str | None) -> tuple[int, bytes]:
        """The epoch and key to seal new subject keys under, rotating first when the group is stale
        (preferably by the signer ``key_id`` of the statement being sealed)."""
        marks = self._marks()
        if self._sealing is not None and self._sealing[0] == marks:
            return self._sealing[1]
        state = self.state()
        reason = self.stale(state)
        if reason is None:
            try:
                got = state.current().epoch, self.keyring.group_key(state, state.current().epoch)
                self._sealing = (marks, got)
                return got
            except NoReaderKey:
                raise NoReaderKey("personal data can be sealed only by a member of the reader group acting with "
                                  "their own reader key (a tilsynskonsulent or tilsynsleder, --as NAME)") from None
        want = readers.permitted(self.ledger.registry(), state)
        signers = self.ledger._signers
        candidates = ([signers[key_id]] if key_id in signers else []) + list(signers.values())
        rotator = next((s for s in candidates if s.key_id in want and s.key_id in self.keyring.identities), None)
        if rotator is None:
            raise NoReaderKey(f"the reader group needs a new key before personal data is sealed ({reason}); only a "
                              "permitted reader acting with their own reader key can make it: "
                              "tilsyn --as NAME readers rotate")
        self.rotate(rotator)
        state = self.state()
        return state.current().epoch, self.keyring.group_key(state, state.current().epoch)
