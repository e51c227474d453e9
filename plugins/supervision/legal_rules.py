"""Guards and findings that make a decision a lawful administrative act (issue 13).

Seed 002 ties the decision kinds to the tilbud's status; where the seeds are silent, forvaltningsloven
applies (DOMAIN.md): a *varsel* and *partshøring* before a bebyrdende afgørelse (§ 19), a *begrundelse*
naming the rules and facts (§§ 22–24), a *hjemmel*, and a *klagevejledning* (§ 25). No legal text is
written here: hjemler and the klagevejledning come from plugin data and the operator's settings.

Guards with ``with_settings`` get the merged settings plus ``now`` (the ledger's clock when checked) and
``actor_roles`` (the signer's roles), which :meth:`Supervision.check` adds.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import msgspec

from tilsyn.ledger import timefmt
from tilsyn.standards import events as ev
from tilsyn.standards import legal
from tilsyn.standards.danish import danish_day, danish_time, number_of, with_article
from tilsyn.standards.rules import Finding, FindingRule, GuardRule

from . import hjemler as hjemler_list

SETTINGS = {
    "supervision.klagevejledning": "",
    "supervision.hjemler_fil": "",
    "supervision.frist_min_dage": 14,
    "supervision.ur_tolerance_minutter": 5,
}
"""Defaults. The klagevejledning is empty on purpose: the operator must supply its text (tilsyn.toml)."""

_DECIDING = (ev.DECISION_ISSUED, ev.VARSEL)


def _day(stamp: str) -> date:
    """The Danish calendar day of an instant: frister and høringsfrister are Danish dates."""
    return date.fromisoformat(danish_day(stamp))


def _time(stamp: str) -> datetime:
    return timefmt.parse_time(stamp)


def _mentions(text: str, ident: str) -> bool:
    """Whether ``text`` names criterion/marker ``ident`` (``2.3`` is not named by ``2.3.1``)."""
    return re.search(rf"(?<![\d.]){re.escape(ident)}(?!\.?\d)", text) is not None


# -- tilbud master data and time ----------------------------------------------------------------------
def master_data(stmt, state, catalog):
    p = stmt.payload
    if p.get("status", legal.ANSOEGER) == legal.GODKENDT:
        if not p.get("godkendt_dato"):
            return "et tilbud, der registreres som godkendt, skal have godkendelsens dato (--godkendt DATO)"
        if p["godkendt_dato"] > danish_day(stmt.occurred_at):
            return f"godkendelsens dato {p['godkendt_dato']} ligger efter registreringen"
    elif p.get("godkendt_dato"):
        return "en ansøger har ingen godkendelsesdato; en godkendelse træffes som afgørelse (tilsyn decide … godkendelse)"
    return None


def time_sanity(stmt, state, catalog, settings):
    """Occurred times that make sense: not in the future, not before the tilbud was registered."""
    try:
        occurred = _time(stmt.occurred_at)
        now = _time(settings.get("now") or timefmt.now())
    except ValueError:
        return f"ugyldigt tidspunkt {stmt.occurred_at!r}"
    skew = timedelta(minutes=int(settings.get("supervision.ur_tolerance_minutter", 5)))
    if occurred > now + skew:
        minutes = int(skew.total_seconds() // 60)
        return (f"tidspunktet {danish_time(stmt.occurred_at)} ligger i fremtiden (mere end "
                f"{minutes} {'minut' if minutes == 1 else 'minutter'} efter nu)")
    if stmt.type != ev.TILBUD_REGISTERED and state.registered_at and stmt.occurred_at < state.registered_at:
        return (f"tidspunktet {danish_time(stmt.occurred_at)} ligger før tilbuddet blev registreret "
                f"({danish_time(state.registered_at)})")
    if stmt.type in (ev.VISIT_COMPLETED, ev.VISIT_ABORTED):
        visits = [v for v in state.live_visits() if v.visit == stmt.payload["visit"]]
        if visits and stmt.occurred_at < visits[-1].occurred_at:
            return (f"besøget {visits[-1].visit!r} kan ikke afsluttes før det begyndte "
                    f"({danish_time(visits[-1].occurred_at)})")
    return None


_ACT_NAMES = {ev.HOERINGSSVAR: "høringssvaret", ev.DECISION_ISSUED: "afgørelsen", ev.DECISION_EXTENDED: "forlængelsen",
              ev.DECISION_LIFTED: "ophævelsen", ev.DECISION_FULFILLED: "efterkommelsen",
              ev.DECISION_CONFIRMED: "fastholdelsen", ev.CORRECTION: "rettelsen"}


def _earlier_acts(stmt, state):
    """(what, fact) for each recorded act this one answers, weighs or follows up, so cannot predate."""
    from .rules import fact_of

    p = stmt.payload
    if stmt.type == ev.CORRECTION:
        fact = fact_of(state, p["corrects"])
        return [(f"hændelsen seq {fact.seq}, der rettes", fact)] if fact is not None else []
    if stmt.type in (ev.HOERINGSSVAR, ev.DECISION_ISSUED):
        v = state.varsel(p["varsel"]) if p.get("varsel") is not None else None
        if v is None:
            return []
        acts = [(f"varslet seq {v.seq}", v)]
        if stmt.type == ev.DECISION_ISSUED:
            acts += [(f"høringssvaret seq {h.seq}, som afgørelsen afvejer", h) for h in state.live_svar(v)]
        return acts
    d = state.decision(p["decision"])
    if d is None:
        return []
    acts = [(f"afgørelsen seq {d.seq}", d)]
    acts += [(f"forlængelsen seq {x.seq}", x) for x in d.extensions if state.live(x.seq)]
    if stmt.type == ev.DECISION_FULFILLED:
        acts += [(f"vurderingen af kriterium {c} seq {v.seq}, som den hviler på", v)
                 for c in d.criteria if (v := state.criterion_verdict(c)) is not None]
    return acts


def time_order(stmt, state, catalog):
    """An act is not dated before what it answers, weighs or follows up (a høringssvar before its varsel, a
    decision before the høringssvar it weighs, a frist extended before the decision was made …)."""
    for what, fact in _earlier_acts(stmt, state):
        if fact.occurred_at > stmt.occurred_at:
            return (f"{_ACT_NAMES[stmt.type]} er dateret {danish_time(stmt.occurred_at)}, før {what} "
                    f"({danish_time(fact.occurred_at)})")
    return None


def _blank_field(value: Any, name: str) -> str | None:
    if isinstance(value, str):
        return name if not value.strip() else None
    if isinstance(value, list):
        for v in value:
            if (hit := _blank_field(v, name)) is not None:
                return hit
    if isinstance(value, dict):
        for k, v in value.items():
            if (hit := _blank_field(v, f"{name}.{k}" if name else k)) is not None:
                return hit
    return None


def text_not_blank(stmt, state, catalog):
    field = _blank_field(stmt.payload, "")
    if field is not None:
        return f"feltet {field!r} er tomt (kun mellemrum)"
    return None


def observation_visit(stmt, state, catalog):
    """Observations belong to a started, not aborted visit, or say they were gathered afterwards for it."""
    p = stmt.payload
    name = p.get("visit")
    if not name:
        if p.get("efterfoelgende"):
            return "en efterfølgende observation skal nævne det besøg, den hører til (--visit)"
        # Seed 002: data are gathered on a visit, or afterwards for it «med samme metoder og kilder».
        open_ = [v.visit for v in state.live_visits() if v.status == "i gang"]
        if open_:
            return f"der er flere besøg i gang ({', '.join(open_)}); angiv, hvilket observationen hører til (--visit)"
        return ("en observation hører til et tilsynsbesøg, men intet besøg er i gang: start besøget (tilsyn visit "
                "start), eller angiv det besøg, den er indsamlet efterfølgende til (--visit ID --efterfoelgende)")
    visits = [v for v in state.live_visits() if v.visit == name]
    if not visits:
        known = ", ".join(v.visit for v in state.live_visits()) or "ingen"
        return f"ukendt besøg {name!r} (besøg: {known})"
    v = visits[-1]
    if v.status == "afbrudt":
        return f"besøget {name!r} er afbrudt; dets data tæller ikke, og der kan ikke observeres til det"
    if stmt.occurred_at < v.occurred_at:
        return f"observationen ligger før besøget {name!r} begyndte ({danish_time(v.occurred_at)})"
    if v.status == "gennemført" and not p.get("efterfoelgende"):
        return (f"besøget {name!r} er gennemført; en observation indsamlet bagefter skal siges at være "
                f"efterfølgende (--efterfoelgende)")
    if v.status == "i gang" and p.get("efterfoelgende"):
        return f"besøget {name!r} er stadig i gang; observationen er ikke efterfølgende"
    return None


# -- the decision itself --------------------------------------------------------------------------
def decision_kind(stmt, state, catalog):
    """Seed 002: the kinds follow the status; incompatible open decisions are refused."""
    p = stmt.payload
    return legal.refusal(p["kind"], p["criteria"], state.legal_status(), state.open_decisions())


def _model(stmt, catalog):
    p = stmt.payload
    return catalog.get(p["standard"], p["standard_version"])


def decision_basis(stmt, state, catalog, settings):
    p = stmt.payload
    try:
        model = _model(stmt, catalog)
    except KeyError as e:
        return f"ukendt standard: {e.args[0]}"
    for c in p["criteria"]:
        try:
            model.criterion(c)
        except (KeyError, AttributeError):
            return f"ukendt kvalitetskriterium {c!r} i {model.id}"
    if p["kind"] == legal.GODKENDELSE:
        # Seed 002: «Som betingelse for at blive godkendt … skal tilbud have den fornødne kvalitet», i.e. every
        # criterion opfyldt (and temaet økonomi).
        lacking = [c.id for c in model.criteria()
                   if (v := state.criterion_verdict(c.id)) is None or v.verdict != "opfyldt"]
        if lacking:
            return (f"en godkendelse kræver fornøden kvalitet: kriterium {', '.join(lacking)} står ikke som opfyldt")
        oek = state.oekonomi_verdict() if hasattr(state, "oekonomi_verdict") else None
        if oek is None or oek.verdict != "opfyldt":
            return "en godkendelse kræver fornøden kvalitet: temaet økonomi står ikke som opfyldt"
    else:
        # Seed 002, rule 4: every other decision follows from a lack of fornøden kvalitet.
        if not p["criteria"]:
            return f"{with_article(p['kind'])} skal hvile på mindst ét kvalitetskriterium (--criterion)"
        failing = [c for c in p["criteria"]
                   if (v := state.criterion_verdict(c)) is not None and v.verdict == "ikke opfyldt"]
        if not failing:
            return (f"{with_article(p['kind'])} kræver mindst ét kvalitetskriterium, der står som ikke opfyldt "
                    f"(af {', '.join(p['criteria'])} er intet vurderet ikke opfyldt)")
    what = "afgørelsen" if stmt.type == ev.DECISION_ISSUED else "varslet"
    for c in p["criteria"]:
        verdicts = [("kriterium", c, state.criterion_verdict(c))]
        try:
            verdicts += [("markør", m.id, state.marker_verdict(m.id)) for m in model.criterion(c).markers]
        except (KeyError, AttributeError):
            pass
        for noun, ident, v in verdicts:
            if v is not None and v.occurred_at > stmt.occurred_at:
                return (f"{what} ({danish_time(stmt.occurred_at)}) ligger før vurderingen af {noun} {ident} "
                        f"({danish_time(v.occurred_at)}), som den hviler på")
    deadline = p.get("deadline")
    if p["kind"] in legal.ORDER_KINDS and not deadline:
        return f"{with_article(p['kind'])} kræver en frist (--deadline)"
    if deadline and stmt.type == ev.DECISION_ISSUED:
        days = (date.fromisoformat(deadline) - _day(stmt.occurred_at)).days
        minimum = int(settings.get("supervision.frist_min_dage", 14))
        if days < 0:
            return f"fristen {deadline} ligger før afgørelsen"
        if days < minimum and not p.get("frist_begrundelse"):
            return (f"fristen {deadline} giver kun {days} dage; en rimelig frist er mindst {minimum} dage, "
                    f"medmindre afgørelsen siger hvorfor ikke (--frist-begrundelse)")
    return None


def decision_content(stmt, state, catalog, settings):
    """Indhold, hjemmel (from the list when one exists), a begrundelse naming its facts, klagevejledning."""
    p = stmt.payload
    what = "afgørelsen" if stmt.type == ev.DECISION_ISSUED else "varslet"
    if not p.get("indhold"):
        return f"{what} skal sige, hvad tilbuddet skal (indhold: --indhold)"
    if not p.get("hjemmel"):
        return f"{what} skal angive sin hjemmel (--hjemmel)"
    allowed = hjemler_list.allowed_for(p["kind"], settings)
    if allowed is not None and p["hjemmel"] not in allowed:
        listed = "; ".join(allowed) if allowed else "ingen"
        return f"hjemlen {p['hjemmel']!r} står ikke på hjemmelslisten for {p['kind']} (listen: {listed})"
    reason = p["reason"]
    try:
        model = _model(stmt, catalog)
    except KeyError:
        model = None
    for c in p["criteria"]:
        if not _mentions(reason, c):
            return f"begrundelsen skal nævne kriterium {c}, som {what} hviler på (forvaltningsloven § 24)"
        if model is None:
            continue
        for m in model.criterion(c).markers:
            mv = state.marker_verdict(m.id)
            if mv is not None and mv.verdict == "ikke til stede" and not _mentions(reason, m.id):
                return f"begrundelsen skal nævne markør {m.id}, som står som ikke til stede under kriterium {c}"
    if stmt.type == ev.DECISION_ISSUED and not p.get("klagevejledning"):
        return ("afgørelsen mangler klagevejledning: operatøren skal angive teksten i tilsyn.toml "
                "(\"supervision.klagevejledning\")")
    return None


def partshoering(stmt, state, catalog):
    """Forvaltningsloven § 19: a bebyrdende afgørelse is varslet and the tilbud heard first."""
    p = stmt.payload
    seq, without = p.get("varsel"), p.get("uden_partshoering")
    if seq is not None and without:
        return "en afgørelse træffes enten efter varsel (--varsel) eller uden partshøring, ikke begge"
    if p["kind"] in legal.FAVOURABLE_KINDS:
        return None
    if seq is None:
        if not without:
            return (f"{with_article(p['kind'])} er bebyrdende: giv først varsel (tilsyn varsel) og træf afgørelsen med "
                    f"--varsel SEQ, eller angiv hvorfor det haster (--uden-partshoering BEGRUNDELSE)")
        return None
    v = state.varsel(seq)
    if v is None:
        return f"seq {seq} er ikke et varsel for dette tilbud"
    if v.kind != p["kind"]:
        return f"varslet (seq {seq}) gælder {v.kind}, ikke {p['kind']}"
    extra = sorted(set(p["criteria"]) - set(v.criteria))
    if extra:
        return f"kriterium {', '.join(extra)} var ikke en del af varslet (seq {seq}); tilbuddet er ikke hørt om det"
    used = state.decision_of_varsel(seq)
    if used is not None:
        return f"varslet (seq {seq}) er allerede brugt af afgørelsen seq {used.seq}"
    svar = state.live_svar(v)
    if not svar and danish_day(stmt.occurred_at) <= v.hoeringsfrist:
        return (f"høringsfristen {v.hoeringsfrist} er ikke udløbet, og der er intet høringssvar; "
                f"afgørelsen kan tidligst træffes dagen efter fristen")
    if svar and not p.get("hoering_afvejning"):
        return (f"der er et høringssvar (seq {svar[-1].seq}); afgørelsen skal sige, hvordan det er indgået "
                f"(--hoering-afvejning)")
    return None


def hoering_valid(stmt, state, catalog, settings):
    p = stmt.payload
    v = state.varsel(p["varsel"])
    if v is None:
        return f"seq {p['varsel']} er ikke et varsel for dette tilbud"
    decided = state.decision_of_varsel(v.seq)
    if decided is not None:
        return f"afgørelsen på varslet er allerede truffet (seq {decided.seq})"
    roles = settings.get("actor_roles") or set()
    if "tilbudsleder" not in roles and not p.get("on_behalf"):
        return ("et høringssvar registreret af tilsynet skal sige, at det er på tilbuddets vegne (--paa-vegne-af)")
    if "tilbudsleder" in roles and p.get("on_behalf") and "tilsynskonsulent" not in roles:
        return "tilbudslederen afgiver selv høringssvaret; --paa-vegne-af er for tilsynet"
    return None


def varsel_frist(stmt, state, catalog):
    p = stmt.payload
    if p["hoeringsfrist"] <= danish_day(stmt.occurred_at):
        return f"høringsfristen {p['hoeringsfrist']} skal ligge efter varslet"
    if p.get("deadline") and p["deadline"] < p["hoeringsfrist"]:
        return f"den varslede frist {p['deadline']} ligger før høringsfristen {p['hoeringsfrist']}"
    return None


# -- follow-up --------------------------------------------------------------------------------------
def decision_followup(stmt, state, catalog):
    p = stmt.payload
    d = state.decision(p["decision"])
    if d is None:
        return f"ingen afgørelse med seq {p['decision']} for dette tilbud"
    if stmt.type == ev.DECISION_LIFTED:
        if d.status not in (legal.OPEN, legal.TAKEN):
            return f"afgørelsen (seq {d.seq}) er allerede {d.status}"
        return None
    if stmt.type == ev.DECISION_CONFIRMED:
        if d.status not in (legal.OPEN, legal.TAKEN):
            return f"afgørelsen (seq {d.seq}) er allerede {d.status}"
        if not basis_changes(state, d):
            return f"grundlaget for afgørelsen (seq {d.seq}) er ikke ændret; der er intet at genoptage"
        return None
    if d.status != legal.OPEN:
        return f"afgørelsen (seq {d.seq}) er {d.status}, ikke åben"
    if stmt.type == ev.DECISION_EXTENDED:
        current = state.frist(d)
        if current and p["deadline"] <= current:
            return f"den nye frist {p['deadline']} skal ligge efter den nuværende ({current})"
        if p["deadline"] < danish_day(stmt.occurred_at):
            return f"den nye frist {p['deadline']} ligger før i dag"
        return None
    # fulfilled
    if d.kind not in legal.FULFILLABLE_KINDS:
        return f"{with_article(d.kind)} efterkommes ikke; det ophæves (tilsyn decision lift)"
    for c in d.criteria:
        v = state.criterion_verdict(c)
        if v is None or v.verdict != "opfyldt" or v.seq < d.seq:
            return (f"afgørelsen (seq {d.seq}) kan først efterkommes, når en ny vurdering efter den viser kriterium "
                    f"{c} opfyldt" + (f" (seneste vurdering seq {v.seq}: {v.verdict})" if v else ""))
    return None


def answers_target(stmt, state, catalog):
    """Plan rows answer a påbud, a vilkår or an anbefaling."""
    answers = stmt.payload.get("answers") if stmt.type == ev.PLAN_ITEM_ADDED else \
        stmt.payload.get("changes", {}).get("answers")
    if answers is None:
        return None
    if any(a.seq == answers for a in state.live_anbefalinger()):
        return None
    d = state.decision(answers)
    if d is None:
        return f"planpunktet besvarer seq {answers}, som hverken er en afgørelse eller en anbefaling for dette tilbud"
    if d.kind not in legal.FULFILLABLE_KINDS:
        return f"seq {answers} er et {d.kind}; et planpunkt besvarer et påbud, et vilkår eller en anbefaling"
    return None


def anbefaling_valid(stmt, state, catalog):
    from tilsyn.standards.summary import quality_model_of

    model = quality_model_of(state, catalog)
    c = stmt.payload["criterion"]
    try:
        if model is not None:
            model.criterion(c)
    except (KeyError, AttributeError):
        return f"ukendt kvalitetskriterium {c!r} i {model.id}"
    return None


def lawful_course(stmt, state, catalog):
    """After this event, the live decisions must still make a lawful course (also after a correction)."""
    from tilsyn.standards.projection import EventView, apply, dump, load

    after = load(dump(state))
    apply(after, EventView(state.last_seq + 10**9, stmt.type, stmt.payload, stmt.actor, stmt.occurred_at,
                           stmt.occurred_at, state.stream_version + 1))
    errors = legal.course_errors(after.registered_status, after.live_decisions())
    if errors:
        return f"det ville efterlade et ulovligt forløb: {errors[0]}"
    return None


def basis_changes(state, d) -> list[tuple[int, int]]:
    """(withdrawn seq, correcting seq) for the facts a decision rests on that were corrected after it and
    not yet confirmed: the criterion verdicts, its varsel and the høringssvar."""
    rests_on = set(d.basis.values())
    if d.varsel is not None:
        rests_on.add(d.varsel)
        v = next((x for x in state.varsler if x.seq == d.varsel), None)
        if v is not None:
            rests_on.update(h.seq for h in v.svar if h.seq < d.seq)
    confirmed = max([c for c in d.confirmations if state.live(c)], default=0)
    return sorted((seq, by) for seq, by in state.withdrawn.items()
                  if seq in rests_on and by > d.seq and by > confirmed)


GUARDS = [
    GuardRule("tekst-ikke-blank", "Tekstfelter må ikke være tomme eller kun mellemrum.", text_not_blank),
    GuardRule("tidspunkt", "Tidspunkter giver mening: ikke i fremtiden (ud over en lille tolerance), ikke før "
              "tilbuddet blev registreret, et besøg afsluttes ikke før det begyndte.", time_sanity,
              with_settings=True),
    GuardRule("tidsfoelge", "En handling dateres ikke før det, den svarer på, afvejer eller følger op på: et "
              "høringssvar efter varslet, en afgørelse efter høringssvaret, en forlængelse efter afgørelsen.",
              time_order, (*_ACT_NAMES,)),
    GuardRule("tilbud-stamdata", "Et tilbud registreres som ansøger eller som godkendt med dato.", master_data,
              (ev.TILBUD_REGISTERED,)),
    GuardRule("observation-besoeg", "En observation hører til et påbegyndt, ikke afbrudt besøg, eller siger, at "
              "den er indsamlet efterfølgende til et navngivet besøg.", observation_visit, (ev.OBSERVATION,)),
    GuardRule("afgoerelse-art", "Afgørelsens art følger tilbuddets status (seed 002); uforenelige åbne afgørelser "
              "afvises.", decision_kind, _DECIDING),
    GuardRule("partshoering", "En bebyrdende afgørelse træffes efter varsel og høring, eller med begrundelse for "
              "at det haster.", partshoering, (ev.DECISION_ISSUED,)),
    GuardRule("afgoerelse-grundlag", "En afgørelse hviler på kendte kriterier, der er vurderet før den; et påbud "
              "har en rimelig frist.", decision_basis, _DECIDING, with_settings=True),
    GuardRule("afgoerelse-indhold", "En afgørelse siger sit indhold, sin hjemmel og sin begrundelse med de "
              "kriterier og markører, den hviler på, og giver klagevejledning.", decision_content, _DECIDING,
              with_settings=True),
    GuardRule("varsel-frist", "Et varsel har en høringsfrist efter varslet.", varsel_frist, (ev.VARSEL,)),
    GuardRule("hoeringssvar", "Et høringssvar svarer på et varsel, der endnu ikke er afgjort, og siger, om det er "
              "registreret på tilbuddets vegne.", hoering_valid, (ev.HOERINGSSVAR,), with_settings=True),
    GuardRule("afgoerelse-opfoelgning", "Kun en åben afgørelse forlænges eller efterkommes; efterkommet kræver en "
              "nyere vurdering med hvert kriterium opfyldt.", decision_followup,
              (ev.DECISION_LIFTED, ev.DECISION_FULFILLED, ev.DECISION_EXTENDED, ev.DECISION_CONFIRMED)),
    GuardRule("plan-besvarer", "Et planpunkt besvarer et påbud, et vilkår eller en anbefaling.", answers_target,
              (ev.PLAN_ITEM_ADDED, ev.PLAN_ITEM_REVISED)),
    GuardRule("anbefaling", "En anbefaling gælder et kendt kriterium.", anbefaling_valid, (ev.ANBEFALING,)),
    GuardRule("lovligt-forloeb", "Ingen hændelse efterlader to uforenelige åbne afgørelser eller en afgørelse, "
              "der ikke passer til tilbuddets status.", lawful_course,
              (ev.DECISION_ISSUED, ev.DECISION_LIFTED, ev.DECISION_FULFILLED, ev.CORRECTION)),
]


# -- findings ---------------------------------------------------------------------------------------
def overdue(state, catalog, settings):
    """A passed frist is serious whatever the plan says, until fulfilled, lifted or extended."""
    today = settings["today"]
    for d in state.open_decisions():
        frist = state.frist(d)
        if not frist or frist >= today:
            continue
        answering = [i for i in state.plan() if state.item_fields(i).get("answers") == d.seq]
        plan = (f"; {number_of(len(answering), 'planpunkt', 'planpunkter')} besvarer det, men kun tilsynet kan "
                f"forlænge fristen"
                if answering else "; intet planpunkt besvarer det")
        yield Finding("frist-overskredet", "alvorlig", f"afgørelse seq {d.seq}",
                      f"{d.kind} med frist {frist} er overskredet og hverken efterkommet, ophævet eller forlænget"
                      + plan, (d.seq, *(x.seq for x in d.extensions if state.live(x.seq))))


def plan_after_deadline(state, catalog, settings):
    for d in state.open_decisions():
        frist = state.frist(d)
        if not frist:
            continue
        for item in state.plan():
            fields = state.item_fields(item)
            slut = str(fields.get("slut", ""))
            if fields.get("answers") == d.seq and slut[:1].isdigit() and slut > frist:
                yield Finding("plan-slutter-efter-frist", "advarsel", f"planpunkt {item.item}",
                              f"planpunktet, der besvarer {d.kind} (seq {d.seq}), slutter {slut}, "
                              f"efter fristen {frist}", (d.seq, item.seq))


def without_hearing(state, catalog, settings):
    for d in state.live_decisions():
        if d.uden_partshoering:
            yield Finding("uden-partshoering", "advarsel", f"afgørelse seq {d.seq}",
                          f"{d.kind} er truffet uden partshøring: {d.uden_partshoering}", (d.seq,))


def genoptagelse(state, catalog, settings):
    for d in state.live_decisions():
        if d.status not in (legal.OPEN, legal.TAKEN):
            continue
        changes = basis_changes(state, d)
        if changes:
            what = ", ".join(f"seq {seq} (rettet ved seq {by})" for seq, by in changes)
            yield Finding("genoptagelse", "alvorlig", f"afgørelse seq {d.seq}",
                          f"grundlaget for {d.kind} er rettet eller trukket tilbage: {what}; tilsynslederen skal "
                          f"tage stilling til genoptagelse (fastholde, træffe ny afgørelse eller ophæve)",
                          (d.seq, *(s for pair in changes for s in pair)))


def unanswered_varsel(state, catalog, settings):
    today = settings["today"]
    for v in state.live_varsler():
        if state.decision_of_varsel(v.seq) is None and v.hoeringsfrist < today and not state.live_svar(v):
            yield Finding("varsel-uden-afgoerelse", "advarsel", f"varsel seq {v.seq}",
                          f"høringsfristen {v.hoeringsfrist} for det varslede {v.kind} er udløbet uden høringssvar; "
                          f"afgørelsen er endnu ikke truffet", (v.seq,))


FINDINGS = [
    FindingRule("frist-overskredet", "En afgørelse er over fristen uden at være efterkommet, ophævet eller forlænget.",
                overdue),
    FindingRule("plan-slutter-efter-frist", "Et planpunkt, der besvarer en afgørelse, slutter efter dens frist.",
                plan_after_deadline),
    FindingRule("uden-partshoering", "En afgørelse er truffet uden partshøring.", without_hearing),
    FindingRule("genoptagelse", "Grundlaget for en afgørelse er rettet; genoptagelse skal overvejes.", genoptagelse),
    FindingRule("varsel-uden-afgoerelse", "Et varsel er over høringsfristen uden svar og uden afgørelse.",
                unanswered_varsel),
]
