"""Every failure is one line ``tilsyn: error: …`` on stderr, exit 2 (1 for failed verification), no
traceback, and the ledger exactly as it was — tried the way a careless user or an attacker would."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from tilsyn.cli.main import cli

SUPERVISOR = "Karen Holm"


@pytest.fixture(scope="module")
def demo_master(tmp_path_factory):
    from tilsyn.cli.demo import run_demo

    directory = tmp_path_factory.mktemp("demo-master") / "demo"
    directory.mkdir()
    assert run_demo(directory).ok
    return directory


@pytest.fixture
def demo(demo_master, tmp_path, monkeypatch):
    """A private copy of the demo ledger and key home; the working directory is an empty folder."""
    copy = tmp_path / "demo"
    shutil.copytree(demo_master, copy)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return copy


def env_for(directory: Path, **extra) -> dict:
    return {"TILSYN_DB": str(directory / "tilsyn.db"), "TILSYN_HOME": str(directory), "TILSYN_ACTOR": None,
            "TILSYN_PASSPHRASE": None, "TILSYN_KEK": None, "TILSYN_KEK_FILE": None, **extra}


def run(directory: Path, *args: str, **env):
    return CliRunner().invoke(cli, list(args), env=env_for(directory, **env))


def dump(db: Path) -> list[str]:
    """Every row of every table, as SQL text: the ledger's whole content to compare before/after."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def assert_one_error(result, code: int = 2, *, says: str | None = None, foreseen: bool = True) -> str:
    """Exactly one stderr line starting ``tilsyn: error:``, the exit code, no traceback anywhere."""
    err = result.stderr
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tilsyn: error: "), err
    if foreseen:
        assert_foreseen(result)
    if says is not None:
        assert says.lower() in lines[0].lower(), lines[0]
    return lines[0]


def assert_foreseen(result) -> None:
    """Not the safety net's 'this is a bug' line: the case was foreseen and explained."""
    assert "this is a bug" not in result.output, result.output


OBSERVE = ("--as", SUPERVISOR, "observe", "T-1001", "2.3.1", "--source", "borger", "--method", "interview",
           "--visit", "B3", "--efterfoelgende", "--text", "Borgeren fortæller om aftenen.")  # after the demo's visit


# -- input that no ledger can use -------------------------------------------------------------------
def test_an_absurd_as_of_seq(demo):
    before = dump(demo / "tilsyn.db")
    assert_one_error(run(demo, "--as", SUPERVISOR, "status", "T-1001", "--as-of", "99999999999999999999"),
                     says="--as-of")
    assert dump(demo / "tilsyn.db") == before


@pytest.mark.parametrize("where", ["tilbud", "text", "actor", "option-value"])
def test_invalid_utf8_in_an_argument(demo, where):
    bad = b"T-\xff\xfe".decode("utf-8", "surrogateescape")  # what Python makes of undecodable argv bytes
    args = list(OBSERVE)
    if where == "tilbud":
        args[3] = bad
    elif where == "text":
        args[-1] = bad
    elif where == "actor":
        args[1] = bad
    else:
        args[7] = bad
    before = dump(demo / "tilsyn.db")
    line = assert_one_error(run(demo, *args), says="not valid UTF-8")
    assert "\\xff" in line
    assert dump(demo / "tilsyn.db") == before


def test_invalid_utf8_in_an_environment_variable(demo):
    bad = b"Karen \xff".decode("utf-8", "surrogateescape")
    before = dump(demo / "tilsyn.db")
    assert_one_error(run(demo, *OBSERVE[2:], TILSYN_ACTOR=bad), says="$TILSYN_ACTOR is not valid UTF-8")
    assert dump(demo / "tilsyn.db") == before


def test_invalid_utf8_bytes_on_a_real_command_line(demo):
    """The real entry point, real bytes in argv (no test runner in between)."""
    exe = Path(sys.executable).with_name("tilsyn")
    env = {**os.environ, **{k: v for k, v in env_for(demo).items() if v is not None}}
    env.pop("TILSYN_ACTOR", None)
    result = subprocess.run([str(exe), b"--as", SUPERVISOR.encode(), b"status", b"T-\xff"], env=env,
                            capture_output=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == ["tilsyn: error: argument 4 is not valid UTF-8: T-\\xff "
                                                   "(see 'tilsyn --help')"]


@pytest.mark.parametrize("command", ["status", "observe", "verify", "init"])
def test_db_at_a_text_file_or_a_directory(demo, tmp_path, command):
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    args = {"status": ("--as", SUPERVISOR, "status", "T-1001"), "observe": OBSERVE, "verify": ("verify",),
            "init": ("init", "--authority", "Socialtilsyn Syd")}[command]
    for target in (text, folder):
        result = CliRunner().invoke(cli, ["--db", str(target), *args], env=env_for(demo))
        assert_one_error(result)
    assert text.read_text() == "not a database\n"
    assert list(folder.iterdir()) == []


def test_export_into_a_missing_directory_signs_nothing(demo, tmp_path):
    from tilsyn.cli.demo import SUPERVISOR as KAREN

    # An event after the demo's checkpoint: an export would have to sign a new checkpoint.
    assert run(demo, *OBSERVE).exit_code == 0
    before = dump(demo / "tilsyn.db")
    result = run(demo, "--as", "Socialtilsyn Øst", "export", "T-1001", "--out", str(tmp_path / "nowhere" / "b.json"))
    assert_one_error(result, says="does not exist")
    assert dump(demo / "tilsyn.db") == before
    assert KAREN == SUPERVISOR


@pytest.mark.parametrize("content, names", [
    ("[setings]\n\"kvalitetsmodel.triangulering_min_kilder\" = 3\n", "'setings'"),
    ("[settings]\n\"kvalitetsmodel.triangulering_min_kilde\" = 3\n", "'kvalitetsmodel.triangulering_min_kilde'"),
    ("[settings]\n\"kvalitetsmodel.triangulering_min_kilder\" = \"3\"\n", "must be a whole number"),
    ("[settings]\n\"kvalitetsmodel.triangulering_min_kilder\" = 2.5\n", "must be a whole number"),
    ("[settings]\n\"kvalitetsmodel.triangulering_min_kilder\" = true\n", "must be a whole number"),
    ("settings = 3\n", "settings"),
    ("[witness]\npolcy = \"p.txt\"\n", "'polcy'"),
    ("[witness]\npolicy = 3\n", "witness.policy"),
    ("[settings\n", "not valid TOML"),
])
@pytest.mark.parametrize("command", [("--as", SUPERVISOR, "status", "T-1001"), ("keys", "list"), OBSERVE])
def test_tilsyn_toml_is_read_strictly(demo, content, names, command):
    Path("tilsyn.toml").write_text(content, encoding="utf-8")
    before = dump(demo / "tilsyn.db")
    line = assert_one_error(run(demo, *command), says=names)
    assert "tilsyn.toml" in line
    assert dump(demo / "tilsyn.db") == before


def test_a_correct_tilsyn_toml_is_accepted(demo):
    Path("tilsyn.toml").write_text("[settings]\n\"kvalitetsmodel.triangulering_min_kilder\" = 3\n", encoding="utf-8")
    assert run(demo, "--as", SUPERVISOR, "status", "T-1001").exit_code == 0


def test_an_unreadable_kek_file(demo, tmp_path):
    before = dump(demo / "tilsyn.db")
    folder = tmp_path / "kek-is-a-folder"
    folder.mkdir()
    for args in (("--as", SUPERVISOR, "history", "T-1001"), OBSERVE):
        assert_one_error(run(demo, *args, TILSYN_KEK_FILE=str(folder)), says="key-encryption key")
    binary = tmp_path / "kek.bin"
    binary.write_bytes(b"\xff\xfe\x00")
    assert_one_error(run(demo, *OBSERVE, TILSYN_KEK_FILE=str(binary)), says="key-encryption key")
    if os.geteuid() != 0:  # root reads any file; the folder above stands in for it there
        kek = demo / "tilsyn.kek"
        kek.chmod(0)
        assert_one_error(run(demo, *OBSERVE), says="Permission denied")
    assert dump(demo / "tilsyn.db") == before


def _as_nobody(fn) -> tuple[int, str]:
    """Run ``fn()`` (a CliRunner result factory) in a child process that dropped root, so that file
    permissions apply; returns (exit code, stderr)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(r)
            os.setgid(65534)
            os.setuid(65534)
            result = fn()
            os.write(w, f"{result.exit_code}\n{result.stderr}".encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.waitpid(pid, 0)
    code, _, err = data.decode().partition("\n")
    return int(code), err


def test_a_read_only_ledger_file_on_a_write(demo):
    shared = Path(tempfile.mkdtemp(prefix="tilsyn-ro-", dir="/tmp"))
    try:
        shared.chmod(0o755)
        copy = shared / "demo"
        shutil.copytree(demo, copy)
        for p in [copy, *copy.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        db = copy / "tilsyn.db"
        before = dump(db)
        # Read once as we are: every module a write needs is imported before permissions bite.
        assert run(copy, "--as", SUPERVISOR, "status", "T-1001").exit_code == 0
        if os.geteuid() == 0:
            db.chmod(0o444)
            (copy / "keys").chmod(0o755)
            for p in (copy / "keys").iterdir():
                p.chmod(0o644)  # nobody must be able to read the signing key; only the ledger is read-only
            (copy / "tilsyn.kek").chmod(0o644)
            copy.chmod(0o555)
            code, err = _as_nobody(lambda: run(copy, *OBSERVE))
        else:
            db.chmod(0o444)
            copy.chmod(0o555)
            result = run(copy, *OBSERVE)
            code, err = result.exit_code, result.stderr
        assert code == 2, err
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("tilsyn: error:") and "read-only" in lines[0], err
        assert dump(db) == before
        # …and a read-only ledger can still be read and verified.
        if os.geteuid() == 0:
            code, err = _as_nobody(lambda: run(copy, "verify"))
            assert code == 0, err
    finally:
        for p in [shared, *shared.rglob("*")]:
            try:
                p.chmod(0o755 if p.is_dir() else 0o644)
            except OSError:
                pass
        shutil.rmtree(shared, ignore_errors=True)


def test_a_write_lock_held_past_the_busy_timeout(demo):
    db = demo / "tilsyn.db"
    before = dump(db)
    holder = sqlite3.connect(db, isolation_level=None, timeout=0)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        result = run(demo, *OBSERVE, TILSYN_BUSY_TIMEOUT="0.2")
        assert_one_error(result, says="locked")
        assert "database is locked" not in result.stdout
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert dump(db) == before


def test_a_bad_busy_timeout(demo):
    assert_one_error(run(demo, *OBSERVE, TILSYN_BUSY_TIMEOUT="soon"), says="TILSYN_BUSY_TIMEOUT")


def test_concurrent_init_on_postgresql(pg_url, tmp_path):
    """Several `tilsyn init` processes at once on one empty database: exactly one ledger, every other
    one refused in one line, no traceback."""
    exe = Path(sys.executable).with_name("tilsyn")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILSYN_")}
    procs = [subprocess.Popen([str(exe), "--db", pg_url, "--home", str(tmp_path / f"home{i}"), "init",
                               "--authority", f"Socialtilsyn {i}"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(4)]
    outcomes = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert [code for code, _, _ in outcomes].count(0) == 1, outcomes
    for code, out, err in outcomes:
        assert "Traceback" not in out + err
        if code != 0:
            assert code == 2 and len(err.splitlines()) == 1 and err.startswith("tilsyn: error: "), err
    verify = CliRunner().invoke(cli, ["--db", pg_url, "verify"])
    assert verify.exit_code == 0, verify.output


def test_init_refuses_a_database_that_holds_other_tables(tmp_path):
    db = tmp_path / "someone-elses.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount TEXT)")
    conn.execute("INSERT INTO invoices (amount) VALUES ('100 kr')")
    conn.commit()
    conn.close()
    before = dump(db)
    result = CliRunner().invoke(cli, ["--db", str(db), "--home", str(tmp_path / "home"), "init",
                                      "--authority", "Socialtilsyn Øst"])
    assert_one_error(result, says="other tables (invoices)")
    assert dump(db) == before
    assert not (tmp_path / "home" / "keys").exists() or not list((tmp_path / "home" / "keys").iterdir())


def test_init_refuses_a_postgresql_schema_that_holds_other_tables(pg_url, tmp_path):
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    with engine.begin() as c:
        c.execute(sa.text("CREATE TABLE invoices (id serial PRIMARY KEY)"))
    engine.dispose()
    result = CliRunner().invoke(cli, ["--db", pg_url, "--home", str(tmp_path / "h"), "init", "--authority", "X"])
    assert_one_error(result, says="other tables")


# -- click's own errors -------------------------------------------------------------------------------
@pytest.mark.parametrize("args, says", [
    (["frobnicate"], "No such command 'frobnicate'. (see 'tilsyn --help')"),
    (["observe", "T-1001"], "(see 'tilsyn observe --help')"),
    (["assess", "marker", "T-1001", "2.3.1", "måske", "--reason", "x"], "(see 'tilsyn assess marker --help')"),
    (["keys", "add", "Eve", "--role", "kejser"], "(see 'tilsyn keys add --help')"),
    (["status", "T-1001", "--no-such-option"], "No such option"),
    (["--no-such-global"], "(see 'tilsyn --help')"),
    (["decision", "lift", "T-1001", "nine", "--reason", "x"], "is not a valid integer"),
])
def test_click_usage_errors_are_one_line_with_a_pointer_to_help(demo, args, says):
    before = dump(demo / "tilsyn.db")
    assert_one_error(run(demo, *args), says=says)
    assert dump(demo / "tilsyn.db") == before


def test_help_and_version_still_exit_0(demo):
    assert run(demo, "--help").exit_code == 0
    assert run(demo, "--version").exit_code == 0
    assert run(demo, "status", "--help").exit_code == 0


def test_python_dash_m_tilsyn(demo):
    env = {**os.environ, **{k: v for k, v in env_for(demo).items() if v is not None}}
    result = subprocess.run([sys.executable, "-m", "tilsyn", "--as", SUPERVISOR, "status", "T-1001"], env=env,
                            capture_output=True, timeout=120, text=True)
    assert result.returncode == 0, result.stderr
    assert "T-1001 Bostedet Lærkehøj" in result.stdout
    bad = subprocess.run([sys.executable, "-m", "tilsyn", "frob"], capture_output=True, timeout=60, text=True)
    assert bad.returncode == 2 and bad.stderr == "tilsyn: error: No such command 'frob'. (see 'tilsyn --help')\n"


# -- the safety net ---------------------------------------------------------------------------------
def test_a_bug_is_one_line_too(demo, monkeypatch):
    """A defect nobody foresaw still prints one line, not a traceback (and says it is a bug)."""
    from tilsyn.standards import service

    def broken(*_a, **_k):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(service.Supervision, "summary", broken)
    line = assert_one_error(run(demo, "--as", SUPERVISOR, "status", "T-1001"), foreseen=False)
    assert "ZeroDivisionError" in line and "bug" in line


def test_a_damaged_record_under_every_command(demo):
    """A record's bytes flipped in the database: every command ends in one line, exit 1 or 2, no
    traceback — and nothing is appended on top of the damage."""
    db = demo / "tilsyn.db"
    conn = sqlite3.connect(db)
    seq, record = conn.execute("SELECT seq, record FROM events WHERE type LIKE '%MarkerAssessed%' LIMIT 1").fetchone()
    damaged = bytearray(record)
    damaged[len(damaged) // 2] ^= 0x01
    conn.execute("UPDATE events SET record = ? WHERE seq = ?", (bytes(damaged), seq))
    conn.commit()
    conn.close()
    before = dump(db)
    for args in (("--as", SUPERVISOR, "status", "T-1001"), ("history", "T-1001"), ("findings", "T-1001"),
                 ("--as", SUPERVISOR, "explain", "T-1001"), ("log",), ("keys", "list"), ("tilbud", "list"),
                 ("--as", "Socialtilsyn Øst", "export", "T-1001", "--out", "b.json"), OBSERVE,
                 ("--as", "Socialtilsyn Øst", "checkpoint"), ("verify",)):
        result = run(demo, *args)
        assert "Traceback" not in result.output, (args, result.output)
        assert_foreseen(result)
        if result.exit_code != 0:
            assert result.exit_code in (1, 2), (args, result.output)
            errs = [line for line in result.stderr.splitlines() if line.startswith("tilsyn: error:")]
            assert len(errs) <= 1, (args, result.stderr)
    assert run(demo, "verify").exit_code == 1
    after = dump(db)
    # No event was appended on top of damaged history (cache tables may be refreshed).
    assert [line for line in after if line.startswith('INSERT INTO "events"')] == \
        [line for line in before if line.startswith('INSERT INTO "events"')]
