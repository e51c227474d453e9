"""A realistic ledger built once per test session, and cheap copies of it on SQLite and PostgreSQL.

The base is the demo's supervision of Bostedet Lærkehøj (keys, a tilbud, visits, a personal-data
observation sealed for borger B-17, a lawful påbud course, a signed checkpoint), then, as a user types
them: a substitute's key registered, a role granted, the substitute's key revoked, another observation,
a second checkpoint, an authenticated projection snapshot of the tilbud, and two observations after
the last checkpoint (visit B4 stays in progress, so a user can observe more). So every kind of row exists: genesis, key registration, role grant, revocation,
domain event, personal-data event, StreamHeads, checkpoint, Merkle node, snapshot, subject key.

A :class:`Case` is a copy (the database and the key home with its trust secret, KEK and verified
state) that a test may damage as an insider would — with plain SQL, none of the private keys — and
then drive through the CLI entry point in-process, exactly as a user runs it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from tilsyn.cli.main import cli

AUTHORITY, SUPERVISOR, LEADER = "Socialtilsyn Øst", "Karen Holm", "Lone Dahl"
SUBSTITUTE = "Ole Vikar"
TILBUD, STREAM = "T-1001", "tilbud/T-1001"
TABLES = ("events", "merkle_nodes", "checkpoints", "subject_keys", "projection_snapshots")


@dataclass
class Result:
    """What one command did: exit code, both outputs, and an exception the CLI let escape (a bug)."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    escaped: BaseException | None

    def __str__(self) -> str:
        return f"tilsyn {' '.join(self.args)} → {self.exit_code}\n{self.stdout[-2000:]}\n{self.stderr[-2000:]}"


@dataclass
class Case:
    """One copy of the base ledger, in its own directory (the key home and the working directory)."""

    url: str
    dir: Path
    meta: dict = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.dir

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.url, poolclass=sa.pool.NullPool)

    def sql(self, statement: str, params: dict | None = None) -> list:
        """Run one statement as the insider does (plain SQL through the driver); rows if it returns any."""
        engine = self.engine()
        try:
            with engine.begin() as conn:
                result = conn.execute(sa.text(statement), params or {})
                return result.fetchall() if result.returns_rows else []
        finally:
            engine.dispose()

    def rows(self, table: str, order: str) -> list[tuple]:
        return [tuple(r) for r in self.sql(f"SELECT * FROM {table} ORDER BY {order}")]

    def tilsyn(self, *args: str, actor: str | None = None) -> Result:
        """``tilsyn --db URL [--as ACTOR] ARGS…`` in-process through the click entry point, from the case's
        directory (its tilsyn.toml), with the case's key home."""
        argv = ["--db", self.url, *(["--as", actor] if actor else []), *args]
        env = {"TILSYN_HOME": str(self.home), "TILSYN_DB": None, "TILSYN_ACTOR": None, "TILSYN_PASSPHRASE": None,
               "TILSYN_KEK": None, "TILSYN_KEK_FILE": None, "TILSYN_DEBUG": None}
        cwd = os.getcwd()
        os.chdir(self.dir)
        try:
            r = CliRunner().invoke(cli, argv, env=env, catch_exceptions=True)
        finally:
            os.chdir(cwd)
        escaped = r.exception if r.exception is not None and not isinstance(r.exception, SystemExit) else None
        return Result(tuple(args), r.exit_code, r.stdout, r.stderr, escaped)


class Base:
    """The base ledger (SQLite, in ``dir``) and how to copy it."""

    def __init__(self, dir: Path):
        self.dir = dir
        self.db = dir / "tilsyn.db"
        self._n = 0

    @classmethod
    def build(cls, dir: Path) -> "Base":
        from tilsyn.cli.demo import run_demo

        from tilsyn.ledger import Ledger
        from tilsyn.ledger.personal import load_kek
        from tilsyn.plugins.manager import default_plugins, read_settings
        from tilsyn.standards.service import Supervision

        with contextlib.redirect_stdout(open(os.devnull, "w")):
            report = run_demo(dir)
        assert report.ok, report.problems
        base = cls(dir)
        case = Case(f"sqlite:///{base.db}", dir)
        steps = [
            (AUTHORITY, "keys", "add", SUBSTITUTE, "--role", "tilsynskonsulent"),
            (AUTHORITY, "keys", "grant", SUPERVISOR, "--role", "tilsynsleder"),
            (AUTHORITY, "keys", "revoke", SUBSTITUTE, "--reason", "Vikariatet er ophørt"),
            (SUPERVISOR, "visit", "start", TILBUD, "--visit", "B4", "--kind", "anmeldt"),  # left in progress
            (SUPERVISOR, "observe", TILBUD, "2.3.2", "--source", "ledelse", "--method", "interview",
             "--text", "Ledelsen viser den reviderede procedure for indberetning."),
            (AUTHORITY, "checkpoint", "--no-witness"),
        ]
        for actor, *args in steps:
            r = case.tilsyn(*args, actor=actor)
            assert r.exit_code == 0 and r.escaped is None, str(r)
        # An authenticated snapshot of the tilbud, as a long stream gets one (SNAPSHOT_EVERY events).
        plugins = default_plugins(read_settings(dir / "tilsyn.toml"))
        with Ledger.open(str(base.db), plugins.policy(), kek=load_kek(dir), trust_home=dir) as ledger:
            sup = Supervision(ledger, plugins)
            sup.snapshots.save(STREAM, sup.state(TILBUD, use_snapshots=False))
        for text in ("Borgerne har fået nøgler til egne skabe.", "Fællesarealet står åbent om aftenen."):
            r = case.tilsyn("observe", TILBUD, "2.3.1", "--source", "borger", "--method", "interview",
                            "--text", text, actor=SUPERVISOR)
            assert r.exit_code == 0 and r.escaped is None, str(r)
        with contextlib.closing(sqlite3.connect(base.db)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return base

    def _copy_home(self, dest: Path) -> None:
        shutil.copytree(self.dir, dest, ignore=shutil.ignore_patterns("tilsyn.db*", "verified", ".tilsyn-demo"))

    def copy_sqlite(self, parent: Path) -> Case:
        """A copy on SQLite (a file next to its own key home); no verified state yet."""
        self._n += 1
        dest = parent / f"case-{self._n}-{uuid.uuid4().hex[:6]}"
        self._copy_home(dest)
        with contextlib.closing(sqlite3.connect(self.db)) as src, contextlib.closing(sqlite3.connect(dest / "tilsyn.db")) as dst:
            src.backup(dst)
        return Case(f"sqlite:///{dest / 'tilsyn.db'}", dest)

    def copy_postgres(self, parent: Path, url: str) -> Case:
        """A copy in the (empty) PostgreSQL database or schema at ``url``; no verified state yet."""
        from tilsyn.ledger import personal  # noqa: F401 - subject_keys joins the kernel's metadata
        from tilsyn.ledger.store import Store
        from tilsyn.standards import snapshots

        self._n += 1
        dest = parent / f"case-{self._n}-{uuid.uuid4().hex[:6]}"
        self._copy_home(dest)
        store = Store.connect(url)
        store.create_schema()
        snapshots.metadata.create_all(store.engine)
        store.dispose()
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with contextlib.closing(sqlite3.connect(self.db)) as src, engine.begin() as conn:
                for name in TABLES:
                    table = sa.Table(name, sa.MetaData(), autoload_with=conn)
                    cur = src.execute(f"SELECT * FROM {name}")
                    cols = [d[0] for d in cur.description]
                    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
                    if rows:
                        conn.execute(table.insert(), rows)
                conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('checkpoints', 'id'), "
                                     "(SELECT max(id) FROM checkpoints))"))
        finally:
            engine.dispose()
        return Case(url, dest)
