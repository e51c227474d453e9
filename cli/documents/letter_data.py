"""A letter as plain data: a varsel (partshøring before a decision) or an afgørelse, to the tilbud.

The authority is the sender, the tilbud the recipient. The afgørelse states its indhold, frist,
begrundelse with the criteria and markers it rests on (as they stood when it was made), hjemmel, how the
høringssvar was weighed and the klagevejledning; the varsel what is intended, why, and the høringsfrist.
Legal texts are shown as they were recorded with the act; where one is missing the letter says so.
"""

from __future__ import annotations

from typing import Any

from tilsyn.ledger.errors import ValidationError

from .report_data import MASTER_LABELS, _decision, _notice, _version, collect_basis
from .verification import verify_stream


def collect(app, tilbud: str, seq: int) -> dict[str, Any]:
    """The letter for the act at ``seq`` of ``tilbud``, verified first."""
    sup = app.supervision(reading=True)
    state = sup.state(tilbud)
    verification = verify_stream(sup, tilbud, until_seq=state.last_seq)
    s = sup.summary(state)
    decision = next((d for d in s["decisions"] if d["seq"] == seq), None)
    legal = s.get("legal") or {}
    notices = {v["seq"]: v for v in legal.get("varsler") or []}
    notices.update({d["varsel"]["seq"]: d["varsel"] for d in s["decisions"] if d.get("varsel")})
    notice = notices.get(seq)
    if decision is None and notice is None:
        acts = sorted({*(d["seq"] for d in s["decisions"]), *notices})
        raise ValidationError(f"seq {seq} is not a varsel or a decision of tilbud {tilbud!r}"
                              + (f" (those are: {', '.join(map(str, acts))})" if acts else " (it has none)"))
    then = sup.summary(sup.state(tilbud, as_of=seq))  # the criteria and markers as they stood then
    signed = next(sup.ledger.read(stream=f"tilbud/{tilbud}", after_seq=seq - 1, until_seq=seq), None)
    info = sup.ledger.key_info(signed.statement.key_id) if signed is not None else None
    # The signer's title under the signature: the role their key held when they signed (tilsynsleder).
    signer_roles = sorted(info.roles_at(seq) & {"tilsynsleder", "tilsynskonsulent"}) if info else []
    act = _decision(decision, then, state) if decision is not None else _notice(notice, then)
    master = legal.get("master") or {}
    return {
        "kind": "afgørelse" if decision is not None else "varsel", "act": act,
        "basis": collect_basis(then, act.get("criteria") or []),
        "authority": sup.ledger.authority or "Socialtilsynet",
        "tilbud": {"id": s["tilbud"], "name": s["name"], "type": s["tilbud_type"], "address": master.get("adresse"),
                   "info": {MASTER_LABELS.get(k, k): v for k, v in master.items()}},
        "verification": verification.to_dict(), "version": _version(),
        "generated_at": verification.checked_at, "seq": seq, "authority_address": None,
        "signer_title": ", ".join(signer_roles).capitalize() or None,
    }
