"""Recording commands: every act of a supervision becomes one signed event on the tilbud's stream.

All of them take ``--occurred-at`` (when it happened; default now) and ``--json``, act as ``--as NAME``,
and exit 2 with the reason when a guard or the role policy refuses — the ledger is then unchanged.
"""

from __future__ import annotations

import functools
import json
from datetime import date
from typing import Any

import click

from tilsyn.ledger import ValidationError
from tilsyn.standards import events as ev
from tilsyn.standards.model import METHODS, SOURCES, TILBUD_TYPES
from tilsyn.standards.service import occurred

from .choices import DanishChoice, fold
from .context import AppContext, pass_app
from .output import console, emit_json


INSTEAD_SHOWN = ("uanmeldt", "oensker-ikke", "kan-ikke")


class OpenSource(DanishChoice):
    """A source (kilde) from the vocabulary, typed any Danish way — or another named source, kept as given.

    Whether a source outside the vocabulary is allowed is the guards' question (where the design names its
    sources with «fx»); the command line only normalises what it recognises.
    """

    name = "kilde"

    def convert(self, value, param, ctx):
        found = self._by_fold.get(fold(str(value)))
        if found is not None:
            return found
        text = " ".join(str(value).split())
        if not text:
            self.fail("a source must be named", param, ctx)
        return text


def recording(f):
    """Add --occurred-at and --json to a recording command."""

    @click.option("--occurred-at", metavar="TIME", help="When it happened: a date or RFC 3339 time (default: now).")
    @click.option("--json", "as_json", is_flag=True, help="Print the recorded event as JSON.")
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)

    return wrapper


def record(app: AppContext, tilbud: str, type: str, payload: dict[str, Any], occurred_at: str | None,
           as_json: bool, what: str) -> None:
    event = app.supervision().record(app.signer(), tilbud, type, payload, occurred(occurred_at))
    if as_json:
        emit_json(event.to_dict())
    else:
        console.print(f"seq {event.seq}: {what} ({event.type}, signed by {event.actor})")


def _date(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from None


def _end(value: str | None) -> str | None:
    """HVORNÅR? (slut): a date, or «Varig ordning» (seed 000's own row), typed any case."""
    if value is not None and fold(value) == fold(ev.VARIG_ORDNING):
        return ev.VARIG_ORDNING
    return _date(value, "--slut")


# -- tilbud -------------------------------------------------------------------------------------
@click.group()
def tilbud() -> None:
    """Register and list tilbud (the supervised providers)."""


@tilbud.command("add")
@click.argument("tilbud_id", metavar="TILBUD")
@click.option("--name", required=True, help="The tilbud's name.")
@click.option("--type", "tilbud_type", required=True, type=DanishChoice(TILBUD_TYPES), help="Kind of tilbud.")
@click.option("--board/--no-board", default=False, show_default=True, help="Whether the tilbud has a board (bestyrelse).")
@click.option("--regional", "regional", multiple=True, metavar="STANDARD",
              help="A regional quality standard the tilbud is under, e.g. regional-1.3 (repeatable).")
@click.option("--godkendt", "approved_on", metavar="DATE",
              help="Already approved (godkendt) on DATE before it came into the ledger; without it: ansøger.")
@click.option("--maalgruppe", "--målgruppe", "maalgruppe", metavar="TEXT", help="Målgruppe.")
@click.option("--pladser", type=click.IntRange(min=0), help="Number of places (pladser).")
@click.option("--lovgrundlag", multiple=True, metavar="TEXT", help="Lovgrundlag/§§ as the operator words it (repeatable).")
@click.option("--afdeling", "afdelinger", multiple=True, metavar="TEXT", help="An afdeling (repeatable).")
@click.option("--ejerform", metavar="TEXT", help="Ejerform.")
@click.option("--adresse", metavar="TEXT", help="Adresse.")
@click.option("--cvr", metavar="NUMBER", help="CVR number (8 digits).")
@recording
@pass_app
def tilbud_add(app, tilbud_id, name, tilbud_type, board, regional, approved_on, maalgruppe, pladser, lovgrundlag,
               afdelinger, ejerform, adresse, cvr, occurred_at, as_json):
    """Register TILBUD with its master data: as ansøger, or as already godkendt (--godkendt DATE).

    Its legal status changes from then on only through decisions (tilsyn varsel / decide).
    """
    payload = {"tilbud": tilbud_id, "name": name, "tilbud_type": tilbud_type, "has_board": board,
               "regional_standards": list(regional), "maalgruppe": maalgruppe, "pladser": pladser,
               "lovgrundlag": list(lovgrundlag), "afdelinger": list(afdelinger), "ejerform": ejerform,
               "adresse": adresse, "cvr": cvr.replace(" ", "") if cvr else None,
               "status": "godkendt" if approved_on else "ansøger", "godkendt_dato": _date(approved_on, "--godkendt")}
    record(app, tilbud_id, ev.TILBUD_REGISTERED, {k: v for k, v in payload.items() if v not in (None, [])},
           occurred_at, as_json, f"tilbud {tilbud_id} registered ({payload['status']})")


@tilbud.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def tilbud_list(app, as_json):
    """List registered tilbud."""
    rows = [e.payload | {"seq": e.seq} for e in app.ledger().read(types=[ev.TILBUD_REGISTERED])]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        console.print(f"{r['tilbud']}  {r['name']}  ({r['tilbud_type']}{', bestyrelse' if r['has_board'] else ''})  "
                      f"registreret som {r.get('status', 'ansøger')}  seq {r['seq']}")
    if not rows:
        console.print("(no tilbud)")


# -- visits -------------------------------------------------------------------------------------
@click.group()
def visit() -> None:
    """Supervision visits (tilsynsbesøg): start, complete, abort."""


def _open_visit(app: AppContext, tilbud_id: str, given: str | None) -> str:
    if given:
        return given
    open_ = [v.visit for v in app.supervision().state(tilbud_id).live_visits() if v.status == "i gang"]
    if len(open_) != 1:
        raise ValidationError(f"tilbud {tilbud_id} has {len(open_) or 'no'} open visits; name one with --visit"
                              + (f" ({', '.join(open_)})" if open_ else ""))
    return open_[0]


@visit.command("start")
@click.argument("tilbud_id", metavar="TILBUD")
@click.option("--kind", type=DanishChoice(ev.VISIT_KINDS), default="uanmeldt", show_default=True,
              help="Announced or unannounced.")
@click.option("--visit", "visit_id", metavar="ID", help="Visit id (default: B<n>).")
@click.option("--deltager", "participants", multiple=True, metavar="WHO",
              help="Who took part, as the report names them, e.g. «Mette Lund (tilbudsleder)» or «3 borgere» "
                   "(repeatable; never a borger's name: that is personal data).")
@recording
@pass_app
def visit_start(app, tilbud_id, kind, visit_id, participants, occurred_at, as_json):
    """Start a visit to TILBUD."""
    if not visit_id:
        visit_id = f"B{len(app.supervision().state(tilbud_id).visits) + 1}"
    record(app, tilbud_id, ev.VISIT_STARTED,
           {"visit": visit_id, "kind": kind, **({"participants": list(participants)} if participants else {})},
           occurred_at, as_json,
           f"visit {visit_id} ({kind}) started")


@visit.command("complete")
@click.argument("tilbud_id", metavar="TILBUD")
@click.option("--visit", "visit_id", metavar="ID", help="Which visit (default: the open one).")
@recording
@pass_app
def visit_complete(app, tilbud_id, visit_id, occurred_at, as_json):
    """Complete the open visit to TILBUD."""
    visit_id = _open_visit(app, tilbud_id, visit_id)
    record(app, tilbud_id, ev.VISIT_COMPLETED, {"visit": visit_id}, occurred_at, as_json, f"visit {visit_id} completed")


@visit.command("abort")
@click.argument("tilbud_id", metavar="TILBUD")
@click.option("--reason", required=True, help="Why the visit was aborted (it does not count as completed).")
@click.option("--visit", "visit_id", metavar="ID", help="Which visit (default: the open one).")
@recording
@pass_app
def visit_abort(app, tilbud_id, reason, visit_id, occurred_at, as_json):
    """Abort the open visit to TILBUD."""
    visit_id = _open_visit(app, tilbud_id, visit_id)
    record(app, tilbud_id, ev.VISIT_ABORTED, {"visit": visit_id, "reason": reason}, occurred_at, as_json,
           f"visit {visit_id} aborted")


# -- observing and assessing ----------------------------------------------------------------------
@click.command()
@click.argument("tilbud_id", metavar="TILBUD")
@click.argument("marker", metavar="MARKER")
@click.option("--source", required=True, type=OpenSource(SOURCES), metavar="KILDE",
              help=f"Source (kilde): {', '.join(SOURCES)}; another relevant source by name where the design "
                   f"says «fx» (trianguleringsinterview).")
@click.option("--method", required=True, type=DanishChoice(METHODS), help="Method (metode).")
@click.option("--text", required=True, help="What was observed.")
@click.option("--element", metavar="ID", help="The design element it serves, e.g. 2.3.1.a.")
@click.option("--visit", "visit_id", metavar="ID", help="The visit it was made on (default: the one in progress).")
@click.option("--subject", metavar="SUBJECT", help="Data subject the text describes (personal data).")
@click.option("--standard", metavar="ID[@VERSION]", help="Quality model (default: the tilbud's current one).")
@click.option("--form", "interview_form", type=DanishChoice(ev.INTERVIEW_FORMS),
              help="The interview's form (default for an interview: fysisk, seed 002).")
@click.option("--instead-of-interview", "instead", type=DanishChoice(ev.INSTEAD_OF_INTERVIEW, INSTEAD_SHOWN),
              help="Why observation or a trianguleringsinterview replaces the borgerinterview.")
@click.option("--efterfoelgende", "--efterfølgende", "afterwards", is_flag=True,
              help="Gathered after the named --visit, with its methods and sources (seed 002).")
@recording
@pass_app
def observe(app, tilbud_id, marker, source, method, text, element, visit_id, subject, standard, interview_form,
            instead, afterwards, occurred_at, as_json):
    """Record an observation for MARKER of TILBUD."""
    if interview_form is None and method in ("interview", "trianguleringsinterview"):
        interview_form = "fysisk"  # seed 002: «Interview er som udgangspunkt det fysiske interview»
    payload = {"marker": marker, "source": source, "method": method, "text": text, "element": element,
               "visit": visit_id, "subject": subject, "interview_form": interview_form,
               "instead_of_interview": instead, "efterfoelgende": True if afterwards else None, **_standard(standard)}
    record(app, tilbud_id, ev.OBSERVATION, {k: v for k, v in payload.items() if v is not None}, occurred_at, as_json,
           f"observation for marker {marker}")


def _subject(value: str | None) -> dict[str, str]:
    return {"subject": value} if value else {}


def _standard(value: str | None) -> dict[str, str]:
    if not value:
        return {}
    sid, _, version = value.partition("@")
    return {"standard": sid, **({"standard_version": version} if version else {})}


@click.group()
def assess() -> None:
    """Assess a marker (til stede / ikke til stede / ikke aktuel) or a criterion (opfyldt / ikke opfyldt)."""


@assess.command("marker")
@click.argument("tilbud_id", metavar="TILBUD")
@click.argument("marker", metavar="MARKER")
@click.argument("verdict", type=DanishChoice(ev.MARKER_VERDICTS))
@click.option("--reason", required=True, help="Why (faglig begrundelse).")
@click.option("--subject", metavar="SUBJECT", help="Data subject the reason describes (sealed as personal data).")
@click.option("--standard", metavar="ID[@VERSION]", help="Quality model (default: the tilbud's current one).")
@recording
@pass_app
def assess_marker(app, tilbud_id, marker, verdict, reason, subject, standard, occurred_at, as_json):
    """Assess MARKER of TILBUD."""
    record(app, tilbud_id, ev.MARKER_ASSESSED, {"marker": marker, "verdict": verdict, "reason": reason,
                                                **_subject(subject), **_standard(standard)}, occurred_at, as_json,
           f"marker {marker}: {verdict}")


@assess.command("criterion")
@click.argument("tilbud_id", metavar="TILBUD")
@click.argument("criterion", metavar="CRITERION")
@click.argument("verdict", type=DanishChoice(ev.CRITERION_VERDICTS))
@click.option("--reason", required=True, help="The faglig begrundelse, naming the markers present, absent or not applicable.")
@click.option("--subject", metavar="SUBJECT", help="Data subject the reason describes (sealed as personal data).")
@click.option("--standard", metavar="ID[@VERSION]", help="Quality model (default: the tilbud's current one).")
@recording
@pass_app
def assess_criterion(app, tilbud_id, criterion, verdict, reason, subject, standard, occurred_at, as_json):
    """Assess CRITERION of TILBUD."""
    record(app, tilbud_id, ev.CRITERION_ASSESSED, {"criterion": criterion, "verdict": verdict, "reason": reason,
                                                   **_subject(subject), **_standard(standard)}, occurred_at, as_json,
           f"criterion {criterion}: {verdict}")


@click.command()
@click.argument("tilbud_id", metavar="TILBUD")
@click.argument("colour", metavar="grøn|gul|rød", type=DanishChoice(ev.RISK_COLOURS))
@click.option("--reason", required=True, help="Why this risk colour.")
@click.option("--criterion", metavar="ID", help="Categorise one criterion instead of the whole tilbud.")
@click.option("--subject", metavar="SUBJECT", help="Data subject the reason describes (sealed as personal data).")
@click.option("--doubt", metavar="TEXT", help="At gul: the doubt the widened investigation is to resolve.")
@click.option("--widen", "widen", multiple=True, metavar="ELEMENT",
              help="At gul: a design element to cover (2.3.1.a) or a way beyond the design "
                   "(MARKER:METHOD:SOURCE, e.g. 2.3.1:trianguleringsinterview:pårørende); repeatable.")
@recording
@pass_app
def risk(app, tilbud_id, colour, reason, criterion, subject, doubt, widen, occurred_at, as_json):
    """Set the risk colour (risikokategori) of TILBUD; at gul, with the doubt and the widened design."""
    payload = {"colour": colour, "reason": reason, **({"criterion": criterion} if criterion else {}), **_subject(subject)}
    if colour != "gul" and (doubt or widen):
        raise click.UsageError("--doubt and --widen belong to risk gul (seed 002: the design is widened in doubt)")
    if colour == "gul" and not (doubt and widen):
        raise click.UsageError("risk gul records the doubt and the widened design: give --doubt TEXT and "
                               "--widen ELEMENT (seed 002)")
    if colour != "gul":
        record(app, tilbud_id, ev.RISK, payload, occurred_at, as_json, f"risk {colour}")
        return
    widening = {"doubt": doubt, **_widening(widen), **({"criterion": criterion} if criterion else {}),
                **_subject(subject)}
    signer, when = app.signer(), occurred(occurred_at)
    events = app.supervision().record_many([(signer, tilbud_id, ev.RISK, payload, when),
                                            (signer, tilbud_id, ev.DESIGN_WIDENED, widening, when)])
    if as_json:
        emit_json([e.to_dict() for e in events])
        return
    console.print(f"seq {events[0].seq}: risk gul ({events[0].type}, signed by {events[0].actor})")
    console.print(f"seq {events[1].seq}: undersøgelsesdesignet udvidet med {', '.join(widen)} "
                  f"({events[1].type}, signed by {events[1].actor})")


def _widening(items) -> dict[str, list]:
    elements, ways = [], []
    for item in items:
        if ":" in item:
            parts = item.split(":")
            if len(parts) != 3 or not all(p.strip() for p in parts):
                raise click.BadParameter(f"{item!r}: a way is MARKER:METHOD:SOURCE", param_hint="--widen")
            method = DanishChoice(METHODS).convert(parts[1], None, None)
            source = OpenSource(SOURCES).convert(parts[2], None, None)
            ways.append({"marker": parts[0].strip(), "method": method, "source": source})
        else:
            elements.append(item.strip())
    return {"elements": elements, "ways": ways}


# -- quality (issue 14): temaet økonomi ---------------------------------------------------------------------
@assess.command("oekonomi")
@click.argument("tilbud_id", metavar="TILBUD")
@click.argument("verdict", metavar="opfyldt|ikke-opfyldt", type=DanishChoice(ev.CRITERION_VERDICTS))
@click.option("--reason", required=True, help="The faglig begrundelse for the økonomi verdict.")
@click.option("--subject", metavar="SUBJECT", help="Data subject the reason describes (sealed as personal data).")
@recording
@pass_app
def assess_oekonomi(app, tilbud_id, verdict, reason, subject, occurred_at, as_json):
    """Assess temaet økonomi of TILBUD (seed 002: part of fornøden kvalitet, outside the model)."""
    record(app, tilbud_id, ev.OEKONOMI_ASSESSED, {"verdict": verdict, "reason": reason, **_subject(subject)},
           occurred_at, as_json, f"økonomi: {verdict}")


# -- decisions (legal, issue 13) ---------------------------------------------------------------
KIND_SHOWN = ("påbud", "skærpet-tilsyn", "skærpet-tilsyn-med-påbud", "godkendelse", "godkendelse-med-vilkår",
              "afslag", "ophør")


def _kind_argument(f):
    return click.argument("kind", metavar="KIND", type=DanishChoice(ev.DECISION_KINDS, KIND_SHOWN))(f)


@click.command()
@click.argument("tilbud_id", metavar="TILBUD")
@_kind_argument
@click.option("--criterion", "criteria", multiple=True, required=True, metavar="ID",
              help="A criterion the intended decision rests on (repeatable).")
@click.option("--indhold", required=True, help="What the tilbud would have to do (or the vilkår).")
@click.option("--deadline", metavar="DATE", help="The intended frist.")
@click.option("--hjemmel", required=True, help="The legal basis (from the operator's hjemmel list, if one is set).")
@click.option("--reason", "--begrundelse", "reason", required=True,
              help="The intended begrundelse: the criteria and markers it rests on, the rules, the main considerations.")
@click.option("--hoeringsfrist", "--høringsfrist", "hoeringsfrist", required=True, metavar="DATE",
              help="Until when the tilbud may answer (høringsfrist).")
@recording
@pass_app
def varsel(app, tilbud_id, kind, criteria, indhold, deadline, hjemmel, reason, hoeringsfrist, occurred_at, as_json):
    """Give TILBUD notice (varsel) of an intended decision and hear it (partshøring), as a tilsynsleder."""
    payload = {"kind": kind, "criteria": list(criteria), "indhold": indhold, "hjemmel": hjemmel, "reason": reason,
               "hoeringsfrist": _date(hoeringsfrist, "--hoeringsfrist")}
    if deadline:
        payload["deadline"] = _date(deadline, "--deadline")
    record(app, tilbud_id, ev.VARSEL, payload, occurred_at, as_json,
           f"varsel om {kind}, høringsfrist {payload['hoeringsfrist']}")


@click.command()
@click.argument("tilbud_id", metavar="TILBUD")
@click.argument("varsel_seq", metavar="VARSEL-SEQ", type=int)
@click.option("--text", required=True, help="The høringssvar.")
@click.option("--paa-vegne-af", "--på-vegne-af", "on_behalf", is_flag=True,
              help="Recorded by the tilsyn on the tilbud's behalf (e.g. an answer given by phone or letter).")
@recording
@pass_app
def hoering(app, tilbud_id, varsel_seq, text, on_behalf, occurred_at, as_json):
    """Record the tilbud's høringssvar to the varsel at VARSEL-SEQ."""
    payload = {"varsel": varsel_seq, "text": text, **({"on_behalf": True} if on_behalf else {})}
    record(app, tilbud_id, ev.HOERINGSSVAR, payload, occurred_at, as_json, f"høringssvar til varsel seq {varsel_seq}")


@click.command()
@click.argument("tilbud_id", metavar="TILBUD")
@_kind_argument
@click.option("--criterion", "criteria", multiple=True, metavar="ID",
              help="A criterion the decision rests on (repeatable; default: the varsel's).")
@click.option("--indhold", help="What the tilbud must do, or the vilkår (default: the varsel's).")
@click.option("--deadline", metavar="DATE", help="The frist (required for a påbud; default: the varsel's).")
@click.option("--hjemmel", help="The legal basis (default: the varsel's).")
@click.option("--reason", "--begrundelse", "reason", required=True,
              help="The begrundelse (fvl § 24): the criteria and markers it rests on, the rules, the main considerations.")
@click.option("--varsel", "varsel_seq", metavar="SEQ", type=int, help="The varsel the tilbud was heard on.")
@click.option("--uden-partshoering", "--uden-partshøring", "without", metavar="REASON",
              help="Decided without partshøring: why it could not wait (shown as a finding).")
@click.option("--hoering-afvejning", "--høring-afvejning", "weighing", metavar="TEXT",
              help="How the høringssvar was weighed (required when there is one).")
@click.option("--frist-begrundelse", "frist_reason", metavar="TEXT",
              help="Why the frist is shorter than the reasonable minimum (setting supervision.frist_min_dage).")
@recording
@pass_app
def decide(app, tilbud_id, kind, criteria, indhold, deadline, hjemmel, reason, varsel_seq, without, weighing,
           frist_reason, occurred_at, as_json):
    """Issue a decision for TILBUD, as a tilsynsleder.

    KIND for an ansøger: godkendelse, godkendelse-med-vilkår, afslag; for an approved tilbud: påbud,
    skærpet-tilsyn, skærpet-tilsyn-med-påbud, ophør. The klagevejledning is the operator's text from
    tilsyn.toml ("supervision.klagevejledning").
    """
    heard = app.supervision().state(tilbud_id).varsel(varsel_seq) if varsel_seq is not None else None
    payload: dict[str, Any] = {"kind": kind, "reason": reason,
                               "criteria": list(criteria) or (list(heard.criteria) if heard else []),
                               "indhold": indhold or (heard.indhold if heard else None),
                               "hjemmel": hjemmel or (heard.hjemmel if heard else None),
                               "deadline": _date(deadline, "--deadline") or (heard.deadline if heard else None),
                               "varsel": varsel_seq, "uden_partshoering": without, "hoering_afvejning": weighing,
                               "frist_begrundelse": frist_reason}
    record(app, tilbud_id, ev.DECISION_ISSUED, {k: v for k, v in payload.items() if v is not None}, occurred_at,
           as_json, f"{kind} issued")


@click.group()
def decision() -> None:
    """Follow a decision up: extend its frist, confirm it after genoptagelse, lift it, or record it fulfilled."""


@decision.command("extend")
@click.argument("tilbud_id", metavar="TILBUD")
@click.argument("decision_seq", metavar="DECISION-SEQ", type=int)
@click.option("--deadline", required=True, metavar="DATE", help="The new frist.")
@click.option("--reason", required=True, help="Why the frist is extended.")
@recording
@pass_app
def decision_extend(app, tilbud_id, decision_seq, deadline, reason, occurred_at, as_json):
    """Extend the frist of the decision at DECISION-SEQ (tilsynsleder only)."""
    record(app, tilbud_id, ev.DECISION_EXTENDED, {"decision": decision_seq, "deadline": _date(deadline, "--deadline"),
                                                  "reason": reason}, occurred_at, as_json,
           f"frist for decision {decision_seq} extended to {deadline}")


@decision.command("confirm")
@click.argument("tilbud_id", metavar="TILBUD")
@click.argument("decision_seq", metavar="DECISION-SEQ", type=int)
@click.option("--reason", required=True, help="Why the decision stands although its basis was corrected.")
@recording
@pass_app
def decision_confirm(app, tilbud_id, decision_seq, reason, occurred_at, as_json):
    """Genoptagelse considered: the decision at DECISION-SEQ stands (fastholdt) after its basis changed."""
    record(app, tilbud_id, ev.DECISION_CONFIRMED, {"decision": decision_seq, "reason": reason}, occurred_at, as_json,
           f"decision {decision_seq} confirmed")


@click.command()
@click.argument("tilbud_id", metavar="TILBUD")
@click.option("--criterion", required=True, metavar="ID", help="The criterion the recommendation concerns.")
@click.option("--text", required=True, help="The recommendation (anbefaling).")
@recording
@pass_app
def anbefal(app, tilbud_id, criterion, text, occurred_at, as_json):
    """Record a recommendation (anbefaling) to TILBUD; plan rows may answer it (plan add --answers SEQ)."""
    record(app, tilbud_id, ev.ANBEFALING, {"criterion": criterion, "text": text}, occurred_at, as_json,
           f"anbefaling for kriterium {criterion}")


@decision.command("lift")
@click.argument("tilbud_id", metavar="TILBUD")
@click.argument("decision_seq", metavar="DECISION-SEQ", type=int)
@click.option("--reason", required=True, help="Why it is lifted.")
@recording
@pass_app
def decision_lift(app, tilbud_id, decision_seq, reason, occurred_at, as_json):
    """Lift the decision recorded at DECISION-SEQ."""
    record(app, tilbud_id, ev.DECISION_LIFTED, {"decision": decision_seq, "reason": reason}, occurred_at, as_json,
           f"decision {decision_seq} lifted")


@decision.command("fulfil")
@click.argument("tilbud_id", metavar="TILBUD")
@click.argument("decision_seq", metavar="DECISION-SEQ", type=int)
@click.option("--reason", required=True, help="How it was fulfilled.")
@recording
@pass_app
def decision_fulfil(app, tilbud_id, decision_seq, reason, occurred_at, as_json):
    """Record that the decision at DECISION-SEQ was fulfilled (påbud efterkommet)."""
    record(app, tilbud_id, ev.DECISION_FULFILLED, {"decision": decision_seq, "reason": reason}, occurred_at,
           as_json, f"decision {decision_seq} fulfilled")


# -- follow-up plan -------------------------------------------------------------------------------
PLAN_OPTIONS = [("tema", "TEMA: which theme, prioritised"), ("emne", "EMNE: what must change and why"),
                ("maal", "MÅL: concrete goals"), ("hvad", "HVAD?: activities"), ("hvordan", "HVORDAN?: resources"),
                ("dokumentation", "DOKUMENTATION: how progress is documented"),
                ("hvem", "HVEM?: who does it and who follows up")]


def _plan_options(required: bool):
    def decorate(f):
        for name, help_ in reversed(PLAN_OPTIONS):
            f = click.option(f"--{name}", required=required, help=help_)(f)
        f = click.option("--slut", required=required, metavar="DATE", help="HVORNÅR?: end date, or «Varig ordning»")(f)
        f = click.option("--start", required=required, metavar="DATE", help="HVORNÅR?: start date")(f)
        return f
    return decorate


@click.group()
def plan() -> None:
    """The tilbud's follow-up plan (opfølgningsplan): rows by priority, revisions, approval, results."""


@plan.command("add")
@click.argument("tilbud_id", metavar="TILBUD")
@click.option("--priority", required=True, type=click.IntRange(min=1), help="Priority (1. prioritet …).")
@_plan_options(required=True)
@click.option("--answers", metavar="DECISION-SEQ", type=int,
              help="The påbud or godkendelse med vilkår this row answers.")
@click.option("--anbefaling", metavar="TEXT", help="The socialtilsyn's anbefaling this row answers, as given.")
@click.option("--criterion", metavar="ID", help="The quality criterion this row lifts.")
@click.option("--regional", metavar="STANDARD", help="This row is the written plan of STANDARD's trin 4.")
@click.option("--item", "item_id", metavar="ID", help="Row id (default: P<priority>).")
@click.option("--tema-standard", metavar="ID@VERSION",
              help="Quality model the TEMA refers to (default: current; kvalitetsmodel-foer-2025 for the seven themes).")
@recording
@pass_app
def plan_add(app, tilbud_id, priority, start, slut, tema, emne, maal, hvad, hvordan, dokumentation, hvem, answers,
             anbefaling, criterion, regional, item_id, tema_standard, occurred_at, as_json):
    """Add a row to TILBUD's follow-up plan."""
    payload = {"item": item_id or f"P{priority}", "priority": priority, "tema": tema, "emne": emne, "maal": maal,
               "hvad": hvad, "hvordan": hvordan, "start": _date(start, "--start"), "slut": _end(slut),
               "dokumentation": dokumentation, "hvem": hvem}
    for key, value in (("anbefaling", anbefaling), ("criterion", criterion), ("regional", regional)):
        if value:
            payload[key] = value
    if answers is not None:
        payload["answers"] = answers
    if tema_standard:
        payload["tema_standard"] = tema_standard
    record(app, tilbud_id, ev.PLAN_ITEM_ADDED, payload, occurred_at, as_json, f"plan row {payload['item']} added")


@plan.command("revise")
@click.argument("tilbud_id", metavar="TILBUD")
@click.argument("item_id", metavar="ITEM")
@_plan_options(required=False)
@click.option("--priority", type=click.IntRange(min=1), help="New priority.")
@click.option("--reason", required=True, help="Why the row is revised (konsekvensrettet).")
@recording
@pass_app
def plan_revise(app, tilbud_id, item_id, start, slut, tema, emne, maal, hvad, hvordan, dokumentation, hvem, priority,
                reason, occurred_at, as_json):
    """Revise row ITEM of TILBUD's plan: give the columns that change."""
    changes = {"tema": tema, "emne": emne, "maal": maal, "hvad": hvad, "hvordan": hvordan,
               "dokumentation": dokumentation, "hvem": hvem, "priority": priority,
               "start": _date(start, "--start"), "slut": _end(slut)}
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        raise click.UsageError("give at least one column to change, e.g. --slut 2027-03-01")
    record(app, tilbud_id, ev.PLAN_ITEM_REVISED, {"item": item_id, "changes": changes, "reason": reason},
           occurred_at, as_json, f"plan row {item_id} revised")


@plan.command("approve")
@click.argument("tilbud_id", metavar="TILBUD")
@recording
@pass_app
def plan_approve(app, tilbud_id, occurred_at, as_json):
    """Approve TILBUD's follow-up plan as it stands now (as its tilbudsleder)."""
    state = app.supervision().state(tilbud_id)
    if not state.plan():
        raise ValidationError(f"opfølgningsplanen for {tilbud_id} har ingen punkter at godkende")
    revision = state.plan_revision
    record(app, tilbud_id, ev.PLAN_APPROVED, {"plan_revision": revision}, occurred_at, as_json,
           f"plan approved at revision {revision}")


@plan.command("result")
@click.argument("tilbud_id", metavar="TILBUD")
@click.argument("item_id", metavar="ITEM")
@click.option("--resultat", required=True, help="RESULTAT: the outcome.")
@recording
@pass_app
def plan_result(app, tilbud_id, item_id, resultat, occurred_at, as_json):
    """Record the result of row ITEM."""
    record(app, tilbud_id, ev.PLAN_RESULT, {"item": item_id, "resultat": resultat}, occurred_at, as_json,
           f"result for plan row {item_id}")


# -- regional standards -------------------------------------------------------------------------
@click.command()
@click.argument("tilbud_id", metavar="TILBUD")
@click.argument("standard", metavar="STANDARD")
@click.argument("indikator", type=int)
@click.argument("verdict", metavar="opfyldt|ikke-opfyldt", type=DanishChoice(ev.CRITERION_VERDICTS))
@click.option("--reason", required=True, help="What was checked and found.")
@recording
@pass_app
def check(app, tilbud_id, standard, indikator, verdict, reason, occurred_at, as_json):
    """Check INDIKATOR of the regional STANDARD (e.g. regional-1.3) for TILBUD."""
    record(app, tilbud_id, ev.INDIKATOR_CHECKED, {**_standard(standard), "indikator": indikator, "verdict": verdict,
                                                  "reason": reason}, occurred_at, as_json,
           f"{standard} indikator {indikator}: {verdict}")


@click.command()
@click.argument("tilbud_id", metavar="TILBUD")
@click.argument("standard", metavar="STANDARD")
@click.option("--date", "day", required=True, metavar="DATE", help="When the internal monitoring was completed.")
@recording
@pass_app
def monitor(app, tilbud_id, standard, day, occurred_at, as_json):
    """Record internal quality monitoring (trin 3) of STANDARD for TILBUD."""
    record(app, tilbud_id, ev.MONITORING_COMPLETED, {**_standard(standard), "date": _date(day, "--date")},
           occurred_at, as_json, f"{standard} monitoring {day}")


# -- corrections ---------------------------------------------------------------------------------
@click.command()
@click.argument("tilbud_id", metavar="TILBUD")
@click.argument("seq", type=int)
@click.option("--reason", required=True, help="Why the earlier event is corrected.")
@click.option("--replace", "replacement", metavar="JSON",
              help="The corrected payload (JSON object of the same type); without it the event is withdrawn.")
@recording
@pass_app
def correct(app, tilbud_id, seq, reason, replacement, occurred_at, as_json):
    """Correct the event at SEQ: withdraw it, or replace its content. Nothing is edited."""
    payload: dict[str, Any] = {"corrects": seq, "reason": reason}
    if replacement:
        try:
            payload["replacement"] = json.loads(replacement)
        except json.JSONDecodeError as e:
            raise click.BadParameter(f"not JSON: {e}", param_hint="--replace") from None
    record(app, tilbud_id, ev.CORRECTION, payload, occurred_at, as_json, f"correction of seq {seq}")


COMMANDS = [tilbud, visit, observe, assess, risk, varsel, hoering, decide, decision, anbefal, plan, check, monitor,
            correct]
