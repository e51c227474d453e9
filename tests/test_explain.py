"""Replaying how a påbud was reached: the explain tree, checkable node by node."""

from __future__ import annotations

import json
import sqlite3

import pytest
from tilsyn.ledger.errors import DamagedError
from click.testing import CliRunner

from tilsyn.cli.demo import HJEMMEL, REASON_23, run_demo
from tilsyn.cli.main import cli
from tilsyn.ledger import KeyStore, Ledger
from tilsyn.ledger.checkpoints import create_checkpoint
from tilsyn.ledger.personal import load_kek
from tilsyn.plugins.manager import default_plugins
from tilsyn.standards import events as ev
from tilsyn.standards.explain import explain, nodes
from tilsyn.standards.service import Supervision


@pytest.fixture
def demo(tmp_path):
    assert run_demo(tmp_path).ok
    plugins = default_plugins()
    ledger = Ledger.open(str(tmp_path / "tilsyn.db"), plugins.policy(), kek=load_kek(tmp_path))
    yield tmp_path, ledger, Supervision(ledger, plugins)
    ledger.close()


def _decision_seq(sup):
    return sup.state("T-1001").live_decisions()[-1].seq


def test_the_tree_runs_from_the_paabud_down_to_the_observations(demo):
    _, _, sup = demo
    result = explain(sup, "T-1001")
    root = result["decision"]
    assert root["decision"] == "påbud" and root["deadline"] == "2027-01-31"
    assert root["actor"] == "Lone Dahl" and root["roles"] == ["tilsynsleder"]
    assert root["rule_versions"]["kvalitetsmodel"] == sup.plugins.versions()["kvalitetsmodel"]
    (criterion,) = root["criteria"]
    assert criterion["criterion"] == "2.3" and criterion["verdict"] == "ikke opfyldt"
    marker = next(m for m in criterion["markers"] if m["marker"] == "2.3.1")
    assert marker["verdict"] == "ikke til stede"
    assert {(o["method"], o["source"]) for o in marker["observations"]} >= {
        ("interview", "borger"), ("interview", "medarbejder"), ("dokumentanalyse", "dokumenter"),
        ("observation", "fysiske rammer")}
    assert all(n["seq"] < root["seq"] for n in nodes(root) if "seq" in n and n is not root)
    assert result["all_signatures_ok"] and result["all_included"]
    assert result["checkpoint"]["signature_ok"]


def test_later_changes_are_shown(demo):
    _, _, sup = demo
    later = explain(sup, "T-1001")["later"]
    kinds = [n["kind"] for n in later]
    assert "plan row answering it" in kinds and "plan row revised" in kinds


def test_a_correction_after_the_decision_appears_under_later(demo):
    path, ledger, sup = demo
    karen = ledger.signer("Karen Holm", KeyStore(path))
    root = explain(sup, "T-1001")["decision"]
    observation = root["criteria"][0]["markers"][0]["observations"][1]
    sup.record(karen, "T-1001", ev.CORRECTION, {"corrects": observation["seq"], "reason": "Forkert borger citeret."})
    result = explain(sup, "T-1001")
    assert any(n["kind"] == "correction" and n["corrects"] == observation["seq"] for n in result["later"])
    # The tree itself still shows what the decider had before them.
    assert observation["seq"] in [o["seq"] for o in result["decision"]["criteria"][0]["markers"][0]["observations"]]


def test_events_after_the_checkpoint_are_not_yet_covered(demo):
    path, ledger, sup = demo
    lone = ledger.signer("Lone Dahl", KeyStore(path))
    karen = ledger.signer("Karen Holm", KeyStore(path))
    sup.record(karen, "T-1001", ev.CRITERION_ASSESSED, {"criterion": "2.3", "verdict": "ikke opfyldt",
                                                         "reason": REASON_23})
    sup.record(karen, "T-1001", ev.MARKER_ASSESSED, {"marker": "2.3.1", "verdict": "ikke til stede",
                                                      "reason": "Skabene er igen låst om aftenen."})
    decision = sup.record(lone, "T-1001", ev.DECISION_ISSUED, {
        "kind": "skærpet tilsyn", "criteria": ["2.3"], "reason": "Kriterium 2.3 og markør 2.3.1: skærpet tilsyn.",
        "indhold": "Tilbuddet er under skærpet tilsyn.", "hjemmel": HJEMMEL, "uden_partshoering": "Borgernes sikkerhed.",
        "klagevejledning": "Afgørelsen kan påklages til Ankestyrelsen."})
    result = explain(sup, "T-1001", decision.seq)
    assert result["decision"]["inclusion_ok"] is None and not result["all_included"]
    create_checkpoint(ledger, ledger.log_signer(KeyStore(path)))
    assert explain(sup, "T-1001", decision.seq)["all_included"]


def test_a_tampered_observation_shows_in_the_tree(demo):
    path, ledger, sup = demo
    seq = explain(sup, "T-1001")["decision"]["criteria"][0]["markers"][0]["observations"][-1]["seq"]
    with sqlite3.connect(path / "tilsyn.db") as db:
        record = db.execute("select record from events where seq=?", (seq,)).fetchone()[0]
        forged = record.replace(b'"recorded_at":"2', b'"recorded_at":"1')
        db.execute("update events set record=? where seq=?", (forged, seq))
    # Views show only what verifies: explain stops, naming the damaged seq, instead of showing it.
    with pytest.raises(DamagedError) as caught:
        explain(sup, "T-1001")
    assert caught.value.seq == seq


def test_as_of_replays_an_earlier_picture(demo):
    _, _, sup = demo
    first = _decision_seq(sup)
    with pytest.raises(Exception, match="no decision"):
        explain(sup, "T-1001", as_of=first - 1)
    assert explain(sup, "T-1001", as_of=first)["decision"]["seq"] == first


def test_explain_through_the_cli(demo):
    path, _, _ = demo
    env = {"TILSYN_DB": str(path / "tilsyn.db"), "TILSYN_HOME": str(path)}
    result = CliRunner().invoke(cli, ["--as", "Karen Holm", "explain", "T-1001", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["decision"]["decision"] == "påbud"
    human = CliRunner().invoke(cli, ["--as", "Karen Holm", "explain", "T-1001"], env=env)
    assert human.exit_code == 0 and "kriterium" in human.output and "✓sig" in human.output
    wrong = CliRunner().invoke(cli, ["explain", "T-1001", "4"], env=env)
    assert wrong.exit_code == 2 and "is not a decision" in wrong.output


def test_explain_exits_1_when_a_proof_fails(demo):
    path, _, sup = demo
    seq = explain(sup, "T-1001")["decision"]["criteria"][0]["markers"][0]["observations"][0]["seq"]
    with sqlite3.connect(path / "tilsyn.db") as db:
        record = db.execute("select record from events where seq=?", (seq,)).fetchone()[0]
        db.execute("update events set record=? where seq=?", (record.replace(b'"recorded_at":"2', b'"recorded_at":"1'), seq))
    env = {"TILSYN_DB": str(path / "tilsyn.db"), "TILSYN_HOME": str(path)}
    result = CliRunner().invoke(cli, ["--as", "Karen Holm", "explain", "T-1001"], env=env)
    assert result.exit_code == 1 and f"damaged at seq {seq}" in result.output
