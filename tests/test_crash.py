"""Crash safety: a writer killed with SIGKILL in the middle of a batch leaves no part of it behind.

The child appends one batch of 5,000 events in one transaction. An append hook — called inside that
transaction, after the rows are inserted — counts the rows the transaction can see, writes that to
a marker file and sleeps. The parent waits for the marker, kills the child with SIGKILL (no cleanup,
no rollback from the client side) and checks the ledger on both backends.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from tilsyn.ledger import verify_ledger

# tests/ is not a package (pytest runs with --import-mode=importlib): load the helper by its path.
_spec = importlib.util.spec_from_file_location("tilsyn_tests_killing", Path(__file__).with_name("killing.py"))
killing = sys.modules.setdefault(_spec.name, importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(killing)

BATCH = 5000
PROJECT_ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
from pathlib import Path

sys.path.insert(0, sys.argv[1])
from tests.conftest import make_policy
from tilsyn.ledger import KeyStore, Ledger

url, home, marker, batch = sys.argv[2], sys.argv[3], Path(sys.argv[4]), int(sys.argv[5])
ledger = Ledger.open(url, make_policy())
karen = ledger.signer("Karen", KeyStore(home))
statements = [ledger.statement(karen, "tilbud/CRASH", "test.Note/1", {"text": f"note {i}", "n": i},
                               stream_version=i + 1) for i in range(batch)]
signed = karen.sign_many(statements, workers=1)  # no signing processes that could outlive the kill


def stall_mid_transaction(conn, events):
    visible = ledger.store.count(conn)  # this transaction sees its own uncommitted rows
    marker.write_text(json.dumps({"inserted": len(events), "visible": visible, "last_seq": events[-1].seq}))
    time.sleep(600)


ledger.add_append_hook(stall_mid_transaction)
ledger.append(signed)
print("the append returned: the parent should have killed this process", file=sys.stderr)
sys.exit(3)
"""


def kill_mid_batch(url: str, home: str, marker: Path) -> dict:
    """Run the child until it is inside the batch's transaction, then SIGKILL it; return its marker."""
    killing.kill_when_marked([sys.executable, "-c", CHILD, str(PROJECT_ROOT), url, home, str(marker), str(BATCH)],
                             marker)
    return json.loads(marker.read_text())


def test_a_writer_killed_mid_batch_leaves_nothing_of_it(ledger, keystore, tmp_path):
    karen = ledger.signer("Karen", keystore)
    ledger.record(karen, "tilbud/T-1", "test.Note/1", {"text": "before the crash"})
    before = ledger.count()
    head_before = ledger.head()

    seen = kill_mid_batch(ledger.store.url, str(keystore.home), tmp_path / "stalled.json")

    # The child really was mid-transaction, with the whole batch inserted but not committed.
    assert seen == {"inserted": BATCH, "visible": before + BATCH, "last_seq": before + BATCH}
    assert ledger.count() == before
    assert ledger.head() == head_before
    assert ledger.stream_version("tilbud/CRASH") == 0
    assert list(ledger.read(stream="tilbud/CRASH")) == []
    report = verify_ledger(ledger.store, ledger.policy)
    assert report.ok, report.problems
    assert report.events == before

    after = ledger.record(karen, "tilbud/CRASH", "test.Note/1", {"text": "after the crash"})
    assert (after.seq, after.statement.stream_version) == (before + 1, 1)
    assert after.prev == head_before.leaf_hash.hex()
    assert verify_ledger(ledger.store, ledger.policy).ok
