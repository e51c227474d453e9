"""Witnessed checkpoints: the witnesses' cosignatures the ledger keeps, and the checks ``verify`` makes.

A checkpoint's note (``checkpoints.note``) is never changed once stored. The cosignatures witnesses
return (C2SP tlog-witness ``add-checkpoint``) are kept beside it in their own append-only table, one
signature line per row; :func:`cosigned_note` joins them back into one C2SP signed note — what a
bundle, a receipt or a monitor is given. Nothing stored is trusted: every line is re-verified against the
note whenever it is read, and a line that does not verify is reported, never passed on.

Signed time: every checkpoint note carries, besides the log key's plain signature, the log key's own
``cosignature/v1`` line (see :mod:`cosignature`), whose timestamp is when the ledger signed it.
:func:`verify_witnessing` checks those times (present, not before the events they cover were recorded,
never decreasing), every stored cosignature, and — given a :class:`~tlog_policy.TlogPolicy` — that the
latest checkpoint is cosigned by a quorum of its witnesses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import timefmt
from .checkpoint import CheckpointError, open_note, parse_checkpoint, verifier_key
from .cosignature import cosign, find_cosignature
from .envelope import decode_record
from .store import events
from .tlog_policy import NoteCheck, TlogPolicy, check_note

if TYPE_CHECKING:
    from .checkpoints import StoredCheckpoint
    from .ledger import Ledger
    from .verify import Report

__all__ = ["cosigned_note", "log_timestamp_line", "log_vkey", "store_cosignature", "verify_witnessing"]

_meta = sa.MetaData()
cosignatures = sa.Table(
    "checkpoint_cosignatures", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("checkpoint_id", sa.Integer, nullable=False, index=True),
    sa.Column("witness_vkey", sa.Text, nullable=False),
    sa.Column("line", sa.Text, nullable=False),
    sa.Column("received_at", sa.String(32), nullable=False),
)


def log_timestamp_line(body: str, key_name: str, private_key, timestamp: int | None = None) -> str:
    """The log key's ``cosignature/v1`` line over ``body``: the checkpoint's signed time (now by default)."""
    return cosign(body, key_name, private_key, int(time.time()) if timestamp is None else timestamp)


def log_keys(ledger: "Ledger") -> list[bytes]:
    """Every public key the ledger's log signs (or signed) checkpoints with, the current one last
    (the genesis ``log_key``, then each ``keys rotate-ledger``)."""
    return [k.public_key for k in ledger.log_keys()]


def open_log_note(ledger: "Ledger", note: str) -> tuple[str, bytes]:
    """The note's text and the log key that signed it; :class:`CheckpointError` unless it verifies under
    the log key valid at the checkpoint's size (a retired log key is refused for later checkpoints)."""
    from .checkpoints import note_key_name

    size = checkpoint_of(note).size
    info = ledger.log_key_at(max(size, 1))
    if info is None:
        raise CheckpointError(f"the ledger has no log key valid at size {size}")
    return open_note(note, note_key_name(ledger.origin), info.public_key), info.public_key


def log_vkey(ledger: "Ledger") -> str:
    """The C2SP verifier key of the ledger's current log key (what ``tilsyn checkpoint --vkey`` prints)."""
    from .checkpoints import note_key_name

    return verifier_key(note_key_name(ledger.origin), log_keys(ledger)[-1])


def effective_policy(ledger: "Ledger", policy: TlogPolicy) -> TlogPolicy:
    """``policy``, with this ledger's log keys as its logs if it lists none (a policy may leave them implicit)."""
    from .checkpoints import note_key_name
    from .tlog_policy import PolicyLog

    if policy.logs:
        return policy
    name = note_key_name(ledger.origin)
    return TlogPolicy(logs=[PolicyLog(verifier_key(name, pub), name, pub) for pub in log_keys(ledger)],
                      witnesses=policy.witnesses, groups=policy.groups, quorum=policy.quorum, text=policy.text)


def _ensure_table(ledger: "Ledger") -> None:
    cosignatures.create(ledger.store.engine, checkfirst=True)


def _has_table(ledger: "Ledger") -> bool:
    return sa.inspect(ledger.store.engine).has_table("checkpoint_cosignatures")


def store_cosignature(ledger: "Ledger", cp: "StoredCheckpoint", witness_vkey: str, line: str) -> None:
    """Keep one witness cosignature line for checkpoint ``cp`` (the caller has verified it)."""
    _ensure_table(ledger)
    with ledger.store.writing() as conn:
        conn.execute(cosignatures.insert().values(checkpoint_id=cp.id, witness_vkey=witness_vkey, line=line,
                                                  received_at=timefmt.now()))


def stored_lines(ledger: "Ledger", checkpoint_id: int | None = None) -> list[Any]:
    """Stored cosignature rows (all, or of one checkpoint), oldest first. Untrusted until re-verified."""
    if not _has_table(ledger):
        return []
    q = sa.select(cosignatures).order_by(cosignatures.c.id)
    if checkpoint_id is not None:
        q = q.where(cosignatures.c.checkpoint_id == checkpoint_id)
    with ledger.store.reading() as conn:
        return list(conn.execute(q))


def _verified_lines(note: str, rows) -> tuple[list[str], list[str]]:
    """Split stored rows into lines that verify on ``note`` and complaints about those that do not."""
    from .cosignature import parse_cosigner_vkey

    good, bad = [], []
    for r in rows:
        try:
            name, pub = parse_cosigner_vkey(r.witness_vkey)
            ts = find_cosignature(note + r.line, name, pub)
        except CheckpointError as e:
            bad.append(f"stored cosignature #{r.id} does not verify: {e}")
            continue
        if ts is None:
            bad.append(f"stored cosignature #{r.id} is not a signature by {r.witness_vkey}")
        elif r.line not in good:
            good.append(r.line)
    return good, bad


def cosigned_note(ledger: "Ledger", cp: "StoredCheckpoint") -> str:
    """The checkpoint's note with every stored witness cosignature that verifies appended."""
    good, _ = _verified_lines(cp.note, stored_lines(ledger, cp.id))
    return cp.note + "".join(good)


def witness_sizes(ledger: "Ledger") -> dict[str, int]:
    """For each witness key (vkey), the largest checkpoint size it has cosigned for us (by stored rows)."""
    from .checkpoints import list_checkpoints

    sizes = {cp.id: cp.size for cp in list_checkpoints(ledger)}
    out: dict[str, int] = {}
    for r in stored_lines(ledger):
        out[r.witness_vkey] = max(out.get(r.witness_vkey, 0), sizes.get(r.checkpoint_id, 0))
    return out


# -- verification ------------------------------------------------------------------------------
@dataclass
class WitnessReport:
    """What :func:`verify_witnessing` found. ``problems`` are (seq, message) pairs."""

    times: dict[int, int] = field(default_factory=dict)  # checkpoint id -> signed time (POSIX seconds)
    cosignatures: int = 0
    quorum: NoteCheck | None = None
    policy_set: bool = False
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "signed_times": {str(k): v for k, v in self.times.items()},
                "cosignatures": self.cosignatures, "policy": self.policy_set,
                "quorum": self.quorum.to_dict() if self.quorum else None,
                "problems": [{"seq": s, "message": m} for s, m in self.problems]}


def _recorded_at(conn, seq: int) -> int | None:
    row = conn.execute(sa.select(events.c.record).where(events.c.seq == seq)).first()
    if row is None:
        return None
    try:
        text = decode_record(bytes(row.record)).recorded_at
        return int(timefmt.parse_time(text).astimezone(timezone.utc).timestamp())
    except Exception:  # a damaged record is verify_ledger's to report; here it only has no time
        return None


def verify_witnessing(ledger: "Ledger", policy: TlogPolicy | None = None) -> WitnessReport:
    """Check signed times and cosignatures of every checkpoint, and the quorum if a policy is given."""
    from .checkpoints import list_checkpoints, note_key_name

    report = WitnessReport(policy_set=policy is not None)
    cps = list_checkpoints(ledger)
    try:
        keys = log_keys(ledger)
    except Exception as e:  # no readable genesis: verify_ledger reports the cause
        report.problems.append((getattr(e, "seq", 1), f"cannot check checkpoint times: {getattr(e, 'reason', e)}"))
        return report
    name = note_key_name(ledger.origin)
    last_time, count = None, ledger.count()
    with ledger.store.reading() as conn:
        for cp in cps:
            seq = max(min(cp.size, count), 1)
            where = f"checkpoint #{cp.id} (size {cp.size})"
            try:
                _, pub = open_log_note(ledger, cp.note)
                ts = find_cosignature(cp.note, name, pub)
            except CheckpointError:
                continue  # verify_checkpoints reports a note that does not verify
            if ts is None:
                report.problems.append((seq, f"{where} carries no signed time (no cosignature/v1 line by the log key)"))
                continue
            report.times[cp.id] = ts
            if last_time is not None and ts < last_time:
                report.problems.append((seq, f"{where} was signed at {ts}, before the previous checkpoint ({last_time}): "
                                             "its signed time goes backwards"))
            last_time = ts
            if 0 < cp.size <= count:
                recorded = _recorded_at(conn, cp.size)
                if recorded is not None and ts < recorded:
                    report.problems.append((cp.size, f"{where} claims to be signed at {ts}, before its last event was "
                                                     f"recorded ({recorded}): back-dated"))
    for cp in cps:
        rows = stored_lines(ledger, cp.id)
        good, bad = _verified_lines(cp.note, rows)
        report.cosignatures += len(good)
        for message in bad:
            report.problems.append((max(min(cp.size, count), 1), f"checkpoint #{cp.id}: {message}"))
    if policy is not None:
        mine = [log for log in policy.logs if log.public_key in keys]
        if policy.logs and not mine:
            report.problems.append((1, "the witness policy does not list this ledger's log key "
                                       f"({verifier_key(name, keys[-1])})"))
        elif not cps:
            if policy.quorum != "none":
                report.problems.append((1, "the witness policy demands a quorum but there is no checkpoint yet"))
        else:
            latest = cps[-1]
            report.quorum = check_note(cosigned_note(ledger, latest), effective_policy(ledger, policy))
            if not report.quorum.ok:
                report.problems.append((max(min(latest.size, count), 1),
                                        f"latest checkpoint #{latest.id} (size {latest.size}): {report.quorum.reason}"))
    return report


def merge_into(report: "Report", witness_report: WitnessReport) -> None:
    """Add witnessing problems to a kernel report, so ``ok`` covers them."""
    from .verify import Problem

    for seq, message in witness_report.problems:
        report.problems.append(Problem(seq, message))
    if "witnesses" not in report.checked:
        report.checked.append("witnesses")


def latest_time(ledger: "Ledger", cp: "StoredCheckpoint") -> int | None:
    """The signed time of ``cp`` if its log cosignature verifies, else ``None``."""
    from .checkpoints import note_key_name

    try:
        _, pub = open_log_note(ledger, cp.note)
        return find_cosignature(cp.note, note_key_name(ledger.origin), pub)
    except CheckpointError:
        return None


def checkpoint_of(note: str):
    """The checkpoint body parsed from a note's text (no signature check)."""
    from .checkpoint import _split_note

    return parse_checkpoint(_split_note(note)[0])
