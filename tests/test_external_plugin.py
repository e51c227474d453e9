"""A region ships its own standard as a plugin — and broken plugins are named, never ignored.

``tests/plugin_region_nord`` is a separate distribution (``tilsyn-region-nord``) with an invented
regional standard ``rn-2.4`` *Medicinhåndtering* and one guard rule. It is installed into the test
environment (``pip install -e tests/plugin_region_nord``; the Makefile does it) and found through the
entry-point group ``tilsyn`` — exactly as a region would ship one, with no change to the core.
"""

from __future__ import annotations

import json
import textwrap
from datetime import date
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from tilsyn.cli.main import cli
from tilsyn.ledger import EventType, Ledger
from tilsyn.plugins import hookimpl, kvalitetsmodel, opfoelgningsplan, regional_1_3, supervision
from tilsyn.plugins.manager import PluginError, load_plugins
from tilsyn.standards import events as ev
from tilsyn.standards.loader import load_standard
from tilsyn.standards.rules import FindingRule, GuardRule
from tilsyn.standards.service import Refused, Supervision
from tilsyn.standards.summary import summarise

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_DIR = ROOT / "tests" / "plugin_region_nord"
RN_YAML = PLUGIN_DIR / "tilsyn_region_nord" / "rn-2.4.yaml"
INSTALL = f"{ROOT}/.venv/bin/pip install -e tests/plugin_region_nord"

BUILT_IN = [("kvalitetsmodel", kvalitetsmodel), ("opfoelgningsplan", opfoelgningsplan),
            ("regional_1_3", regional_1_3), ("supervision", supervision)]


@pytest.fixture(scope="module")
def installed():
    """The region's distribution, as installed; fails (does not skip) if it is missing."""
    try:
        dist = metadata.distribution("tilsyn-region-nord")
    except metadata.PackageNotFoundError:
        pytest.fail(f"the external plugin is not installed; run: {INSTALL}", pytrace=False)
    return dist


@pytest.fixture(scope="module")
def plugins(installed):
    """Every plugin the installation's entry points name — no list given."""
    return load_plugins()


# =============================================================================================
# Discovery, through the entry point only
# =============================================================================================

def test_the_region_plugin_is_found_through_its_entry_point(installed, plugins):
    (ep,) = [e for e in installed.entry_points if e.group == "tilsyn"]
    assert (ep.name, ep.value) == ("region_nord", "tilsyn_region_nord")
    assert installed.version == "0.1.0"
    (info,) = [i for i in plugins.infos if i.name == "region_nord"]
    assert info.version == "0.1.0" and info.distribution == "tilsyn-region-nord"
    assert info.module == "tilsyn_region_nord"
    assert info.contributes == {"standards": ["rn-2.4@2024-01-01"], "guards": ["rn-dokument-kildeangivet"]}
    assert plugins.versions()["region_nord"] == "0.1.0"
    entry = plugins.catalog.entry("rn-2.4")
    assert (entry.plugin, entry.plugin_version) == ("region_nord", "0.1.0")


def test_the_core_knows_nothing_of_the_region():
    """The standard and its rule live in the plugin package alone."""
    for package in ("ledger", "standards", "plugins", "cli"):
        for path in (ROOT / package).rglob("*"):
            if path.suffix in (".py", ".yaml", ".toml", ".txt") and "__pycache__" not in path.parts:
                text = path.read_text(encoding="utf-8")
                assert "rn-2.4" not in text and "tilsyn_region_nord" not in text, path
    assert "tilsyn_region_nord" not in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_the_standard_is_a_complete_regional_standard(plugins):
    rn = plugins.catalog.get("rn-2.4")
    assert rn == load_standard(RN_YAML)
    assert (rn.kind, rn.version, rn.title, rn.number) == ("regional", "2024-01-01", "Medicinhåndtering", "2.4")
    assert rn.valid_from == date(2024, 1, 1) and rn.references
    assert [t.number for t in rn.trin] == [1, 2, 3, 4]
    assert [[i.number for i in t.indikatorer] for t in rn.trin] == [[1, 2], [3, 4], [5, 6, 7], [8]]
    assert [t.cadence_years for t in rn.trin] == [None, None, 3, None]
    assert plugins.catalog.resolve("rn-2.4#6").text.startswith("Utilsigtede hændelser")


def test_rn_2_4_appears_in_tilsyn_standards_list_and_show(installed):
    runner = CliRunner()
    listed = runner.invoke(cli, ["standards", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {r["id"]: r for r in json.loads(listed.output)}
    assert rows["rn-2.4"] == {"id": "rn-2.4", "version": "2024-01-01", "kind": "regional",
                              "title": "Medicinhåndtering", "plugin": "region_nord", "plugin_version": "0.1.0"}
    assert {"kvalitetsmodel-2025", "regional-1.3", "opfoelgningsplan"} <= set(rows)

    table = runner.invoke(cli, ["standards", "list"])
    assert table.exit_code == 0 and "rn-2.4" in table.output and "Medicinhåndtering" in table.output

    shown = runner.invoke(cli, ["standards", "show", "rn-2.4", "--json"])
    assert shown.exit_code == 0, shown.output
    tree = json.loads(shown.output)
    assert tree["kind"] == "regional" and tree["trin"][2]["cadence_years"] == 3

    plugins = runner.invoke(cli, ["plugins", "list", "--json"])
    assert {"name": "region_nord", "version": "0.1.0"}.items() <= next(
        p for p in json.loads(plugins.output) if p["name"] == "region_nord").items()


def test_tracing_shows_every_hook_call_of_the_plugin(installed, monkeypatch, capsys):
    monkeypatch.setenv("TILSYN_TRACE_HOOKS", "1")
    load_plugins()
    err = capsys.readouterr().err
    assert "tilsyn hook tilsyn_standards [region_nord]" in err
    assert "tilsyn hook tilsyn_guards [region_nord]" in err


# =============================================================================================
# The region's rule and the generic regional findings, through Supervision.record
# =============================================================================================

@pytest.fixture
def region(installed, plugins, db_url, keystore):
    """A ledger with every installed plugin, Karen (tilsynskonsulent), Tove (tilbudsleder), and a
    tilbud under rn-2.4."""
    ledger, authority = Ledger.init(db_url, "Socialtilsyn Nord", keystore, policy=plugins.policy())
    ledger.register_key(authority, "Karen", ["tilsynskonsulent"], keystore)
    ledger.register_key(authority, "Tove", ["tilbudsleder"], keystore)
    S = Supervision(ledger, plugins)
    S.karen, S.tove = ledger.signer("Karen", keystore), ledger.signer("Tove", keystore)
    S.record(S.karen, "RN-1", ev.TILBUD_REGISTERED, {"tilbud": "RN-1", "name": "Bostedet Havblik",
                                                      "tilbud_type": "døgntilbud", "has_board": False,
                                                      "regional_standards": ["rn-2.4"]},
             occurred_at="2020-01-02T09:00:00.000000Z")  # before the acts the test dates in the past
    yield S
    ledger.close()


def check(S, indikator, verdict, reason, standard="rn-2.4", who=None):
    return S.record(who or S.karen, "RN-1", ev.INDIKATOR_CHECKED,
                    {"standard": standard, "indikator": indikator, "verdict": verdict, "reason": reason})


def test_opfyldt_must_cite_the_document_checked(region):
    before = region.ledger.count()
    with pytest.raises(Refused) as refusal:
        check(region, 1, "opfyldt", "Retningslinjerne foreligger og er kendt af personalet.")
    assert refusal.value.plugin == "region_nord" and refusal.value.rule == "rn-dokument-kildeangivet"
    assert "indikator 1 i rn-2.4 kan kun kontrolleres opfyldt, når begrundelsen nævner det kontrollerede dokument" \
        in str(refusal.value)
    assert region.ledger.count() == before

    ok = check(region, 1, "opfyldt", "Kontrolleret dok. MH-01 Retningslinje for medicinhåndtering, rev. 2024.")
    assert ok.payload["standard_version"] == "2024-01-01"
    # An ikke opfyldt needs no document; nor does another region's standard.
    check(region, 2, "ikke opfyldt", "Der findes ingen oversigt over oplærte medarbejdere.")
    check(region, 4, "opfyldt", "Oplæring bekræftet af ledelsen.", standard="regional-1.3")
    assert region.ledger.count() == before + 3


def test_unknown_indikator_of_the_region_standard_is_refused(region):
    before = region.ledger.count()
    with pytest.raises(Refused, match=r"rn-2.4 har ingen indikator 9 \(har 1, 2, 3, 4, 5, 6, 7, 8\)"):
        check(region, 9, "ikke opfyldt", "Findes ikke i standarden.")
    assert region.ledger.count() == before


def test_generic_regional_findings_work_for_the_region_standard(region):
    S = region

    def found(rule, today):
        return [f for f in S.findings(S.state("RN-1"), today=today) if f.rule == rule]

    (missing,) = found("regional-overvaagning", date(2025, 1, 1))
    assert missing.subject == "rn-2.4 trin 3" and missing.plugin == "supervision"

    # A trin-3 monitoring rests on a check of each of its indikatorer in that cycle (issue 14).
    for n in (5, 6, 7):
        S.record(S.tove, "RN-1", ev.INDIKATOR_CHECKED, {"standard": "rn-2.4", "indikator": n, "verdict": "opfyldt",
                                                        "reason": "Stikprøve efter dok. MH-05 Retningslinje for medicinhåndtering."},
                 occurred_at="2024-09-01T09:00:00.000000Z")
    S.record(S.tove, "RN-1", ev.MONITORING_COMPLETED, {"standard": "rn-2.4", "date": "2024-09-01"},
             occurred_at="2024-09-02T09:00:00.000000Z")
    assert found("regional-overvaagning", date(2027, 8, 31)) == []
    (old,) = found("regional-overvaagning", date(2028, 1, 1))
    assert "2024-09-01 er ældre end 3 år" in old.message

    assert found("regional-forbedring", date(2025, 1, 1)) == []
    shortfall = check(S, 6, "ikke opfyldt", "Utilsigtede hændelser registreres, men analyseres ikke.")
    (no_plan,) = found("regional-forbedring", date(2025, 1, 1))
    assert no_plan.subject == "rn-2.4 trin 4" and no_plan.seqs == (shortfall.seq,)
    check(S, 8, "opfyldt", "Skriftlig forbedringsplan, dok. MH-08, vedtaget af ledelsen.", who=S.tove)
    assert found("regional-forbedring", date(2025, 1, 1)) == []

    (rn,) = [r for r in summarise(S.state("RN-1"), S.catalog)["regional"] if r["standard"] == "rn-2.4"]
    assert rn["last_monitoring"]["date"] == "2024-09-01"
    statuses = {i["number"]: i["status"] for t in rn["trin"] for i in t["indikatorer"]}
    assert statuses == {1: None, 2: None, 3: None, 4: None, 5: "opfyldt", 6: "ikke opfyldt", 7: "opfyldt",
                        8: "opfyldt"}


# =============================================================================================
# Broken plugins: a clear error naming the plugin, never silently ignored
# =============================================================================================

class ShipsStandard:
    """A plugin that ships the given standard files."""

    __version__ = "0.0.1"

    def __init__(self, *paths):
        self.paths = paths

    @hookimpl
    def tilsyn_standards(self):
        return [load_standard(p) for p in self.paths]


def test_two_versions_of_one_standard_live_side_by_side(tmp_path):
    newer = tmp_path / "rn-2.4-2025.yaml"
    newer.write_text(RN_YAML.read_text(encoding="utf-8").replace('version: "2024-01-01"', 'version: "2025-01-01"'),
                     encoding="utf-8")
    plugins = load_plugins([("region_nord_2024", ShipsStandard(RN_YAML)), ("region_nord_2025", ShipsStandard(newer))])
    assert plugins.catalog.get("rn-2.4").version == "2025-01-01"
    assert plugins.catalog.get("rn-2.4", "2024-01-01").version == "2024-01-01"


def test_a_standard_declared_twice_names_both_plugins():
    with pytest.raises(PluginError) as error:
        load_plugins([("region_nord", ShipsStandard(RN_YAML)), ("region_nord_kopi", ShipsStandard(RN_YAML))])
    message = str(error.value)
    assert "standard rn-2.4 version 2024-01-01 is declared twice" in message
    assert "'region_nord'" in message and "'region_nord_kopi'" in message


def test_a_copy_of_a_built_in_standard_names_both_plugins():
    copy = ShipsStandard(ROOT / "plugins" / "regional_1_3" / "regional-1.3.yaml")
    with pytest.raises(PluginError, match=r"regional-1\.3 version 2020-11-13 is declared twice "
                                          r"\(by plugin 'regional_1_3' and by plugin 'kopi'\)"):
        load_plugins([*BUILT_IN, ("kopi", copy)])


class DanglingRule:
    __version__ = "0.0.1"

    @hookimpl
    def tilsyn_guards(self):
        return [GuardRule("markoer-999", "Peger på en markør, der ikke findes.", lambda s, st, c: None,
                          (ev.MARKER_ASSESSED,), references=("kvalitetsmodel-2025#9.9.9",))]


class DanglingFinding:
    @hookimpl
    def tilsyn_findings(self):
        return [FindingRule("indikator-42", "Peger på en indikator, der ikke findes.", lambda st, c, s: (),
                            references=("regional-1.3#42",))]


def test_a_rule_referencing_a_marker_that_does_not_exist_names_the_plugin():
    with pytest.raises(PluginError) as error:
        load_plugins([*BUILT_IN, ("region_syd", DanglingRule())])
    message = str(error.value)
    assert "plugin 'region_syd'" in message and "rule 'markoer-999'" in message
    assert "'kvalitetsmodel-2025#9.9.9', which does not exist" in message and "no" in message


def test_a_rule_referencing_an_indikator_that_does_not_exist_names_the_plugin():
    with pytest.raises(PluginError, match=r"plugin 'region_syd': rule 'indikator-42' references 'regional-1.3#42'"):
        load_plugins([*BUILT_IN, ("region_syd", DanglingFinding())])


def test_a_rule_referencing_a_standard_nobody_ships_names_the_plugin():
    # Without kvalitetsmodel loaded, the reference dangles whatever the plugin order.
    with pytest.raises(PluginError, match=r"plugin 'region_syd'.*unknown standard 'kvalitetsmodel-2025'"):
        load_plugins([("region_syd", DanglingRule())])


class Raises:
    @hookimpl
    def tilsyn_standards(self):
        raise RuntimeError("the standards server is down")


def test_a_hook_that_raises_names_the_plugin():
    with pytest.raises(PluginError, match=r"plugin 'region_syd': hook tilsyn_standards raised RuntimeError: "
                                          r"the standards server is down"):
        load_plugins([*BUILT_IN, ("region_syd", Raises())])


def test_a_broken_standard_file_names_the_plugin_and_the_file(tmp_path):
    broken = tmp_path / "rn-3.1.yaml"
    broken.write_text(RN_YAML.read_text(encoding="utf-8").replace("  - number: 4\n", "  - number: 5\n"),
                      encoding="utf-8")
    with pytest.raises(PluginError) as error:
        load_plugins([("region_syd", ShipsStandard(broken))])
    assert "plugin 'region_syd'" in str(error.value) and "rn-3.1.yaml" in str(error.value)
    assert "trin must be numbered 1, 2, 3, 4" in str(error.value)


class DeclaresMarkerAssessed:
    @hookimpl
    def tilsyn_event_types(self):
        return [EventType(ev.MARKER_ASSESSED, frozenset({"tilbudsleder"}), ev.MarkerAssessed)]


def test_an_event_type_declared_twice_names_both_plugins():
    with pytest.raises(PluginError) as error:
        load_plugins([*BUILT_IN, ("region_syd", DeclaresMarkerAssessed())])
    assert str(error.value) == (f"plugin 'region_syd': event type {ev.MARKER_ASSESSED} is declared by plugin "
                                f"'supervision' already")


class ReturnsNotAList:
    @hookimpl
    def tilsyn_guards(self):
        return GuardRule("enkelt", "Ikke i en liste.", lambda s, st, c: None)


def test_a_hook_returning_the_wrong_shape_names_the_plugin():
    with pytest.raises(PluginError, match=r"plugin 'region_syd': hook tilsyn_guards must return a list"):
        load_plugins([("region_syd", ReturnsNotAList())])


def test_an_entry_point_that_fails_to_import_names_the_plugin(tmp_path, monkeypatch):
    """A real (temporary) distribution on sys.path whose plugin module cannot be imported."""
    dist_info = tmp_path / "tilsyn_region_syd-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: tilsyn-region-syd\nVersion: 0.1.0\n",
                                        encoding="utf-8")
    (dist_info / "entry_points.txt").write_text("[tilsyn]\nregion_syd = tilsyn_region_syd\n", encoding="utf-8")
    (tmp_path / "tilsyn_region_syd.py").write_text(textwrap.dedent("""\
        from tilsyn.plugins import hookimpl
        from tilsyn.standards.findes_ikke import noget  # a typo in the region's code
        """), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "region_syd" in {ep.name for ep in metadata.entry_points(group="tilsyn")}

    with pytest.raises(PluginError) as error:
        load_plugins()
    message = str(error.value)
    assert message.startswith("plugin 'region_syd' (tilsyn_region_syd) failed to load: ModuleNotFoundError")
    assert "tilsyn.standards.findes_ikke" in message


def test_an_entry_point_that_fails_to_import_names_the_plugin_simulated(monkeypatch):
    """The same through a monkeypatched ``entry_points``: a plugin named in metadata but not importable."""
    ghost = metadata.EntryPoint(name="region_vest", value="tilsyn_region_vest:plugin", group="tilsyn")
    real = metadata.entry_points

    def entry_points(**kw):
        return [*real(**kw), ghost] if kw.get("group") == "tilsyn" else real(**kw)

    monkeypatch.setattr(metadata, "entry_points", entry_points)
    with pytest.raises(PluginError, match=r"^plugin 'region_vest' \(tilsyn_region_vest:plugin\) failed to load"):
        load_plugins()
