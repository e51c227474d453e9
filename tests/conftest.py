"""Shared fixtures: one store test suite runs on SQLite and on the real PostgreSQL server.

PostgreSQL is reached at ``$TILSYN_TEST_PG`` (default ``postgresql+psycopg://127.0.0.1:5432/test``); each
test gets a schema of its own. Without a server the PostgreSQL cases skip with the reason shown —
except under ``CI=true``, where a missing server fails the run.
"""

from __future__ import annotations

import os
import uuid

import msgspec
import pytest
import sqlalchemy as sa

from tilsyn.ledger import EventType, KeyStore, Ledger, Policy

PG_URL = os.environ.get("TILSYN_TEST_PG", "postgresql+psycopg://127.0.0.1:5432/test")


def _pg_available() -> str | None:
    try:
        engine = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
        with engine.connect() as c:
            c.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as e:  # any failure to connect is the reason to show
        return f"PostgreSQL not reachable at {PG_URL}: {type(e).__name__}: {str(e).splitlines()[0]}"


_PG_REASON: list[str | None] = []


def pg_reason() -> str | None:
    if not _PG_REASON:
        _PG_REASON.append(_pg_available())
    return _PG_REASON[0]


def require_pg() -> None:
    reason = pg_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def pg_url():
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    url, drop = new_pg_schema()
    yield url
    drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """The same test on both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tilsyn.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="session", autouse=True)
def no_test_uses_the_real_key_home(tmp_path_factory):
    """Point ``$TILSYN_HOME`` at a scratch directory for the whole run, so that a test (or a command it
    runs) that names no key home never reads or writes the user's ``~/.tilsyn`` — its keys, trust secret
    and verified states. Tests that give ``--home``/``TILSYN_HOME`` themselves still use theirs."""
    saved = os.environ.get("TILSYN_HOME")
    os.environ["TILSYN_HOME"] = str(tmp_path_factory.mktemp("default-home"))
    yield
    if saved is None:
        os.environ.pop("TILSYN_HOME", None)
    else:
        os.environ["TILSYN_HOME"] = saved


@pytest.fixture(scope="session")
def tamper_base(tmp_path_factory):
    """The realistic base ledger of :mod:`tests.ledger_copies`, built once per session."""
    from tests.ledger_copies import Base

    return Base.build(tmp_path_factory.mktemp("tamper-base") / "base")


def new_pg_schema() -> tuple[str, "callable"]:
    """A fresh PostgreSQL schema: its URL and a function that drops it."""
    require_pg()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    with engine.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with engine.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

    return f"{PG_URL}?options=-csearch_path%3D{schema}", drop


@pytest.fixture
def keystore(tmp_path) -> KeyStore:
    return KeyStore(tmp_path / "home")


class Note(msgspec.Struct, forbid_unknown_fields=True):
    """A minimal payload for kernel tests: the kernel knows no domain."""

    text: str
    n: int = 0


def make_policy() -> Policy:
    policy = Policy()
    policy.register(EventType("test.Note/1", frozenset({"tilsynskonsulent", "admin"}), Note))
    policy.register(EventType("test.Decision/1", frozenset({"tilsynsleder"}), Note))
    return policy


@pytest.fixture
def policy() -> Policy:
    return make_policy()


@pytest.fixture
def ledger(db_url, keystore, policy):
    """A new ledger with an authority and a supervisor (Karen, tilsynskonsulent)."""
    ledger, authority = Ledger.init(db_url, "Socialtilsyn Øst", keystore, policy=policy)
    ledger.register_key(authority, "Karen", ["tilsynskonsulent"], keystore)
    ledger.authority_signer = authority
    ledger.log = ledger.log_signer(keystore)  # the ledger's own log key: it signs checkpoints
    yield ledger
    ledger.close()
