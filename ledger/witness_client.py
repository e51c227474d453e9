"""The log's side of C2SP tlog-witness: submit a checkpoint with a consistency proof, keep the cosignature.

For each witness the client starts from the largest size that witness cosigned for us before (or 0), and
on ``409 Conflict`` retries from the size the witness says it holds — after checking that size is not
beyond our checkpoint (a witness that has seen more than we now show has seen a ledger we no longer have).
The answer's signature lines are verified with the witness key from the policy; lines from other keys are
ignored, and only a verified cosignature is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from .checkpoint import CheckpointError
from .cosignature import find_cosignature
from .tlog_policy import PolicyWitness
from .witness import SIZE_CONTENT_TYPE, request_body

if TYPE_CHECKING:
    from .checkpoints import StoredCheckpoint
    from .ledger import Ledger

__all__ = ["WitnessOutcome", "submit", "witness_checkpoint"]

_MAX_TRIES = 3


@dataclass
class WitnessOutcome:
    """What one witness answered."""

    witness: PolicyWitness
    ok: bool
    line: str | None = None
    timestamp: int | None = None
    status: int | None = None
    message: str = ""
    fork: bool = False  # the witness holds a view of the ledger this checkpoint does not extend

    def to_dict(self) -> dict:
        return {"witness": self.witness.name, "url": self.witness.url, "ok": self.ok, "timestamp": self.timestamp,
                "status": self.status, "message": self.message, "fork": self.fork}


def _printable(text: str, limit: int = 200) -> str:
    return re.sub(r"[^\x20-\x7e\u00a0-\uffff]", "?", text.strip())[:limit]


def submit(client, witness: PolicyWitness, note: str, size: int, start_old: int,
           proof_for: Callable[[int], list[bytes]]) -> WitnessOutcome:
    """POST ``note`` (a checkpoint of ``size``) to ``witness.url`` + ``/add-checkpoint``; verify the answer."""
    import httpx

    url = witness.url.rstrip("/") + "/add-checkpoint"
    old = start_old
    for _ in range(_MAX_TRIES):
        try:
            proof = proof_for(old) if 0 < old < size else []
            response = client.post(url, content=request_body(old, proof, note),
                                   headers={"Content-Type": "text/plain; charset=utf-8"})
        except httpx.HTTPError as e:
            return WitnessOutcome(witness, False, message=f"cannot reach {witness.url}: {e}")
        status = response.status_code
        if status == 409:
            text = response.text
            ctype = response.headers.get("content-type", "").split(";")[0].strip()
            m = re.fullmatch(r"(0|[1-9][0-9]*)\n", text)
            if ctype != SIZE_CONTENT_TYPE or not m:
                return WitnessOutcome(witness, False, status=status, message="409 without a valid size body")
            theirs = int(m.group(1))
            if theirs > size:
                return WitnessOutcome(witness, False, status=status, fork=True,
                                      message=f"the witness has cosigned size {theirs}, more than this checkpoint's "
                                              f"{size}: it has seen a ledger this one does not extend (truncated or forked)")
            if theirs == old:
                return WitnessOutcome(witness, False, status=status, message=f"409 for size {old} it reports itself")
            old = theirs
            continue
        if status == 200:
            try:
                ts = find_cosignature(note + response.text, witness.key_name, witness.public_key)
            except CheckpointError as e:
                return WitnessOutcome(witness, False, status=status, message=f"answer does not verify: {e}")
            if ts is None or ts == 0:
                return WitnessOutcome(witness, False, status=status,
                                      message="answer carries no timestamped cosignature by the policy's key")
            line = next(ln + "\n" for ln in response.text.splitlines()
                        if _verifies(note, ln + "\n", witness))
            return WitnessOutcome(witness, True, line=line, timestamp=ts, status=status)
        fork = status == 422 and old > 0
        message = f"HTTP {status}: {_printable(response.text)}"
        if fork:
            message += (f" — the witness holds a checkpoint of size {old} that this one does not extend: "
                        "the ledger was rewritten (fork)")
        return WitnessOutcome(witness, False, status=status, message=message, fork=fork)
    return WitnessOutcome(witness, False, message="the witness kept answering 409")


def _verifies(note: str, line: str, witness: PolicyWitness) -> bool:
    try:
        return find_cosignature(note + line, witness.key_name, witness.public_key) is not None
    except CheckpointError:
        return False


def witness_checkpoint(ledger: "Ledger", cp: "StoredCheckpoint", witnesses: list[PolicyWitness],
                       timeout: float = 10.0) -> list[WitnessOutcome]:
    """Submit ``cp`` to every witness that has not cosigned it yet; store each verified cosignature."""
    import httpx

    from .witnessing import stored_lines, store_cosignature, witness_sizes

    have = {r.witness_vkey for r in stored_lines(ledger, cp.id)}
    sizes = witness_sizes(ledger)
    outcomes = []
    with httpx.Client(timeout=timeout) as client:
        for w in witnesses:
            if w.vkey in have:
                outcomes.append(WitnessOutcome(w, True, message="already cosigned"))
                continue
            start = min(sizes.get(w.vkey, 0), cp.size)
            outcome = submit(client, w, cp.note, cp.size, start,
                             lambda old: ledger.tree.consistency_proof(old, cp.size))
            if outcome.ok and outcome.line:
                store_cosignature(ledger, cp, w.vkey, outcome.line)
            outcomes.append(outcome)
    return outcomes
