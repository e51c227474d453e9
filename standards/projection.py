"""The tilbud projection: a pure fold ``state × event → state`` over one tilbud's stream.

The state keeps *histories*, not just current values: every assessment with its seq, actor and time.
Current verdicts are derived from the histories (the last entry that no correction withdrew), so a
correction never has to undo anything, and every derived fact can name the seqs it rests on.

``TilbudState`` is a msgspec struct, so a snapshot is just its JSON. Snapshots are caches: folding
from zero must give the same bytes (property-tested), and verification never reads them.
"""

from __future__ import annotations

from typing import Any, Iterable

import msgspec

from . import events as ev
from . import legal

PROJECTION_VERSION = 6  # 6: a visit keeps who took part
"""Bump when the fold or the snapshot bytes change, so stale snapshots are ignored."""


class Provenance(msgspec.Struct, kw_only=True):
    """Who recorded a fact, when it happened and when the ledger learnt it."""

    seq: int
    actor: str
    occurred_at: str
    recorded_at: str
    stream_version: int = 0  # with the stream, the context a sealed personal field is bound to


class Visit(Provenance, kw_only=True):
    visit: str
    kind: str
    participants: list[str] = []
    status: str = "i gang"  # i gang / gennemført / afbrudt
    closed_seq: int | None = None
    abort_reason: str | None = None


class Observation(Provenance, kw_only=True):
    marker: str
    source: str
    method: str
    text: str
    element: str | None = None
    visit: str | None = None
    subject: str | None = None
    standard: str = ""
    standard_version: str = ""
    interview_form: str | None = None
    instead_of_interview: str | None = None


class Assessment(Provenance, kw_only=True):
    """A marker or criterion verdict, or a risk colour, as recorded."""

    subject: str  # marker id, criterion id, or "" for the whole tilbud
    verdict: str
    reason: str  # sealed if ``data_subject`` is set (personal data)
    standard: str = ""
    standard_version: str = ""
    data_subject: str | None = None


class Decision(Provenance, kw_only=True):
    kind: str
    criteria: list[str]
    reason: str
    deadline: str | None = None
    standard: str = ""
    standard_version: str = ""
    rule_versions: dict[str, str] = {}
    basis: dict[str, int] = {}  # criterion id → seq of the verdict in force when decided
    status: str = "åben"  # åben / truffet (status-only kinds) / ophævet / efterkommet
    closed_seq: int | None = None
    closed_reason: str | None = None
    # -- legal (issue 13)
    indhold: str | None = None
    hjemmel: str | None = None
    varsel: int | None = None
    uden_partshoering: str | None = None
    hoering_afvejning: str | None = None
    klagevejledning: str | None = None
    frist_begrundelse: str | None = None
    extensions: list["Extension"] = []
    confirmations: list[int] = []  # seqs of DecisionConfirmed (genoptagelse considered, decision stands)
    fulfil_basis: dict[str, int] = {}  # criterion id → seq of the opfyldt verdict it was fulfilled on


# -- legal (issue 13): varsel, høringssvar, frist extensions, anbefalinger -----------------------------------
class Extension(Provenance, kw_only=True):
    """*Frist forlænget*: the new frist, the one it replaced, and why."""

    deadline: str
    previous: str | None
    reason: str


class Hoeringssvar(Provenance, kw_only=True):
    text: str
    on_behalf: bool = False


class Varsel(Provenance, kw_only=True):
    """*Varsel* of an intended decision, with its høringsfrist and the høringssvar received."""

    kind: str
    criteria: list[str]
    indhold: str
    hjemmel: str
    reason: str
    hoeringsfrist: str
    deadline: str | None = None
    standard: str = ""
    standard_version: str = ""
    svar: list[Hoeringssvar] = []


class Anbefaling(Provenance, kw_only=True):
    criterion: str
    text: str
# -- end legal ---------------------------------------------------------------------------------------------


class PlanRevision(Provenance, kw_only=True):
    changes: dict[str, Any]
    reason: str


class PlanItem(Provenance, kw_only=True):
    item: str
    fields: dict[str, Any]  # the nine columns as first written (+ priority, answers)
    revisions: list[PlanRevision] = []
    result: str | None = None
    result_seq: int | None = None
    standard: str = ""
    standard_version: str = ""


class Approval(Provenance, kw_only=True):
    plan_revision: int


class IndikatorCheck(Provenance, kw_only=True):
    standard: str
    standard_version: str
    indikator: int
    verdict: str
    reason: str


class Monitoring(Provenance, kw_only=True):
    standard: str
    standard_version: str
    date: str


# -- quality (issue 14) ------------------------------------------------------------------------------------
class WidenedWay(msgspec.Struct, kw_only=True):
    marker: str
    method: str
    source: str


class Widening(Provenance, kw_only=True):
    """*Undersøgelsesdesignet udvidet*: the doubt (sealed if ``data_subject``) and what was added."""

    doubt: str
    elements: list[str] = []
    ways: list[WidenedWay] = []
    criterion: str = ""
    standard: str = ""
    standard_version: str = ""
    data_subject: str | None = None
# -- end quality -------------------------------------------------------------------------------------------


class CorrectionNote(Provenance, kw_only=True):
    corrects: int
    reason: str
    replaced: bool


class TilbudState(msgspec.Struct, kw_only=True):
    """Everything known about one tilbud after folding its events up to ``last_seq``."""

    tilbud: str | None = None
    name: str | None = None
    tilbud_type: str | None = None
    has_board: bool = False
    regional_standards: list[str] = []
    registered_seq: int | None = None
    last_seq: int = 0
    stream_version: int = 0
    last_recorded_at: str = ""
    types: dict[int, str] = {}  # seq → event type, so a correction knows what it corrects
    visits: list[Visit] = []
    observations: list[Observation] = []
    markers: dict[str, list[Assessment]] = {}
    criteria: dict[str, list[Assessment]] = {}
    risks: list[Assessment] = []
    decisions: list[Decision] = []
    plan_items: dict[str, PlanItem] = {}
    plan_revision: int = 0  # counts plan-changing events
    approvals: list[Approval] = []
    indikator_checks: list[IndikatorCheck] = []
    monitorings: list[Monitoring] = []
    corrections: list[CorrectionNote] = []
    withdrawn: dict[int, int] = {}  # seq withdrawn → seq of the correction that withdrew it
    oekonomi: list[Assessment] = []  # quality: temaet økonomi, outside the model (seed 002)
    # legal (issue 13): master data, the status at registration, varsler and anbefalinger
    master: dict[str, Any] = {}
    registered_status: str = "ansøger"
    godkendt_dato: str | None = None
    registered_at: str = ""
    varsler: list[Varsel] = []
    anbefalinger: list[Anbefaling] = []
    widenings: list[Widening] = []   # quality: widened investigation design while gul

    # -- derived views (never stored) --------------------------------------------------------
    def live(self, seq: int) -> bool:
        return seq not in self.withdrawn

    def current(self, history: list[Assessment]) -> Assessment | None:
        for a in reversed(history):
            if self.live(a.seq):
                return a
        return None

    def marker_verdict(self, marker_id: str) -> Assessment | None:
        return self.current(self.markers.get(marker_id, []))

    def criterion_verdict(self, criterion_id: str) -> Assessment | None:
        return self.current(self.criteria.get(criterion_id, []))

    def risk(self, criterion: str = "") -> Assessment | None:
        return self.current([r for r in self.risks if r.subject == criterion])

    def oekonomi_verdict(self) -> Assessment | None:
        return self.current(self.oekonomi)

    def live_widenings(self) -> list[Widening]:
        return [w for w in self.widenings if self.live(w.seq)]

    def risk_at(self, seq: int, criterion: str = "") -> Assessment | None:
        """The risk colour in force just before ``seq`` (for one criterion, else for the tilbud)."""
        for r in reversed(self.risks):
            if r.seq < seq and r.subject == criterion and self.live(r.seq):
                return r
        return None

    def live_observations(self, marker_id: str | None = None) -> list[Observation]:
        return [o for o in self.observations if self.live(o.seq) and (marker_id is None or o.marker == marker_id)]

    def live_decisions(self) -> list[Decision]:
        return [d for d in self.decisions if self.live(d.seq)]

    def decision(self, seq: int) -> Decision | None:
        return next((d for d in self.live_decisions() if d.seq == seq), None)

    def open_decisions(self) -> list[Decision]:
        return [d for d in self.live_decisions() if d.status == "åben"]

    # -- legal (issue 13) ----------------------------------------------------------------------
    def legal_status(self) -> str:
        """*ansøger* / *godkendt* / *godkendt med vilkår* / *afslået* / *ophørt*, from the live decisions."""
        return legal.status_after(self.registered_status, self.live_decisions())

    def frist(self, d: Decision) -> str | None:
        """A decision's frist now: the last live extension's, else the one it was issued with."""
        live = [x for x in d.extensions if self.live(x.seq)]
        return live[-1].deadline if live else d.deadline

    def live_varsler(self) -> list[Varsel]:
        return [v for v in self.varsler if self.live(v.seq)]

    def varsel(self, seq: int) -> Varsel | None:
        return next((v for v in self.live_varsler() if v.seq == seq), None)

    def live_svar(self, v: Varsel) -> list[Hoeringssvar]:
        return [h for h in v.svar if self.live(h.seq)]

    def decision_of_varsel(self, seq: int) -> Decision | None:
        """The live decision made on the varsel at ``seq``, if any."""
        return next((d for d in self.live_decisions() if d.varsel == seq), None)

    def live_anbefalinger(self) -> list[Anbefaling]:
        return [a for a in self.anbefalinger if self.live(a.seq)]

    def counting_observations(self, marker_id: str | None = None) -> list[Observation]:
        """Live observations that count toward the investigation design: none from an aborted visit."""
        aborted = {v.visit for v in self.live_visits() if v.status == "afbrudt"}
        return [o for o in self.live_observations(marker_id) if o.visit is None or o.visit not in aborted]

    def live_visits(self) -> list[Visit]:
        return [v for v in self.visits if self.live(v.seq)]

    def plan(self) -> list[PlanItem]:
        """Live plan items by priority."""
        items = [i for i in self.plan_items.values() if self.live(i.seq)]
        return sorted(items, key=lambda i: (self.item_fields(i).get("priority", 0), i.seq))

    def item_fields(self, item: PlanItem) -> dict[str, Any]:
        """An item's columns after every live revision."""
        fields = dict(item.fields)
        for r in item.revisions:
            if self.live(r.seq):
                fields.update(r.changes)
        return fields

    def approval(self) -> Approval | None:
        return self.current(self.approvals)  # type: ignore[arg-type]

    def plan_approved(self) -> bool:
        a = self.approval()
        return a is not None and a.plan_revision == self.plan_revision and bool(self.plan())

    def item_approved(self, item: PlanItem) -> bool:
        """An item counts as approved if a live approval came after its last live change."""
        changed = max([item.seq, *(r.seq for r in item.revisions if self.live(r.seq))])
        return any(self.live(a.seq) and a.seq > changed for a in self.approvals)

    def live_checks(self) -> list[IndikatorCheck]:
        return [c for c in self.indikator_checks if self.live(c.seq)]

    def indikator_status(self, standard: str, indikator: int) -> IndikatorCheck | None:
        """The current status of an indikator: its latest *dated* check (a check recorded late for an earlier
        day does not overrule a newer one); among checks of one day, the last recorded."""
        checks = [c for c in self.live_checks() if c.standard == standard and c.indikator == indikator]
        return max(checks, key=lambda c: (c.occurred_at[:10], c.seq)) if checks else None

    def monitoring_dates(self, standard: str) -> list[str]:
        """Dates of the live trin-3 monitorings of a regional standard, oldest first."""
        return sorted({m.date for m in self.monitorings if self.live(m.seq) and m.standard == standard})

    def plan_items_seqs(self) -> set[int]:
        """Seqs of the events that shaped the plan's rows (additions and revisions)."""
        seqs = {i.seq for i in self.plan_items.values()}
        seqs.update(r.seq for i in self.plan_items.values() for r in i.revisions)
        return seqs

    def last_monitoring(self, standard: str) -> Monitoring | None:
        ms = [m for m in self.monitorings if self.live(m.seq) and m.standard == standard]
        return max(ms, key=lambda m: (m.date, m.seq)) if ms else None


class EventView(msgspec.Struct, frozen=True):
    """What the fold needs of an event (decoded from the ledger's stored bytes)."""

    seq: int
    type: str
    payload: dict[str, Any]
    actor: str
    occurred_at: str
    recorded_at: str
    stream_version: int = 0


def _prov(e: EventView) -> dict[str, Any]:
    return {"seq": e.seq, "actor": e.actor, "occurred_at": e.occurred_at, "recorded_at": e.recorded_at,
            "stream_version": e.stream_version}


def apply(state: TilbudState, e: EventView) -> TilbudState:
    """Fold one event into ``state`` (in place) and return it. Unknown types are kept but ignored."""
    state.last_seq = e.seq
    state.stream_version = e.stream_version or state.stream_version + 1
    state.last_recorded_at = e.recorded_at
    state.types[e.seq] = e.type
    _apply_payload(state, e.type, e.payload, e)
    return state


def _apply_payload(state: TilbudState, type: str, p: dict[str, Any], e: EventView) -> None:
    prov = _prov(e)
    if type == ev.TILBUD_REGISTERED:
        state.tilbud, state.name, state.tilbud_type = p["tilbud"], p["name"], p["tilbud_type"]
        state.has_board, state.registered_seq = p["has_board"], e.seq
        state.regional_standards = list(p.get("regional_standards", []))
        state.master = {k: p[k] for k in _MASTER_FIELDS if p.get(k) not in (None, [])}
        state.registered_status = p.get("status", legal.ANSOEGER)
        state.godkendt_dato, state.registered_at = p.get("godkendt_dato"), e.occurred_at
    elif type == ev.VISIT_STARTED:
        state.visits.append(Visit(**prov, visit=p["visit"], kind=p["kind"],
                                  participants=list(p.get("participants", []))))
    elif type in (ev.VISIT_COMPLETED, ev.VISIT_ABORTED):
        for v in reversed(state.visits):
            if v.visit == p["visit"] and state.live(v.seq):
                v.status = "gennemført" if type == ev.VISIT_COMPLETED else "afbrudt"
                v.closed_seq, v.abort_reason = e.seq, p.get("reason")
                break
    elif type == ev.OBSERVATION:
        state.observations.append(Observation(
            **prov, marker=p["marker"], source=p["source"], method=p["method"], text=p["text"],
            element=p.get("element"), visit=p.get("visit"), subject=p.get("subject"),
            standard=p["standard"], standard_version=p["standard_version"],
            interview_form=p.get("interview_form"), instead_of_interview=p.get("instead_of_interview")))
    elif type == ev.MARKER_ASSESSED:
        state.markers.setdefault(p["marker"], []).append(Assessment(
            **prov, subject=p["marker"], verdict=p["verdict"], reason=p["reason"], standard=p["standard"],
            standard_version=p["standard_version"], data_subject=p.get("subject")))
    elif type == ev.CRITERION_ASSESSED:
        state.criteria.setdefault(p["criterion"], []).append(Assessment(
            **prov, subject=p["criterion"], verdict=p["verdict"], reason=p["reason"], standard=p["standard"],
            standard_version=p["standard_version"], data_subject=p.get("subject")))
    elif type == ev.RISK:
        state.risks.append(Assessment(**prov, subject=p.get("criterion") or "", verdict=p["colour"],
                                      reason=p["reason"], standard=p["standard"],
                                      standard_version=p["standard_version"], data_subject=p.get("subject")))
    elif type == ev.DECISION_ISSUED:
        basis = {}
        for c in p["criteria"]:
            current = state.criterion_verdict(c)
            if current is not None:
                basis[c] = current.seq
        state.decisions.append(Decision(
            **prov, kind=p["kind"], criteria=list(p["criteria"]), reason=p["reason"], deadline=p.get("deadline"),
            standard=p["standard"], standard_version=p["standard_version"],
            rule_versions=dict(p.get("rule_versions", {})), basis=basis, status=legal.initial_status(p["kind"]),
            **{k: p.get(k) for k in _DECISION_LEGAL_FIELDS}))
    elif type in (ev.DECISION_LIFTED, ev.DECISION_FULFILLED):
        d = state.decision(p["decision"])
        if d is not None:
            d.status = "ophævet" if type == ev.DECISION_LIFTED else "efterkommet"
            d.closed_seq, d.closed_reason = e.seq, p["reason"]
            if type == ev.DECISION_FULFILLED:
                d.fulfil_basis = {c: v.seq for c in d.criteria if (v := state.criterion_verdict(c)) is not None}
    elif type in _LEGAL_TYPES:
        _apply_legal(state, type, p, e, prov)
    elif type == ev.PLAN_ITEM_ADDED:
        fields = {k: p[k] for k in ev.PLAN_FIELDS}
        fields["priority"] = p["priority"]
        fields["answers"] = p.get("answers")
        fields["tema_standard"] = p.get("tema_standard")
        for key in ("criterion", "anbefaling", "regional"):  # quality (issue 14): optional, only when given
            if p.get(key) is not None:
                fields[key] = p[key]
        state.plan_items[p["item"]] = PlanItem(**prov, item=p["item"], fields=fields, standard=p["standard"],
                                               standard_version=p["standard_version"])
        state.plan_revision += 1
    elif type == ev.PLAN_ITEM_REVISED:
        item = state.plan_items.get(p["item"])
        if item is not None:
            item.revisions.append(PlanRevision(**prov, changes=dict(p["changes"]), reason=p["reason"]))
            state.plan_revision += 1
    elif type == ev.PLAN_APPROVED:
        state.approvals.append(Approval(**prov, plan_revision=p["plan_revision"]))
    elif type == ev.PLAN_RESULT:
        item = state.plan_items.get(p["item"])
        if item is not None:
            item.result, item.result_seq = p["resultat"], e.seq
    elif type == ev.INDIKATOR_CHECKED:
        state.indikator_checks.append(IndikatorCheck(
            **prov, standard=p["standard"], standard_version=p["standard_version"], indikator=p["indikator"],
            verdict=p["verdict"], reason=p["reason"]))
    elif type == ev.MONITORING_COMPLETED:
        state.monitorings.append(Monitoring(**prov, standard=p["standard"], standard_version=p["standard_version"],
                                            date=p["date"]))
    elif type == ev.OEKONOMI_ASSESSED:
        state.oekonomi.append(Assessment(**prov, subject="økonomi", verdict=p["verdict"], reason=p["reason"],
                                         data_subject=p.get("subject")))
    elif type == ev.DESIGN_WIDENED:
        state.widenings.append(Widening(
            **prov, doubt=p["doubt"], elements=list(p.get("elements", [])),
            ways=[WidenedWay(marker=w["marker"], method=w["method"], source=w["source"]) for w in p.get("ways", [])],
            criterion=p.get("criterion") or "", standard=p["standard"], standard_version=p["standard_version"],
            data_subject=p.get("subject")))
    elif type == ev.CORRECTION:
        target = p["corrects"]
        state.withdrawn[target] = e.seq
        replacement = p.get("replacement")
        state.corrections.append(CorrectionNote(**prov, corrects=target, reason=p["reason"],
                                                replaced=replacement is not None))
        if target in state.plan_items_seqs():
            state.plan_revision += 1
        # Withdrawing a closing event (visit completed/aborted, decision lifted/fulfilled, a result)
        # re-opens what it closed.
        for v in state.visits:
            if v.closed_seq == target:
                v.status, v.closed_seq, v.abort_reason = "i gang", None, None
        for d in state.decisions:
            if d.closed_seq == target:
                d.status, d.closed_seq, d.closed_reason = legal.initial_status(d.kind), None, None
                d.fulfil_basis = {}
        for i in state.plan_items.values():
            if i.result_seq == target:
                i.result, i.result_seq = None, None
        if replacement is not None:
            # The replacement stands in the corrected event's place from this position on.
            _apply_payload(state, state.types[target], replacement, e)


# -- legal (issue 13) ---------------------------------------------------------------------------------------
_MASTER_FIELDS = ("maalgruppe", "pladser", "lovgrundlag", "afdelinger", "ejerform", "adresse", "cvr")
_DECISION_LEGAL_FIELDS = ("indhold", "hjemmel", "varsel", "uden_partshoering", "hoering_afvejning",
                          "klagevejledning", "frist_begrundelse")
_LEGAL_TYPES = frozenset({ev.VARSEL, ev.HOERINGSSVAR, ev.DECISION_EXTENDED, ev.DECISION_CONFIRMED, ev.ANBEFALING})


def _apply_legal(state: TilbudState, type: str, p: dict[str, Any], e: EventView, prov: dict[str, Any]) -> None:
    if type == ev.VARSEL:
        state.varsler.append(Varsel(
            **prov, kind=p["kind"], criteria=list(p["criteria"]), indhold=p["indhold"], hjemmel=p["hjemmel"],
            reason=p["reason"], hoeringsfrist=p["hoeringsfrist"], deadline=p.get("deadline"),
            standard=p["standard"], standard_version=p["standard_version"]))
    elif type == ev.HOERINGSSVAR:
        v = state.varsel(p["varsel"])
        if v is not None:
            v.svar.append(Hoeringssvar(**prov, text=p["text"], on_behalf=p.get("on_behalf", False)))
    elif type == ev.DECISION_EXTENDED:
        d = state.decision(p["decision"])
        if d is not None:
            d.extensions.append(Extension(**prov, deadline=p["deadline"], previous=state.frist(d), reason=p["reason"]))
    elif type == ev.DECISION_CONFIRMED:
        d = state.decision(p["decision"])
        if d is not None:
            d.confirmations.append(e.seq)
    elif type == ev.ANBEFALING:
        state.anbefalinger.append(Anbefaling(**prov, criterion=p["criterion"], text=p["text"]))
# -- end legal ---------------------------------------------------------------------------------------------


# Facts a correction may replace (the replacement is a payload of the same type).
_REPLACEABLE = {ev.OBSERVATION, ev.MARKER_ASSESSED, ev.CRITERION_ASSESSED, ev.RISK, ev.DECISION_ISSUED,
                ev.PLAN_ITEM_ADDED, ev.PLAN_ITEM_REVISED, ev.PLAN_RESULT, ev.INDIKATOR_CHECKED,
                ev.MONITORING_COMPLETED, ev.VISIT_STARTED, ev.OEKONOMI_ASSESSED, ev.DESIGN_WIDENED,
                ev.VARSEL, ev.HOERINGSSVAR, ev.DECISION_EXTENDED, ev.ANBEFALING}
REPLACEABLE_TYPES = frozenset(_REPLACEABLE)


def fold(events: Iterable[EventView], state: TilbudState | None = None) -> TilbudState:
    """Fold ``events`` (in seq order) onto ``state`` (a fresh one by default)."""
    state = state if state is not None else TilbudState()
    for e in events:
        apply(state, e)
    return state


# Dicts keep the order the fold gave them (a sorted snapshot would show payload fields in another
# order than the fold it stands for: caches faster, never different). The fold is deterministic, so
# the bytes are too.
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(TilbudState)


def dump(state: TilbudState) -> bytes:
    """Snapshot bytes of a state (int dict keys, e.g. seqs, become strings; ``load`` turns them back)."""
    return _encoder.encode(msgspec.to_builtins(state, str_keys=True))


def load(data: bytes) -> TilbudState:
    """A state from snapshot bytes."""
    return _decoder.decode(data)
