"""The legal life of a tilbud: its status, the decisions it may receive, and which may stand together.

Seed 002: «Er der ikke den fornødne kvalitet i tilbuddet, skal socialtilsynet træffe afgørelse om enten:
1. Afslag på godkendelse eller godkendelse med vilkår 2. Påbud, skærpet tilsyn, skærpet tilsyn med påbud
eller ophør af godkendelsen» — the first for a new application (*ansøger*), the second for an approved
tilbud. A plain *godkendelse* is the favourable decision for an applicant. The status (*ansøger*,
*godkendt*, *godkendt med vilkår*, *afslået*, *ophørt*) is never stored: it is folded from the live
decisions, so a correction of a decision changes it the same way a replay does.

Everything here is pure: the guards, the findings and the lifecycle property test use the same functions.
"""

from __future__ import annotations

from typing import Iterable, Protocol

ANSOEGER, GODKENDT, VILKAAR, AFSLAAET, OPHOERT = "ansøger", "godkendt", "godkendt med vilkår", "afslået", "ophørt"
STATUSES = (ANSOEGER, GODKENDT, VILKAAR, AFSLAAET, OPHOERT)

PAABUD, SKAERPET, SKAERPET_PAABUD = "påbud", "skærpet tilsyn", "skærpet tilsyn med påbud"
GODKENDELSE, MED_VILKAAR, AFSLAG, OPHOER = "godkendelse", "godkendelse med vilkår", "afslag", "ophør af godkendelsen"

NEW_KINDS = (GODKENDELSE, MED_VILKAAR, AFSLAG)
"""Decisions on an application (seed 002, 1.; a plain godkendelse when the quality is there)."""
APPROVED_KINDS = (PAABUD, SKAERPET, SKAERPET_PAABUD, OPHOER)
"""Decisions for an approved tilbud (seed 002, 2.)."""
KINDS_FOR_STATUS = {ANSOEGER: NEW_KINDS, GODKENDT: APPROVED_KINDS, VILKAAR: APPROVED_KINDS, AFSLAAET: (), OPHOERT: ()}

FINAL_KINDS = (GODKENDELSE, AFSLAG, OPHOER)
"""Decisions that only change the status: nothing to follow up, so they are *truffet*, never *åben*."""
ORDER_KINDS = (PAABUD, SKAERPET_PAABUD)
"""Decisions that order the tilbud to do something by a frist."""
FULFILLABLE_KINDS = (PAABUD, SKAERPET_PAABUD, MED_VILKAAR)
"""Decisions the tilbud answers by doing something: they end *efterkommet* (a skærpet tilsyn is lifted)."""
FAVOURABLE_KINDS = (GODKENDELSE,)
"""The only decision that goes wholly the tilbud's way: every other one is *bebyrdende* and needs partshøring."""
SUPERVISION_KINDS = (SKAERPET, SKAERPET_PAABUD)

OPEN, TAKEN, LIFTED, FULFILLED = "åben", "truffet", "ophævet", "efterkommet"


class DecisionLike(Protocol):
    seq: int
    kind: str
    criteria: list[str]
    status: str


def initial_status(kind: str) -> str:
    """The status a decision leaves behind when issued (before it is closed)."""
    return TAKEN if kind in FINAL_KINDS else OPEN


def status_after(initial: str, decisions: Iterable[DecisionLike]) -> str:
    """The tilbud's status after its live ``decisions`` (in seq order), starting from ``initial``."""
    status = initial
    for d in decisions:
        if d.status == LIFTED and d.kind != MED_VILKAAR:
            continue  # a lifted decision has no effect (a lifted vilkår leaves the approval standing)
        if d.kind == GODKENDELSE:
            status = GODKENDT
        elif d.kind == MED_VILKAAR:
            status = VILKAAR if d.status == OPEN else GODKENDT
        elif d.kind == AFSLAG:
            status = AFSLAAET
        elif d.kind == OPHOER:
            status = OPHOERT
    return status


def conflict(a: DecisionLike, b: DecisionLike) -> str | None:
    """Why two open decisions cannot stand together (None: they can)."""
    if a.kind in ORDER_KINDS and b.kind in ORDER_KINDS:
        shared = sorted(set(a.criteria) & set(b.criteria))
        if shared:
            return (f"{b.kind} (seq {b.seq}) pålægger allerede det samme for kriterium {', '.join(shared)}; "
                    f"forlæng eller ophæv det i stedet")
    if a.kind in SUPERVISION_KINDS and b.kind in SUPERVISION_KINDS:
        return f"tilbuddet er allerede under {b.kind} (seq {b.seq})"
    if a.kind == MED_VILKAAR and b.kind == MED_VILKAAR:
        return f"der står allerede en godkendelse med vilkår åben (seq {b.seq})"
    return None


def refusal(kind: str, criteria: list[str], status: str, open_decisions: list[DecisionLike]) -> str | None:
    """Why a new decision of ``kind`` may not be issued now (None: it may)."""
    allowed = KINDS_FOR_STATUS[status]
    if kind not in allowed:
        if not allowed:
            return f"tilbuddet er {status}; der kan ikke træffes flere afgørelser (ophæv først den afgørelse, der gjorde det {status})"
        what = "en ansøger" if status == ANSOEGER else f"et {status} tilbud"  # «et godkendt tilbud»
        return f"{kind} er ikke en afgørelse for {what} (seed 002: {', '.join(allowed)})"
    if kind in (OPHOER, AFSLAG) and open_decisions:
        seqs = ", ".join(f"{d.kind} seq {d.seq}" for d in open_decisions)
        return f"{kind} kræver, at de åbne afgørelser først afsluttes eller ophæves ({seqs})"

    class _New:
        seq, status = 0, OPEN

    new = _New()
    new.kind, new.criteria = kind, list(criteria)
    for d in open_decisions:
        reason = conflict(new, d)
        if reason:
            return reason
    return None


def course_errors(initial: str, decisions: list[DecisionLike]) -> list[str]:
    """What is unlawful about a tilbud's live decisions as they now stand (empty: a lawful course).

    Each decision's kind must fit the status the earlier ones left; no two open decisions may conflict;
    nothing may stand open once the tilbud is afslået or ophørt.
    """
    errors = []
    status = initial
    for i, d in enumerate(decisions):
        if d.kind not in KINDS_FOR_STATUS[status]:
            errors.append(f"{d.kind} (seq {d.seq}) er ikke en afgørelse for et tilbud med status {status}")
        status = status_after(status, [d])
    open_ = [d for d in decisions if d.status == OPEN]
    for i, a in enumerate(open_):
        for b in open_[:i]:
            reason = conflict(a, b)
            if reason:
                errors.append(f"{a.kind} (seq {a.seq}): {reason}")
    if status in (AFSLAAET, OPHOERT) and open_:
        errors.append(f"tilbuddet er {status}, men {', '.join(f'seq {d.seq}' for d in open_)} står åben")
    return errors
