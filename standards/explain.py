"""Explain a decision: the tree from a påbud down to the observations it rests on.

decision ← the criterion verdicts in force when it was made ← the marker verdicts under each criterion
← the observations of each marker (source, method). Every node carries its seq, type, actor and the
role their key held at that position, when it happened and when the ledger recorded it, the standard
and plugin versions in force, whether its signature verifies over the stored bytes, and whether its
inclusion proof checks against the latest signed checkpoint. After the tree: what came later and
changed the picture — corrections of any node, newer verdicts, plan rows answering the decision, the
decision lifted or fulfilled.

The tree is built from the state *as of the decision's seq*: what the decider had before them.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from tilsyn.ledger import ValidationError, keys
from tilsyn.ledger.checkpoints import check_latest_checkpoint, verified_proofs
from tilsyn.ledger.envelope import leaf_hash
from tilsyn.ledger.merkle import verify_inclusion

from . import events as ev
from .projection import TilbudState


class _Checker:
    """Signature and inclusion checks for events of one stream, against the latest checkpoint."""

    def __init__(self, sup, tilbud: str):
        self.sup = sup
        self.ledger = sup.ledger
        self.events = {e.seq: e for e in self.ledger.read(stream=ev.tilbud_stream(tilbud))}
        self.keys = {kid: self.ledger.key_info(kid) for kid in {e.statement.key_id for e in self.events.values()}}
        self.checkpoint, self.checkpoint_problem = check_latest_checkpoint(self.ledger)
        self.checkpoint_ok = self.checkpoint is not None and self.checkpoint_problem is None

    @cached_property
    def proofs(self) -> dict[int, list[bytes]]:
        """The inclusion proof of every event the checkpoint covers, built when a node first asks; each is
        checked against the signed root (a bad cache is rebuilt from the records, see verified_proofs)."""
        covered = [seq for seq in self.events if seq <= self.checkpoint.size] if self.checkpoint_ok else []
        if not covered:
            return {}
        return verified_proofs(self.ledger, self.checkpoint, {seq: self.events[seq].leaf_hash for seq in covered})

    def node(self, seq: int, kind: str, **extra: Any) -> dict[str, Any]:
        e = self.events.get(seq)
        if e is None:
            return {"seq": seq, "kind": kind, "missing": True, **extra}
        info = self.keys.get(e.statement.key_id)
        signature_ok = info is not None and keys.verify(info.public_key, e.signature, e.statement_bytes)
        inclusion: bool | None = None
        if self.checkpoint_ok and seq <= self.checkpoint.size:
            proof = self.proofs[seq]
            # The leaf is hashed afresh from the stored record bytes: the leaf_hash column is only a copy.
            inclusion = verify_inclusion(leaf_hash(e.record_bytes), seq - 1, self.checkpoint.size, proof,
                                         self.checkpoint.root)
        payload = e.payload
        return {
            "seq": seq, "kind": kind, "type": e.type, "actor": e.actor,
            "roles": sorted(info.roles_at(seq)) if info else [], "key_id": e.statement.key_id,
            "key_valid": bool(info and info.valid_at(seq)),
            "occurred_at": e.occurred_at, "recorded_at": e.recorded_at,
            "standard": (f"{payload['standard']}@{payload['standard_version']}" if "standard" in payload else None),
            "signature_ok": signature_ok, "inclusion_ok": inclusion, **extra,
        }


def _current_before(history, state: TilbudState, seq: int):
    for a in reversed(history):
        if a.seq < seq and state.live(a.seq):
            return a
    return None


def explain(sup, tilbud: str, decision_seq: int | None = None, as_of: str | int | None = None) -> dict[str, Any]:
    """The derivation of a decision as a JSON-ready tree (the most recent decision if no seq is given)."""
    now = sup.state(tilbud, as_of=as_of)
    decisions = now.live_decisions()
    if not decisions:
        raise ValidationError(f"tilbud {tilbud!r} has no decision" + (f" as of {as_of}" if as_of else ""))
    if decision_seq is None:
        decision = decisions[-1]
    else:
        decision = next((d for d in decisions if d.seq == decision_seq), None)
        if decision is None:
            raise ValidationError(f"seq {decision_seq} is not a decision of tilbud {tilbud!r} "
                                  f"(decisions: {', '.join(str(d.seq) for d in decisions)})")
    then = sup.state(tilbud, as_of=decision.seq)
    model = sup.catalog.get(decision.standard, decision.standard_version)
    check = _Checker(sup, tilbud)

    def reveal(fact, field):
        return sup.reveal(tilbud, fact, field)

    criteria = []
    tree_seqs = {decision.seq}
    for cid in decision.criteria:
        verdict = _current_before(then.criteria.get(cid, []), then, decision.seq)
        criterion = model.criterion(cid)
        markers = []
        for marker in criterion.markers:
            mv = _current_before(then.markers.get(marker.id, []), then, decision.seq)
            observations = [check.node(o.seq, "observation", marker=marker.id, source=o.source, method=o.method,
                                       element=o.element, text=reveal(o, "text"))
                            for o in then.live_observations(marker.id) if o.seq < decision.seq]
            tree_seqs.update(o["seq"] for o in observations)
            if mv is not None:
                tree_seqs.add(mv.seq)
                node = check.node(mv.seq, "marker", marker=marker.id, title=marker.title, verdict=mv.verdict,
                                  reason=reveal(mv, "reason"))
            else:
                node = {"kind": "marker", "marker": marker.id, "title": marker.title, "verdict": None}
            node["observations"] = observations
            markers.append(node)
        if verdict is not None:
            tree_seqs.add(verdict.seq)
            cnode = check.node(verdict.seq, "criterion", criterion=cid, title=criterion.title,
                               verdict=verdict.verdict, reason=reveal(verdict, "reason"))
        else:
            cnode = {"kind": "criterion", "criterion": cid, "title": criterion.title, "verdict": None}
        cnode["markers"] = markers
        criteria.append(cnode)
    root = check.node(decision.seq, "decision", decision=decision.kind, criteria_ids=decision.criteria,
                      deadline=decision.deadline, reason=decision.reason, rule_versions=decision.rule_versions,
                      status=decision.status)
    root["criteria"] = criteria
    _legal_nodes(root, decision, then, check, tree_seqs)
    return {
        "tilbud": tilbud, "as_of_seq": now.last_seq, "decision": root,
        "later": _later(sup, tilbud, now, decision, tree_seqs, check),
        "checkpoint": ({"id": check.checkpoint.id, "size": check.checkpoint.size,
                        "root": check.checkpoint.root.hex(), "signature_ok": check.checkpoint_ok,
                        "problem": check.checkpoint_problem, "note": check.checkpoint.note}
                       if check.checkpoint else {"problem": check.checkpoint_problem}),
        # Nodes without a seq are verdicts that were never given (a marker not assessed).
        "all_signatures_ok": all(n.get("signature_ok") for n in nodes(root) if "seq" in n),
        "all_included": all(n.get("inclusion_ok") for n in nodes(root) if "seq" in n),
        # A proof that fails (False) means tampering; one not yet covered by a checkpoint is None.
        "proof_failures": [n["seq"] for n in nodes(root) if n.get("inclusion_ok") is False],
    }


def nodes(node: dict) -> Any:
    """Every node of an explain tree, depth first."""
    yield node
    if isinstance(node.get("varsel"), dict):
        yield from nodes(node["varsel"])
    for key in ("criteria", "markers", "observations", "svar"):
        for child in node.get(key, []):
            yield from nodes(child)


def _legal_nodes(root: dict, decision, then: TilbudState, check, tree_seqs: set[int]) -> None:
    """Legal (issue 13): what the decision said, and the varsel and høringssvar it was made on."""
    root.update(indhold=decision.indhold, hjemmel=decision.hjemmel, klagevejledning=decision.klagevejledning,
                uden_partshoering=decision.uden_partshoering, hoering_afvejning=decision.hoering_afvejning,
                frist_begrundelse=decision.frist_begrundelse, varsel=None)
    v = then.varsel(decision.varsel) if decision.varsel is not None else None
    if v is None:
        return
    vnode = check.node(v.seq, "varsel", decision=v.kind, criteria_ids=v.criteria, indhold=v.indhold,
                       hjemmel=v.hjemmel, reason=v.reason, hoeringsfrist=v.hoeringsfrist, deadline=v.deadline)
    vnode["svar"] = [check.node(h.seq, "høringssvar", text=h.text, on_behalf=h.on_behalf)
                     for h in then.live_svar(v) if h.seq < decision.seq]
    tree_seqs.add(v.seq)
    tree_seqs.update(h["seq"] for h in vnode["svar"])
    root["varsel"] = vnode


def _later(sup, tilbud, now: TilbudState, decision, tree_seqs: set[int], check: _Checker) -> list[dict[str, Any]]:
    """Events after the decision that change the picture it was drawn from."""
    out = []
    for c in now.corrections:
        if c.corrects in tree_seqs and c.seq > decision.seq:
            out.append(check.node(c.seq, "correction", corrects=c.corrects, reason=c.reason, replaced=c.replaced))
    for cid in decision.criteria:
        for a in now.criteria.get(cid, []):
            if a.seq > decision.seq and now.live(a.seq):
                out.append(check.node(a.seq, "newer criterion verdict", criterion=cid, verdict=a.verdict))
        for marker in sup.catalog.get(decision.standard, decision.standard_version).criterion(cid).markers:
            for a in now.markers.get(marker.id, []):
                if a.seq > decision.seq and now.live(a.seq):
                    out.append(check.node(a.seq, "newer marker verdict", marker=marker.id, verdict=a.verdict))
    for item in now.plan():
        if now.item_fields(item).get("answers") == decision.seq:
            out.append(check.node(item.seq, "plan row answering it", item=item.item,
                                  approved=now.item_approved(item)))
            for r in item.revisions:
                out.append(check.node(r.seq, "plan row revised", item=item.item, changes=r.changes, reason=r.reason,
                                      live=now.live(r.seq)))
    current = now.decision(decision.seq)
    if current is not None and current.closed_seq:
        out.append(check.node(current.closed_seq, f"decision {current.status}", reason=current.closed_reason))
    for node in out:
        node["label"], node["detail"] = _in_danish(node)
    return sorted(out, key=lambda n: n["seq"])


_COLUMNS = {"tema": "TEMA", "emne": "EMNE", "maal": "MÅL", "hvad": "HVAD?", "hvordan": "HVORDAN?",
            "start": "HVORNÅR? (start)", "slut": "HVORNÅR? (slut)", "dokumentation": "DOKUMENTATION",
            "hvem": "HVEM?", "priority": "prioritet", "answers": "besvarer seq", "criterion": "kriterium",
            "anbefaling": "anbefaling", "regional": "regional standard"}


def _in_danish(node: dict[str, Any]) -> tuple[str, str]:
    """A later node's kind and details as a Dane reads them (``kind`` stays the stable JSON key)."""
    kind = node["kind"]
    if kind == "correction":
        what = "erstattet" if node.get("replaced") else "trukket tilbage"
        return "rettelse", f"seq {node['corrects']} {what}: «{node.get('reason', '')}»"
    if kind == "newer criterion verdict":
        return "nyere kriterievurdering", f"kriterium {node['criterion']}: {node['verdict']}"
    if kind == "newer marker verdict":
        return "nyere markørvurdering", f"markør {node['marker']}: {node['verdict']}"
    if kind == "plan row answering it":
        approved = "godkendt af tilbudslederen" if node.get("approved") else "ikke godkendt af tilbudslederen"
        return "planpunkt, der besvarer afgørelsen", f"planpunkt {node['item']}, {approved}"
    if kind == "plan row revised":
        changes = "; ".join(f"{_COLUMNS.get(k, k)} → {v}" for k, v in node.get("changes", {}).items())
        state = "" if node.get("live", True) else " (siden rettet)"
        return "planpunkt konsekvensrettet", f"planpunkt {node['item']}: {changes}{state}; begrundelse: «{node.get('reason', '')}»"
    if kind.startswith("decision "):
        return f"afgørelsen {kind.split(' ', 1)[1]}", f"«{node.get('reason') or ''}»"
    return kind, ""
