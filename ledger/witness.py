"""A C2SP tlog-witness: cosign a log's checkpoints only if they extend what it cosigned before.

The witness keeps, per log origin, the latest checkpoint it cosigned. ``add-checkpoint`` takes an old
size, a consistency proof from that size and a new checkpoint; the witness checks, in the order the spec
gives its status codes,

* 400 — the body is malformed, or the old size exceeds the checkpoint's size;
* 404 — the origin is not a log it witnesses;
* 403 — no valid signature from a trusted key of that log (or a bad one from such a key);
* 409 — the old size is not the size it last cosigned (the body then says that size);
* 422 — the proof is not a valid consistency proof between the two roots (or a size-0 tree has the
  wrong root, or an empty-tree proof is not empty);

and otherwise writes the new state to disk — atomically, under a lock held from the check of the old size
to the rename, so two requests cannot roll each other back — before it answers 200 with its
``cosignature/v1`` line. A validly signed checkpoint that fails the consistency checks is kept under
``evidence/``: it is the log's own signed proof of a fork.

This module is the protocol without HTTP; :mod:`witness_server` puts it on Starlette.

Directory layout: ``witness.key`` (PKCS#8 PEM, mode 0600), ``witness.vkey`` (name and public key),
``logs`` (tlog-policy ``log <vkey>`` lines: the logs it witnesses), ``state/<sha256(origin)>`` (the latest
cosigned checkpoint note, log signatures and our cosignature included), ``evidence/``.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .checkpoint import CheckpointError, _split_note, open_note, parse_checkpoint
from .cosignature import cosign, cosigner_vkey, find_cosignature, parse_cosigner_vkey
from .merkle import EMPTY_ROOT, verify_consistency
from .tlog_policy import PolicyError, parse_policy

__all__ = ["Answer", "Witness", "WitnessError", "init_witness", "parse_request", "request_body"]

SIZE_CONTENT_TYPE = "text/x.tlog.size"
MAX_PROOF_LINES = 63
MAX_BODY = 64 * 1024  # a checkpoint with signatures and 63 proof lines is a few kB
_OLD = re.compile(r"old (0|[1-9][0-9]*)")


class WitnessError(Exception):
    """The witness directory is missing or broken."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, body text and content type."""

    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


def request_body(old_size: int, proof: list[bytes], note: str) -> bytes:
    """The add-checkpoint request body: ``old N``, one base64 hash a line, a blank line, the note."""
    lines = [f"old {old_size}"] + [base64.b64encode(h).decode("ascii") for h in proof]
    return ("".join(line + "\n" for line in lines) + "\n" + note).encode("utf-8")


def parse_request(body: bytes) -> tuple[int, list[bytes], str]:
    """Split an add-checkpoint body into (old size, proof hashes, note); ``ValueError`` if malformed."""
    if len(body) > MAX_BODY:
        raise ValueError("request body too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("request body is not UTF-8") from None
    end = text.find("\n")
    if end < 0 or not _OLD.fullmatch(text[:end]):
        raise ValueError("the first line must be 'old <size>' (ASCII decimal, no leading zeros)")
    old = int(text[4:end])
    pos, proof = end + 1, []
    while True:
        nl = text.find("\n", pos)
        if nl < 0:
            raise ValueError("no blank line before the checkpoint")
        line = text[pos:nl]
        pos = nl + 1
        if line == "":
            break
        if len(proof) == MAX_PROOF_LINES:
            raise ValueError(f"more than {MAX_PROOF_LINES} consistency proof lines")
        try:
            raw = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("a proof line is not base64") from None
        if len(raw) != 32 or base64.b64encode(raw).decode("ascii") != line:
            raise ValueError("a proof line is not one canonical base64 SHA-256 hash")
        proof.append(raw)
    return old, proof, text[pos:]


def origin_hash(origin: str) -> str:
    """The monitoring path element: lowercase hex SHA-256 of the origin."""
    return hashlib.sha256(origin.encode("utf-8")).hexdigest()


def _write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` so that ``path`` holds the old or the new bytes, never a mix, even after a crash."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)  # the rename itself must survive a power cut
    finally:
        os.close(dfd)


def init_witness(directory: str | os.PathLike, name: str, logs: list[str] = ()) -> "Witness":
    """Create a witness directory with a fresh Ed25519 key named ``name`` trusting the ``logs`` vkeys."""
    d = Path(directory)
    if (d / "witness.key").exists():
        raise WitnessError(f"{d} already holds a witness key; refusing to overwrite it")
    from .checkpoint import _check_key_name

    try:
        _check_key_name(name)
    except CheckpointError as e:
        raise WitnessError(f"witness name: {e}") from None
    text = "".join(f"log {v}\n" for v in logs)
    try:
        parse_policy(text, require_quorum=False)
    except PolicyError as e:
        raise WitnessError(f"log key: {e}") from None
    d.mkdir(parents=True, exist_ok=True)
    (d / "state").mkdir(exist_ok=True)
    (d / "evidence").mkdir(exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    _write_atomic(d / "witness.key", pem, 0o600)
    _write_atomic(d / "witness.vkey", (cosigner_vkey(name, key.public_key().public_bytes_raw()) + "\n").encode())
    _write_atomic(d / "logs", ("# logs this witness cosigns: tlog-policy 'log <vkey>' lines\n" + text).encode())
    return Witness(d)


class Witness:
    """A witness backed by a directory (see the module docstring)."""

    def __init__(self, directory: str | os.PathLike):
        self.dir = Path(directory)
        try:
            pem = (self.dir / "witness.key").read_bytes()
            self.vkey = (self.dir / "witness.vkey").read_text(encoding="utf-8").strip()
            self.name, pub = parse_cosigner_vkey(self.vkey)
            key = serialization.load_pem_private_key(pem, password=None)
        except FileNotFoundError as e:
            raise WitnessError(f"{self.dir} is not a witness directory ({e.filename} missing; 'tilsyn witness init')") from None
        except (ValueError, TypeError, CheckpointError) as e:
            raise WitnessError(f"{self.dir}: broken witness key: {e}") from None
        if not isinstance(key, Ed25519PrivateKey) or key.public_key().public_bytes_raw() != pub:
            raise WitnessError(f"{self.dir}: witness.key does not match witness.vkey")
        self._key = key
        self.public_key = pub
        self._lock = threading.Lock()
        self.reload_logs()

    def reload_logs(self) -> None:
        try:
            self._logs_mtime = (self.dir / "logs").stat().st_mtime_ns
        except FileNotFoundError:
            self._logs_mtime = None
        try:
            policy = parse_policy((self.dir / "logs").read_bytes(), require_quorum=False)
        except FileNotFoundError:
            policy = parse_policy(b"", require_quorum=False)
        except PolicyError as e:
            raise WitnessError(f"{self.dir / 'logs'}: {e}") from None
        self.logs = policy.logs

    def trust(self, vkey: str) -> None:
        """Add a log key to the logs this witness cosigns."""
        path = self.dir / "logs"
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        new = text + ("" if text.endswith("\n") or not text else "\n") + f"log {vkey}\n"
        try:
            parse_policy(new, require_quorum=False)
        except PolicyError as e:
            raise WitnessError(str(e)) from None
        _write_atomic(path, new.encode("utf-8"))
        self.reload_logs()

    # -- state ---------------------------------------------------------------------------------
    def _state_path(self, origin: str) -> Path:
        return self.dir / "state" / origin_hash(origin)

    def latest(self, origin: str) -> str | None:
        """The latest cosigned checkpoint note for ``origin`` (with our cosignature), or ``None``."""
        try:
            return self._state_path(origin).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def latest_by_hash(self, hexhash: str) -> str | None:
        if not re.fullmatch(r"[0-9a-f]{64}", hexhash):
            return None
        try:
            return (self.dir / "state" / hexhash).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def _stored_head(self, origin: str) -> tuple[int, bytes]:
        note = self.latest(origin)
        if note is None:
            return 0, EMPTY_ROOT
        # Our own state, but still bytes on a disk: it must carry our valid cosignature.
        try:
            cp = parse_checkpoint(_split_note(note)[0])
            if find_cosignature(note, self.name, self.public_key) is None:
                raise CheckpointError("no cosignature of ours")
        except CheckpointError as e:
            raise WitnessError(f"stored state for {origin!r} is damaged: {e}") from None
        return cp.size, cp.root

    # -- the protocol --------------------------------------------------------------------------
    def add_checkpoint(self, body: bytes) -> Answer:
        """Handle one add-checkpoint request body; never raises on bad input."""
        try:
            old, proof, note = parse_request(body)
            text, _ = _split_note(note)
            cp = parse_checkpoint(text)
        except (ValueError, CheckpointError) as e:
            return Answer(400, f"malformed request: {e}\n")
        try:  # 'tilsyn witness trust' may have added a log while we serve
            if (self.dir / "logs").stat().st_mtime_ns != self._logs_mtime:
                self.reload_logs()
        except (FileNotFoundError, WitnessError):
            pass
        keys = [log for log in self.logs if log.name == cp.origin or _note_name(cp.origin) == log.name]
        if not keys:
            return Answer(404, "unknown log origin\n")
        verified = False
        for log in keys:
            try:
                open_note(note, log.name, log.public_key)
                verified = True
            except CheckpointError as e:
                if "no signature from key" in str(e):
                    continue
                return Answer(403, f"bad signature from a trusted log key: {e}\n")
        if not verified:
            return Answer(403, "no signature from a trusted key of this log\n")
        if old > cp.size:
            return Answer(400, f"old size {old} is larger than the checkpoint size {cp.size}\n")
        with self._lock, open(self.dir / "state" / ".lock", "a+b") as lockfile:
            fcntl.flock(lockfile, fcntl.LOCK_EX)  # also against another process on this directory
            try:
                stored_size, stored_root = self._stored_head(cp.origin)
            except WitnessError as e:
                return Answer(500, f"{e}\n")
            if old != stored_size:
                return Answer(409, f"{stored_size}\n", SIZE_CONTENT_TYPE)
            problem = None
            if cp.size == 0 and cp.root != EMPTY_ROOT:
                problem = "a tree of size 0 must have the empty root"
            elif old == 0 and proof:
                problem = "the consistency proof from size 0 must be empty"
            elif old == cp.size and (cp.root != stored_root or proof):
                problem = f"same size {old} but a different root (or a non-empty proof)"
            elif 0 < old < cp.size and not verify_consistency(old, cp.size, proof, stored_root, cp.root):
                problem = f"the consistency proof from size {old} does not verify"
            if problem:
                self._keep_evidence(note, old, proof, problem)
                return Answer(422, problem + "\n")
            stamp = int(time.time())
            line = cosign(text, self.name, self._key, stamp)
            _write_atomic(self._state_path(cp.origin), (note + line).encode("utf-8"))
        return Answer(200, line)

    def _keep_evidence(self, note: str, old: int, proof: list[bytes], problem: str) -> None:
        data = f"# refused: {problem}\n".encode() + request_body(old, proof, note)
        name = hashlib.sha256(data).hexdigest()[:32]
        try:
            _write_atomic(self.dir / "evidence" / name, data)
        except OSError:
            pass  # keeping evidence MAY be done; refusing to cosign MUST


def _note_name(origin: str) -> str:
    return "".join("_" if ch.isspace() or ch == "+" else ch for ch in origin)
