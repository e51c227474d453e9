"""Domain event payloads: every act of a supervision, as a msgspec type.

The types are the schema: a payload that does not decode into its type is refused before signing.
Each type name is namespaced and versioned (``kvalitetsmodel.MarkerAssessed/1``); a later change makes
``/2`` and keeps ``/1`` readable forever. Every assessment names the standard id and version it was
made under, so a replay years later knows which wording the supervisor was looking at.

Values stay Danish as in the sources (*til stede*, *ikke opfyldt*, *påbud* …).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from .model import TILBUD_TYPES

Date = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$", description="ISO date YYYY-MM-DD")]
Text = Annotated[str, msgspec.Meta(min_length=1)]
Id = Annotated[str, msgspec.Meta(pattern=r"^[^\s/]{1,100}$")]
Personal = Annotated[str, msgspec.Meta(min_length=1, extra={"personal": True})]
"""Free text that may describe a person: sealed for the event's ``subject`` when one is named."""

VARIG_ORDNING = "Varig ordning"
PlanEnd = Annotated[str, msgspec.Meta(pattern=r"^(\d{4}-\d{2}-\d{2}|Varig ordning)$",
                                      description="ISO date YYYY-MM-DD, or «Varig ordning» (seed 000)")]
INTERVIEW_FORMS = ("fysisk", "telefonisk", "virtuelt", "skriftligt")
"""Seed 002: «Interview er som udgangspunkt det fysiske interview under tilsynsbesøget. Hvis dette ikke er
muligt, kan telefonisk, virtuelt eller skriftligt interview gennemføres.» An interview recorded without a
form is the physical one."""
InterviewForm = Literal["fysisk", "telefonisk", "virtuelt", "skriftligt"]
INSTEAD_OF_INTERVIEW = ("tilsynsbesøget er uanmeldt", "borgerne ønsker ikke interview",
                        "borgerne er ikke i stand til interview")
"""Seed 002: why the borgerperspektiv is lit by observation or a trianguleringsinterview instead of an
interview: «fordi tilsynsbesøget er uanmeldt eller fordi borgerne ikke ønsker/er i stand til at gennemføre
interview»."""
InsteadOfInterview = Literal["tilsynsbesøget er uanmeldt", "borgerne ønsker ikke interview",
                             "borgerne er ikke i stand til interview"]

TilbudType = Literal["døgntilbud", "dagtilbud", "ambulant", "krisecenter"]
assert set(TilbudType.__args__) == set(TILBUD_TYPES)

VISIT_KINDS = ("anmeldt", "uanmeldt")
MARKER_VERDICTS = ("til stede", "ikke til stede", "ikke aktuel")
CRITERION_VERDICTS = ("opfyldt", "ikke opfyldt")
RISK_COLOURS = ("grøn", "gul", "rød")
DECISION_KINDS = ("påbud", "skærpet tilsyn", "skærpet tilsyn med påbud", "godkendelse", "godkendelse med vilkår",
                  "afslag", "ophør af godkendelsen")
ORDER_KINDS = ("påbud", "skærpet tilsyn med påbud")
"""Decisions that order the tilbud to fix something by a deadline."""

MarkerVerdict = Literal["til stede", "ikke til stede", "ikke aktuel"]
CriterionVerdict = Literal["opfyldt", "ikke opfyldt"]
RiskColour = Literal["grøn", "gul", "rød"]
DecisionKind = Literal["påbud", "skærpet tilsyn", "skærpet tilsyn med påbud", "godkendelse", "godkendelse med vilkår",
                       "afslag", "ophør af godkendelsen"]


class Payload(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every domain payload."""


class TilbudRegistered(Payload):
    """*Tilbud registreret*: the supervised provider, its kind and whether it has a board."""

    tilbud: Id
    name: Text
    tilbud_type: TilbudType
    has_board: bool
    regional_standards: list[str] = []
    # -- legal (issue 13): master data a tilsyn keeps (optional where unknown) and the status at registration.
    # A tilbud is registered as *ansøger* (a new application) or, if it was approved before it came into the
    # ledger, as *godkendt* with the date; from then on its status changes only through decisions.
    maalgruppe: Text | None = None
    pladser: Annotated[int, msgspec.Meta(ge=0)] | None = None
    lovgrundlag: list[Text] = []
    afdelinger: list[Text] = []
    ejerform: Text | None = None
    adresse: Text | None = None
    cvr: Annotated[str, msgspec.Meta(pattern=r"^\d{8}$")] | None = None
    status: Literal["ansøger", "godkendt"] = "ansøger"
    godkendt_dato: Date | None = None


class VisitStarted(Payload):
    """*Tilsynsbesøg påbegyndt*, anmeldt or uanmeldt, with who took part (roles or staff, never a borger's name)."""

    visit: Id
    kind: Literal["anmeldt", "uanmeldt"]
    participants: list[Text] = []


class VisitCompleted(Payload):
    """*Tilsynsbesøg gennemført*."""

    visit: Id


class VisitAborted(Payload):
    """*Tilsynsbesøg afbrudt*: does not count as a completed visit (seed 002)."""

    visit: Id
    reason: Text


class StandardRef(Payload):
    """Fields naming the standard an act was made under."""

    standard: Text
    standard_version: Text


class ObservationRecorded(StandardRef):
    """*Observation*: what a source said or showed, by which method, for which marker and design element."""

    marker: Id
    source: Text
    method: Text
    text: Personal
    element: Id | None = None
    visit: Id | None = None
    subject: Id | None = None
    efterfoelgende: bool = False
    """Gathered after the named visit, with its methods and sources (seed 002), not on it."""
    # Borgerperspektivet (seed 002): the form of an interview, and why the borgerinterview was replaced.
    interview_form: InterviewForm | None = None
    instead_of_interview: InsteadOfInterview | None = None


class MarkerAssessed(StandardRef):
    """*Kvalitetsmarkør vurderet*: til stede / ikke til stede / ikke aktuel, with the reason."""

    marker: Id
    verdict: MarkerVerdict
    reason: Personal
    subject: Id | None = None


class CriterionAssessed(StandardRef):
    """*Kvalitetskriterium vurderet*: opfyldt / ikke opfyldt, with the faglig begrundelse."""

    criterion: Id
    verdict: CriterionVerdict
    reason: Personal
    subject: Id | None = None


class RiskCategorised(StandardRef):
    """*Risikokategori*: grøn / gul / rød for the tilbud (or one criterion), with the reason."""

    colour: RiskColour
    reason: Personal
    criterion: Id | None = None
    subject: Id | None = None


class DecisionIssued(StandardRef):
    """*Afgørelse*: påbud, skærpet tilsyn … resting on criteria, with deadline and reason.

    ``rule_versions`` records the plugins (standards and rule packs) in force, so a replay years later
    can say which rules were applied.
    """

    kind: DecisionKind
    criteria: list[Id]
    reason: Text
    deadline: Date | None = None
    rule_versions: dict[str, str] = {}
    # -- legal (issue 13): what a written decision must say (forvaltningsloven §§ 19, 22–25). ``reason`` is
    # the begrundelse; ``klagevejledning`` is the text given, copied from the operator's settings.
    indhold: Text | None = None
    hjemmel: Text | None = None
    varsel: int | None = None
    uden_partshoering: Text | None = None
    hoering_afvejning: Text | None = None
    klagevejledning: Text | None = None
    frist_begrundelse: Text | None = None


class DecisionLifted(Payload):
    """*Afgørelse ophævet*."""

    decision: int
    reason: Text


class DecisionFulfilled(Payload):
    """*Påbud efterkommet*."""

    decision: int
    reason: Text


# -- legal (issue 13): partshøring, follow-up owned by the tilsyn, anbefalinger ---------------------------
class VarselGiven(StandardRef):
    """*Varsel*: notice of an intended decision, heard before it is made (partshøring, fvl § 19)."""

    kind: DecisionKind
    criteria: list[Id]
    indhold: Text
    hjemmel: Text
    reason: Text
    hoeringsfrist: Date
    deadline: Date | None = None


class HoeringssvarReceived(Payload):
    """*Høringssvar*: the tilbud's answer to a varsel (``on_behalf``: recorded by the tilsyn for it)."""

    varsel: int
    text: Text
    on_behalf: bool = False


class DecisionExtended(Payload):
    """*Frist forlænget* by the tilsynsleder."""

    decision: int
    deadline: Date
    reason: Text


class DecisionConfirmed(Payload):
    """*Afgørelse fastholdt*: genoptagelse considered after its basis changed; the decision stands."""

    decision: int
    reason: Text


class AnbefalingGiven(Payload):
    """*Anbefaling*: a recommendation of the tilsyn for one criterion, answerable by plan rows."""

    criterion: Id
    text: Text


PLAN_FIELDS = ("tema", "emne", "maal", "hvad", "hvordan", "start", "slut", "dokumentation", "hvem")


class PlanItemAdded(StandardRef):
    """*Opfølgningsplan, ny prioritet*: one row of the follow-up plan with its nine columns.

    ``tema_standard`` names the quality model (id@version) whose theme ``tema`` refers to: a plan made
    under an older model keeps pointing at that model's themes. ``slut`` is a date or «Varig ordning»
    (seed 000's own row). A row may name the ``criterion`` it lifts and answer a påbud or a vilkår
    (``answers``, the decision's seq) or an ``anbefaling`` (its text, as the tilsyn gave it); with
    ``regional`` it is the written plan of a regional standard's trin 4.
    """

    item: Id
    priority: Annotated[int, msgspec.Meta(ge=1)]
    tema: Text
    emne: Text
    maal: Text
    hvad: Text
    hvordan: Text
    start: Date
    slut: PlanEnd
    dokumentation: Text
    hvem: Text
    answers: int | None = None
    tema_standard: str | None = None
    criterion: Id | None = None
    anbefaling: Text | None = None
    regional: Id | None = None


class PlanItemRevised(Payload):
    """*Opfølgningsplan konsekvensrettet*: changed columns of one row, and why."""

    item: Id
    changes: dict[str, Any]
    reason: Text


class PlanApproved(Payload):
    """*Opfølgningsplan godkendt* by the tilbud's management, at the plan revision it saw."""

    plan_revision: Annotated[int, msgspec.Meta(ge=1)]


class PlanResultRecorded(Payload):
    """*Resultat*: the outcome of one row."""

    item: Id
    resultat: Text


class IndikatorChecked(StandardRef):
    """*Indikator kontrolleret*: a regional standard's indikator is opfyldt or ikke opfyldt."""

    indikator: Annotated[int, msgspec.Meta(ge=1)]
    verdict: CriterionVerdict
    reason: Text


class MonitoringCompleted(StandardRef):
    """*Intern kvalitetsovervågning gennemført* (regional trin 3) on a date."""

    date: Date


class Correction(Payload):
    """*Rettelse*: points at an earlier event and says why. Nothing is edited.

    Without ``replacement`` the earlier event is withdrawn; with it, the replacement payload (of the
    corrected event's type) takes its place from this position on.
    """

    corrects: int
    reason: Text
    replacement: dict[str, Any] | None = None


# Event type names → payload types. Plugins declare these with their roles (see plugins/supervision).
TILBUD_REGISTERED = "tilbud.Registered/1"
VISIT_STARTED = "tilsyn.VisitStarted/1"
VISIT_COMPLETED = "tilsyn.VisitCompleted/1"
VISIT_ABORTED = "tilsyn.VisitAborted/1"
OBSERVATION = "kvalitetsmodel.ObservationRecorded/1"
MARKER_ASSESSED = "kvalitetsmodel.MarkerAssessed/1"
CRITERION_ASSESSED = "kvalitetsmodel.CriterionAssessed/1"
RISK = "kvalitetsmodel.RiskCategorised/1"
DECISION_ISSUED = "tilsyn.DecisionIssued/1"
DECISION_LIFTED = "tilsyn.DecisionLifted/1"
DECISION_FULFILLED = "tilsyn.DecisionFulfilled/1"
PLAN_ITEM_ADDED = "opfoelgningsplan.ItemAdded/1"
PLAN_ITEM_REVISED = "opfoelgningsplan.ItemRevised/1"
PLAN_APPROVED = "opfoelgningsplan.Approved/1"
PLAN_RESULT = "opfoelgningsplan.ResultRecorded/1"
INDIKATOR_CHECKED = "regional.IndikatorChecked/1"
MONITORING_COMPLETED = "regional.MonitoringCompleted/1"
CORRECTION = "tilsyn.Correction/1"
VARSEL = "tilsyn.VarselGiven/1"
HOERINGSSVAR = "tilsyn.Hoeringssvar/1"
DECISION_EXTENDED = "tilsyn.DecisionExtended/1"
DECISION_CONFIRMED = "tilsyn.DecisionConfirmed/1"
ANBEFALING = "tilsyn.AnbefalingGiven/1"
LEGAL_PAYLOAD_TYPES: dict[str, type[Payload]] = {
    VARSEL: VarselGiven, HOERINGSSVAR: HoeringssvarReceived, DECISION_EXTENDED: DecisionExtended,
    DECISION_CONFIRMED: DecisionConfirmed, ANBEFALING: AnbefalingGiven}

# -- quality (issue 14): økonomi and the widened investigation design --------------------------------------


class OekonomiAssessed(Payload):
    """*Temaet økonomi vurderet*: opfyldt / ikke opfyldt, with the faglig begrundelse.

    Seed 002: fornøden kvalitet covers «både de temaer, som fremgår af kvalitetsmodellen, og temaet økonomi,
    som ikke fremgår af kvalitetsmodellen»; so økonomi is judged beside the model, under no model version.
    """

    verdict: CriterionVerdict
    reason: Personal
    subject: Id | None = None


class WidenedWay(Payload):
    """A way (method × source) beyond a marker's investigation design, added while in doubt."""

    marker: Id
    method: Text
    source: Text


class DesignWidened(StandardRef):
    """*Undersøgelsesdesignet udvidet* while risk is gul: the doubt investigated and what is added.

    Seed 002: at gul «undersøges … indtil tvivlen er afklaret, hvilket i praksis betyder, at
    undersøgelsesdesignet udvides». ``elements`` names design elements (of any marker) to be covered,
    ``ways`` adds methods and sources the design does not list. ``criterion`` scopes it to one criterion.
    """

    doubt: Personal
    elements: list[Id] = []
    ways: list[WidenedWay] = []
    criterion: Id | None = None
    subject: Id | None = None


OEKONOMI_ASSESSED = "kvalitetsmodel.OekonomiAssessed/1"
DESIGN_WIDENED = "kvalitetsmodel.DesignWidened/1"
QUALITY_PAYLOAD_TYPES: dict[str, type[Payload]] = {OEKONOMI_ASSESSED: OekonomiAssessed,
                                                   DESIGN_WIDENED: DesignWidened}
# -- end quality -----------------------------------------------------------------------------------------

PAYLOAD_TYPES: dict[str, type[Payload]] = {
    TILBUD_REGISTERED: TilbudRegistered, VISIT_STARTED: VisitStarted, VISIT_COMPLETED: VisitCompleted,
    VISIT_ABORTED: VisitAborted, OBSERVATION: ObservationRecorded, MARKER_ASSESSED: MarkerAssessed,
    CRITERION_ASSESSED: CriterionAssessed, RISK: RiskCategorised, DECISION_ISSUED: DecisionIssued,
    DECISION_LIFTED: DecisionLifted, DECISION_FULFILLED: DecisionFulfilled, PLAN_ITEM_ADDED: PlanItemAdded,
    PLAN_ITEM_REVISED: PlanItemRevised, PLAN_APPROVED: PlanApproved, PLAN_RESULT: PlanResultRecorded,
    INDIKATOR_CHECKED: IndikatorChecked, MONITORING_COMPLETED: MonitoringCompleted, CORRECTION: Correction,
    **QUALITY_PAYLOAD_TYPES, **LEGAL_PAYLOAD_TYPES,
}


def tilbud_stream(tilbud_id: str) -> str:
    """The stream that holds everything about one tilbud."""
    return f"tilbud/{tilbud_id}"
