"""Recording a supervision: payload → standard references → guards → sign → append.

:class:`Supervision` is what the CLI (and any other front end) talks to. It folds a tilbud's stream
into its state, fills in the standard each act is made under, runs every guard rule the plugins
contribute against the state *before* the event, and only then signs and appends. A refusal raises
:class:`Refused` naming the rule and its plugin; the ledger is unchanged.

A batch (a whole visit from ``tilsyn import``) is checked event by event against a state that
already includes the batch's earlier events, then appended in one transaction: all or nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any, Sequence

import msgspec
from tilsyn.ledger import AuthorizationError, Event, Ledger, LedgerError, Signer, ValidationError
from tilsyn.ledger import timefmt
from tilsyn.ledger.personal import is_sealed, sealed_subject
from tilsyn.ledger.readerkeys import NoReaderKey
from tilsyn.ledger.envelope import Statement

from . import danish
from . import events as ev
from .projection import EventView, TilbudState, apply, dump, fold, load
from .roles import role_refusal
from .rules import Finding
from .snapshots import SNAPSHOT_EVERY, SnapshotCache
from .summary import quality_model_of, summarise


NO_READER_KEY = "«personoplysning skjult: kræver en læsers egen nøgle»"
"""Shown where nobody acting holds a reader key that opens the field (the KEK alone opens nothing)."""


class Refused(ValidationError):
    """A guard rule refused the event."""

    def __init__(self, plugin: str, rule: str, reason: str):
        self.plugin, self.rule, self.reason = plugin, rule, reason
        super().__init__(f"refused by {plugin}/{rule}: {reason}")


class RoleRefused(Refused, AuthorizationError):
    """The signer holds no role that counts for the act (said in Danish before the kernel would refuse it)."""


class BatchRefused(ValidationError):
    """One event of a batch was refused; nothing of the batch was written."""

    def __init__(self, index: int, type: str, cause: ValidationError):
        self.index, self.cause = index, cause
        super().__init__(f"event {index} ({type}): {cause}; nothing of the batch was written")


def _view(e: Event) -> EventView:
    s = e.statement
    return EventView(e.seq, s.type, s.payload, s.actor, s.occurred_at, e.recorded_at, s.stream_version)


def parse_as_of(value: str | int | None) -> tuple[int | None, str | None]:
    """``--as-of``: a seq (digits), a date (to the end of that Danish day) or an RFC 3339 time."""
    if value is None or value == "":
        return None, None
    text = str(value).strip()
    if text.isdigit():
        if int(text) > 2**63 - 1:  # no ledger can reach it, and the database could not compare it
            raise ValidationError(f"--as-of seq {text} is larger than any ledger can be")
        return int(text), None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + timedelta(days=1)
            # People mean their own day: the end of it in Danish time (stored times stay UTC).
            moment = datetime(day.year, day.month, day.day, tzinfo=danish.ZONE) - timedelta(microseconds=1)
            return None, timefmt.format_time(moment)
        return None, timefmt.normalise_user_time(text, danish.ZONE)
    except ValueError:
        raise ValidationError(f"--as-of takes a seq, a date (YYYY-MM-DD) or an RFC 3339 time, not {text!r}") from None


class Supervision:
    """The domain's front door over a :class:`Ledger` and the loaded plugins."""

    def __init__(self, ledger: Ledger, plugins: Any, *, may_see_personal: bool = True):
        self.ledger = ledger
        self.plugins = plugins
        self.catalog = plugins.catalog
        self._event_types = {et.name: et for et in plugins.event_types}  # who may sign each act
        self.snapshots = SnapshotCache(ledger)
        self.may_see_personal = may_see_personal
        # How many personal fields this reader was shown in clear, and why others were not (for the note
        # views print: "say plainly" when something is hidden).
        self.personal: Counter[str] = Counter()

    # -- personal data -------------------------------------------------------------------------
    def reveal(self, tilbud: str, fact: Any, field: str) -> str:
        """A projected fact's field for display (see :meth:`reveal_value`)."""
        return self.reveal_value(tilbud, getattr(fact, field), fact.stream_version, field)

    def reveal_value(self, tilbud: str, value: Any, stream_version: int, field: str) -> Any:
        """A field for display: plain text, or a placeholder saying why it cannot be shown.

        Decryption happens here, in memory, for the reader at hand; states and snapshots only ever hold
        the sealed form.
        """
        if not is_sealed(value):
            return value
        subject = sealed_subject(value)
        # Asked every time, not cached: another process may have erased the subject meanwhile. Only a
        # signed, verified erasure event says "slettet"; a key row merely missing or emptied is damage
        # (verify reports it) and shows as undecryptable below.
        erased = self.ledger.erasure_seq(subject)
        if erased is not None:
            event = next(self.ledger.read(after_seq=erased - 1, until_seq=erased))
            self.personal["erased"] += 1
            return f"«slettet {event.recorded_at[:10]}, {event.payload.get('reason')}»"
        if not self.may_see_personal:
            self.personal["hidden"] += 1
            return "«personoplysning skjult»"
        try:
            text = self.ledger.reveal(value, ev.tilbud_stream(tilbud), stream_version, field)
        except NoReaderKey:
            self.personal["no_reader_key"] += 1
            return NO_READER_KEY
        except LedgerError:
            if self.ledger.vault.kek is None:
                self.personal["undecryptable"] += 1
                return "«personoplysning kan ikke dekrypteres»"  # this installation has no KEK configured
            # The event verified, so its sealed text is genuine; with the KEK at hand and no signed erasure,
            # a key that is gone or does not open is damage to subject_keys (verify names the seq).
            raise self.ledger.locate_damage(f"the key of data subject {subject!r} is missing or does not open") from None
        self.personal["shown"] += 1
        return text

    def personal_note(self) -> str | None:
        """One plain sentence on personal data not shown in clear (None when all was shown or there was none)."""
        if self.personal["no_reader_key"]:
            return (f"{self.personal['no_reader_key']} personoplysning(er) kunne ikke åbnes: du har ingen læsenøgle, "
                    "der åbner dem (tilsyn --as NAVN readers register; en nuværende læser giver dig derefter adgang "
                    "med tilsyn --as NAVN readers rotate). Nøglen til databasen (KEK) alene åbner intet.")
        if self.personal["hidden"]:
            return ("Personoplysninger er skjult: kun en tilsynskonsulent eller tilsynsleder, der handler med sin egen "
                    "nøgle (--as NAVN), kan læse dem.")
        return None

    def summary(self, state: TilbudState) -> dict[str, Any]:
        """:func:`summarise` with personal fields revealed as this reader may see them."""
        return summarise(state, self.catalog, lambda fact, field: self.reveal(state.tilbud, fact, field))

    def readable(self, tilbud: str, fact: Any, field: str) -> str | None:
        """The plain text if it can be read now, else None (for rules that measure text)."""
        value = getattr(fact, field)
        if not is_sealed(value):
            return value
        try:
            return self.ledger.reveal(value, ev.tilbud_stream(tilbud), fact.stream_version, field)
        except LedgerError:
            return None

    # -- reading -------------------------------------------------------------------------------
    def events(self, tilbud: str, *, after_seq: int = 0, until_seq: int | None = None,
               until_time: str | None = None, since=None) -> list[EventView]:
        """The tilbud's verified events (``since``: continue from a snapshot's stream mark)."""
        out = []
        for e in self.ledger.read(stream=ev.tilbud_stream(tilbud), after_seq=after_seq, until_seq=until_seq,
                                  since=since):
            if until_time is not None and e.recorded_at > until_time:
                break  # recorded_at never decreases along seq
            out.append(_view(e))
        return out

    def state(self, tilbud: str, *, as_of: str | int | None = None, use_snapshots: bool = True) -> TilbudState:
        """The tilbud's state now, or as of a seq / a time (what the ledger knew then)."""
        until_seq, until_time = parse_as_of(as_of)
        stream = ev.tilbud_stream(tilbud)
        base = mark = None
        if use_snapshots and until_time is None:
            got = self.snapshots.load_marked(stream, max_seq=until_seq)
            if got is not None:
                base, mark = got
        start = base.last_seq if base is not None else 0
        later = self.events(tilbud, after_seq=start, until_seq=until_seq, until_time=until_time, since=mark)
        state = fold(later, base)
        if state.registered_seq is None:
            if as_of is not None and self.ledger.stream_version(stream) > 0:
                raise ValidationError(f"tilbud {tilbud!r} was not yet registered as of {as_of}")
            raise ValidationError(f"unknown tilbud {tilbud!r}; register it with 'tilsyn tilbud add'")
        if use_snapshots and until_seq is None and until_time is None and len(later) >= SNAPSHOT_EVERY:
            self.snapshots.save(stream, state)
        return state

    def findings(self, state: TilbudState, today: date | None = None, *, as_of: str | int | None = None
                 ) -> list[Finding]:
        """Run every finding rule on ``state``. ``today`` defaults to now; for a replay (``as_of`` given,
        as passed to :meth:`state`) findings are judged on the day of the last event replayed."""
        # Frister are Danish dates: «today» is the day in Denmark, not in UTC.
        if today is None and as_of is not None and state.last_recorded_at:
            today = date.fromisoformat(danish.danish_day(state.last_recorded_at))
        if today is None:
            today = danish.today()
        settings = dict(self.plugins.settings)
        settings["today"] = today.isoformat()
        # Rules that measure free text (justification depth) read it through this, in memory only.
        settings["readable"] = lambda fact, field: self.readable(state.tilbud, fact, field)
        out: list[Finding] = []
        for rule in self.plugins.findings:
            for f in rule.check(state, self.catalog, settings) or ():
                out.append(Finding(f.rule or rule.name, f.severity, f.subject, f.message, tuple(f.seqs), rule.plugin))
        return out

    def tilbud_ids(self) -> list[str]:
        """Every registered tilbud."""
        return sorted(e.payload["tilbud"] for e in self.ledger.read(types=[ev.TILBUD_REGISTERED]))

    # -- recording -----------------------------------------------------------------------------
    def fill_references(self, type: str, payload: dict[str, Any], state: TilbudState | None) -> dict[str, Any]:
        """Name the standard (id and version) an act is made under, when the caller did not; an observation
        that names no visit belongs to the one visit in progress (if exactly one is)."""
        if type == ev.OBSERVATION and not payload.get("visit") and not payload.get("efterfoelgende") and state:
            open_ = [v.visit for v in state.live_visits() if v.status == "i gang"]
            if len(open_) == 1:
                payload = {**payload, "visit": open_[0]}
        schema = ev.PAYLOAD_TYPES.get(type)
        if schema is None or "standard" not in schema.__struct_fields__:
            return payload
        p = dict(payload)
        if not p.get("standard"):
            if type.startswith("opfoelgningsplan."):
                p["standard"] = self.catalog.of_kind("opfoelgningsplan")[-1].id
            elif type.startswith("kvalitetsmodel.") or type in (ev.DECISION_ISSUED, ev.VARSEL):
                model = quality_model_of(state, self.catalog) if state is not None else None
                p["standard"] = (model or self.catalog.of_kind("kvalitetsmodel")[-1]).id
                p.setdefault("standard_version", (model.version if model else None))
            else:
                raise ValidationError(f"{type} needs the id of the standard it is made under")
        if not p.get("standard_version"):
            try:
                p["standard_version"] = self.catalog.get(p["standard"]).version
            except KeyError as e:
                raise ValidationError(e.args[0]) from None
        if type == ev.DECISION_ISSUED and not p.get("rule_versions"):
            p["rule_versions"] = self.plugins.versions()
        if type == ev.DECISION_ISSUED and not p.get("klagevejledning"):
            # The klagevejledning given is the operator's text in force now, signed into the decision.
            text = str(self.plugins.settings.get("supervision.klagevejledning") or "").strip()
            if text:
                p["klagevejledning"] = text
        return p

    def check(self, statement: Statement, state: TilbudState) -> None:
        """Run every guard that applies; raise :class:`Refused` for the first refusal.

        A correction's replacement must pass the guards of the type it replaces, judged against the
        state with the corrected event withdrawn: a correction is no way around a rule.
        """
        # Guards that take settings also learn the clock and the signer's roles (legal rules: time sanity,
        # who may correct, whose høringssvar it is).
        info = self.ledger.key_info(statement.key_id)
        kind = self._event_types.get(statement.type)
        if kind is not None:
            reason = role_refusal(statement, info, kind.roles, kind.description)
            if reason:
                raise RoleRefused(kind.owner, "rolle", reason)
        settings = {**self.plugins.settings, "now": timefmt.now(),
                    "actor_roles": frozenset(info.roles_for(statement)) if info is not None else frozenset()}
        for guard in self.plugins.guards:
            if guard.applies_to(statement.type):
                reason = guard.run(statement, state, self.catalog, settings)
                if reason:
                    raise Refused(guard.plugin, guard.name, reason)
        replacement = statement.payload.get("replacement") if statement.type == ev.CORRECTION else None
        kind = state.types.get(statement.payload.get("corrects")) if replacement is not None else None
        if kind is not None:
            without = load(dump(state))
            without.withdrawn[statement.payload["corrects"]] = -1
            self.check(msgspec.structs.replace(statement, type=kind, payload=replacement), without)

    def record(self, signer: Signer, tilbud: str, type: str, payload: dict[str, Any],
               occurred_at: str | None = None) -> Event:
        """Check and append one event on the tilbud's stream."""
        return self.record_many([(signer, tilbud, type, payload, occurred_at)])[0]

    def record_many(self, items: Sequence[tuple[Signer, str, str, dict[str, Any], str | None]]) -> list[Event]:
        """Check every item against the state its predecessors leave, then append all in one transaction."""
        states: dict[str, TilbudState] = {}
        signed = []
        head = self.ledger.head()
        seq_guess = head.seq if head else 0
        for index, (signer, tilbud, type, payload, occurred_at) in enumerate(items, 1):
            try:
                signed.append(self._check_item(states, signer, tilbud, type, payload, occurred_at, seq_guess + 1))
            except ValidationError as e:
                if len(items) == 1:
                    raise
                raise BatchRefused(index, type, e) from None
            seq_guess += 1
        return self.ledger.append(signed)

    def _check_item(self, states: dict[str, TilbudState], signer: Signer, tilbud: str, type: str,
                    payload: dict[str, Any], occurred_at: str | None, provisional_seq: int):
        """Build, guard and sign one item against the state its batch predecessors leave."""
        stream = ev.tilbud_stream(tilbud)
        if tilbud not in states:
            if type == ev.TILBUD_REGISTERED and self.ledger.stream_version(stream) == 0:
                states[tilbud] = TilbudState()
            else:
                states[tilbud] = self.state(tilbud)
        state = states[tilbud]
        payload = self.fill_references(type, payload, state)
        if type == ev.CORRECTION and isinstance(payload.get("replacement"), dict) \
                and payload.get("corrects") in state.types:
            # A replacement is a payload of the corrected event's type: name its standard the same way.
            payload = {**payload, "replacement": self.fill_references(
                state.types[payload["corrects"]], payload["replacement"], state)}
        stmt = self.ledger.statement(signer, stream, type, payload, occurred_at=occurred_at,
                                     stream_version=state.stream_version + 1, seal=False)
        self.check(stmt, state)  # guards read the plain text; from here on only the sealed form exists
        stmt = self.ledger.seal(stmt)
        replacement = stmt.payload.get("replacement") if stmt.type == ev.CORRECTION else None
        if replacement and stmt.payload["corrects"] in state.types:
            # A replacement carries the corrected event's fields, personal ones included: seal them as that
            # type's, bound to this correction event (where the projection places the replacement).
            sealed = self.ledger.seal_payload(replacement, state.types[stmt.payload["corrects"]], stmt.stream,
                                              stmt.stream_version)
            if sealed is not replacement:
                stmt = msgspec.structs.replace(stmt, payload={**stmt.payload, "replacement": sealed})
        # Fold a provisional view so later items in the batch see this one (its seq is where it will
        # land if no other writer comes first; the stream version check catches one that does).
        apply(state, EventView(provisional_seq, stmt.type, stmt.payload, stmt.actor, stmt.occurred_at,
                               timefmt.now(), stmt.stream_version))
        return signer.sign(stmt)


def occurred(value: str | None) -> str | None:
    """``--occurred-at`` as typed by a person, in canonical form (None: now)."""
    if value is None:
        return None
    try:
        return timefmt.normalise_user_time(value, danish.ZONE)  # a bare date: midnight Danish time
    except ValueError as e:
        raise ValidationError(str(e)) from None
