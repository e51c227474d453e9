"""The command table: every command module's commands are reachable, and nothing else is listed."""

from __future__ import annotations

import importlib

from click.testing import CliRunner

from tilsyn.cli.main import COMMAND_MODULES, cli


def test_the_lazy_command_table_matches_the_modules():
    for module_name in set(COMMAND_MODULES.values()):
        module = importlib.import_module(f"tilsyn.cli.{module_name}")
        for command in module.COMMANDS:
            assert COMMAND_MODULES.get(command.name) == module_name, f"{command.name} missing from COMMAND_MODULES"
    for name, module_name in COMMAND_MODULES.items():
        module = importlib.import_module(f"tilsyn.cli.{module_name}")
        assert name in [c.name for c in module.COMMANDS], f"{name} is not defined in {module_name}"


def test_help_lists_every_command_and_each_has_help():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMAND_MODULES:
        assert name in result.output
        sub = CliRunner().invoke(cli, [name, "--help"])
        assert sub.exit_code == 0 and "Usage:" in sub.output, name


def test_an_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2 and "No such command" in result.output


def test_operator_settings_in_tilsyn_toml_change_the_findings(tmp_path, monkeypatch):
    import json

    from tilsyn.cli.demo import run_demo

    assert run_demo(tmp_path / "demo").ok
    env = {"TILSYN_DB": str(tmp_path / "demo" / "tilsyn.db"), "TILSYN_HOME": str(tmp_path / "demo")}
    monkeypatch.chdir(tmp_path)

    def depth_findings():
        result = CliRunner().invoke(cli, ["--as", "Karen Holm", "findings", "T-1001", "--json"], env=env)
        assert result.exit_code == 0, result.output
        return [f for f in json.loads(result.output)["T-1001"] if f["rule"] == "begrundelse-dybde"]

    assert depth_findings() == []  # the demo's justification of 2.3 is thorough enough by default
    # The demo ends with 2.3 opfyldt and risk grøn for it (the påbud efterkommet): raise the grøn threshold.
    (tmp_path / "tilsyn.toml").write_text('[settings]\n"kvalitetsmodel.begrundelse_min_tegn.grøn" = 5000\n')
    assert [f["subject"] for f in depth_findings()] == ["kriterium 2.3"]
    (tmp_path / "tilsyn.toml").write_text("[settings\n")
    broken = CliRunner().invoke(cli, ["findings", "T-1001"], env=env)
    assert broken.exit_code == 2 and "tilsyn.toml: not valid TOML" in broken.output
