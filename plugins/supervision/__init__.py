"""Built-in plugin: the events of a supervision and the rules that hold for every standard.

Declares every domain event type with the roles that may sign it (*tilsynskonsulent* assesses,
*tilsynsleder* decides, *tilbudsleder* approves the follow-up plan), and the guards and findings that
are not tied to one standard: a tilbud must be registered, visits open before they close, a *påbud*
needs a deadline and a criterion that is *ikke opfyldt*, corrections point at real events; an open
påbud past its deadline is reported, and so is regional monitoring (trin 3, trin 4).
"""

from tilsyn.ledger import EventType
from tilsyn.plugins import hookimpl
from tilsyn.standards import events as ev

from . import legal_rules, regional_rules, rules

__version__ = "2.1.0"  # 2.0.0: the legal rules of issue 13; 2.1.0: observations need a visit, acts in time order

ASSESS = frozenset({"tilsynskonsulent"})
DECIDE = frozenset({"tilsynsleder"})
VISIT = frozenset({"tilsynskonsulent", "tilsynsleder"})
REGISTER = frozenset({"tilsynskonsulent", "tilsynsleder", "admin"})
PLAN = frozenset({"tilbudsleder", "tilsynskonsulent"})
APPROVE = frozenset({"tilbudsleder"})
REGIONAL = frozenset({"tilbudsleder", "tilsynskonsulent", "tilsynsleder"})
CORRECT = frozenset({"tilsynskonsulent", "tilsynsleder", "tilbudsleder"})

_ROLES = {
    ev.TILBUD_REGISTERED: REGISTER, ev.VISIT_STARTED: VISIT, ev.VISIT_COMPLETED: VISIT, ev.VISIT_ABORTED: VISIT,
    ev.OBSERVATION: ASSESS, ev.MARKER_ASSESSED: ASSESS, ev.CRITERION_ASSESSED: ASSESS, ev.RISK: ASSESS,
    ev.DECISION_ISSUED: DECIDE, ev.DECISION_LIFTED: DECIDE, ev.DECISION_FULFILLED: DECIDE,
    ev.PLAN_ITEM_ADDED: PLAN, ev.PLAN_ITEM_REVISED: PLAN, ev.PLAN_RESULT: PLAN, ev.PLAN_APPROVED: APPROVE,
    ev.INDIKATOR_CHECKED: REGIONAL, ev.MONITORING_COMPLETED: REGIONAL, ev.CORRECTION: CORRECT,
    ev.OEKONOMI_ASSESSED: ASSESS, ev.DESIGN_WIDENED: ASSESS,  # quality (issue 14)
    # legal (issue 13): the tilsynsleder gives varsel and owns the frist; the tilbud answers the varsel (or a
    # konsulent records the answer on its behalf); recommendations come from the tilsyn.
    ev.VARSEL: DECIDE, ev.HOERINGSSVAR: frozenset({"tilbudsleder", "tilsynskonsulent"}),
    ev.DECISION_EXTENDED: DECIDE, ev.DECISION_CONFIRMED: DECIDE, ev.ANBEFALING: VISIT,
}


@hookimpl
def tilsyn_event_types():
    """Every domain event type, its payload schema and who may sign it."""
    return [EventType(name, _ROLES[name], schema, (schema.__doc__ or "").strip().splitlines()[0])
            for name, schema in ev.PAYLOAD_TYPES.items()]


@hookimpl
def tilsyn_guards():
    return [*rules.GUARDS, *legal_rules.GUARDS, *regional_rules.GUARDS]


@hookimpl
def tilsyn_findings():
    return [*legal_rules.FINDINGS, *regional_rules.FINDINGS]


@hookimpl
def tilsyn_settings():
    """Legal settings: the klagevejledning text (the operator's, required), the hjemler file, the minimum
    frist in days, the clock tolerance for occurred times."""
    return [legal_rules.SETTINGS]
