"""Building the plugin manager and what it yields: the catalog, the policy, the rules.

Nothing happens at import time. :func:`load_plugins` builds a fresh manager from the entry-point
group ``tilsyn`` (where the built-in plugins are listed too), or from exactly the plugins a test
passes. Every failure names the plugin: one that cannot be imported, a hook that raises, a standard
declared twice, a rule that references a theme, criterion or marker that does not exist.

Set ``TILSYN_TRACE_HOOKS=1`` to see every hook call, its arguments and results on stderr.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any, Iterable

import pluggy

from tilsyn.ledger import EventType, Policy
from tilsyn.standards.catalog import Catalog
from tilsyn.standards.rules import FindingRule, GuardRule

from . import hookspecs

ENTRY_POINT_GROUP = "tilsyn"


class PluginError(Exception):
    """A plugin is broken; the message names it."""


@dataclass
class PluginInfo:
    """A loaded plugin: its name, version, where it came from and what it contributes."""

    name: str
    version: str
    module: str
    distribution: str = ""
    hooks: list[str] = field(default_factory=list)
    contributes: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "module": self.module,
                "distribution": self.distribution, "hooks": self.hooks, "contributes": self.contributes}


@dataclass
class Plugins:
    """Everything the loaded plugins contribute, validated."""

    manager: pluggy.PluginManager
    infos: list[PluginInfo]
    catalog: Catalog
    event_types: list[EventType]
    guards: list[GuardRule]
    findings: list[FindingRule]
    settings: dict[str, Any]

    def policy(self) -> Policy:
        policy = Policy()
        for et in self.event_types:
            policy.register(et)
        # Recorded with the roles as the rules in force (tilsyn.ledger.rules): a replay years later can
        # say which plugin and standard versions every event was appended under.
        policy.set_components(plugins=self.versions(),
                              standards={f"{e.standard.id}@{e.standard.version}": e.plugin for e in self.catalog})
        return policy

    def versions(self) -> dict[str, str]:
        """Plugin name → version, for recording in decisions."""
        return {i.name: i.version for i in self.infos}


def _entry_points() -> list[metadata.EntryPoint]:
    return sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def _load(ep: metadata.EntryPoint) -> Any:
    try:
        return ep.load()
    except Exception as e:  # a broken plugin must be named, whatever it raised
        raise PluginError(f"plugin {ep.name!r} ({ep.value}) failed to load: {type(e).__name__}: {e}") from e


def _version_of(obj: Any, dist: str) -> str:
    version = getattr(obj, "__version__", None)
    if version:
        return str(version)
    if dist:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return "0"


def _call(pm: pluggy.PluginManager, hook_name: str, plugin: Any, name: str) -> list:
    impls = [i for i in getattr(pm.hook, hook_name).get_hookimpls() if i.plugin is plugin]
    out = []
    for impl in impls:
        try:
            result = impl.function()
        except Exception as e:
            raise PluginError(f"plugin {name!r}: hook {hook_name} raised {type(e).__name__}: {e}") from e
        if os.environ.get("TILSYN_TRACE_HOOKS"):
            # Each plugin is called on its own so that every contribution can be attributed to it.
            sys.stderr.write(f"tilsyn hook {hook_name} [{name}] -> {result!r:.300}\n")
        if result is None:
            continue
        if not isinstance(result, (list, tuple)):
            raise PluginError(f"plugin {name!r}: hook {hook_name} must return a list, not {type(result).__name__}")
        out.extend(result)
    return out


def load_plugins(plugins: Iterable[tuple[str, Any]] | None = None, settings: dict[str, Any] | None = None) -> Plugins:
    """Build a fresh plugin manager and collect every contribution.

    :param plugins: ``(name, module-or-object)`` pairs to register instead of the entry points —
        for tests that want exactly these plugins. By default, every entry point in group ``tilsyn``.
    :param settings: operator settings overriding the plugins' defaults.
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    sources: list[tuple[str, Any, str]] = []
    if plugins is None:
        for ep in _entry_points():
            sources.append((ep.name, _load(ep), ep.dist.name if ep.dist else ""))
    else:
        sources = [(name, obj, "") for name, obj in plugins]
    infos: list[PluginInfo] = []
    for name, obj, dist in sources:
        try:
            pm.register(obj, name=name)
        except (ValueError, pluggy.PluginValidationError) as e:
            raise PluginError(f"plugin {name!r} cannot be registered: {e}") from e
        module = obj.__name__ if isinstance(obj, ModuleType) else type(obj).__module__
        infos.append(PluginInfo(name, _version_of(obj, dist), module, dist,
                                sorted(h.name for h in pm.get_hookcallers(obj) or [])))
    catalog = Catalog()
    event_types: list[EventType] = []
    seen_types: dict[str, str] = {}
    guards: list[GuardRule] = []
    findings: list[FindingRule] = []
    merged: dict[str, Any] = {}
    for info, (name, obj, _dist) in zip(infos, sources):
        for std in _call(pm, "tilsyn_standards", obj, name):
            try:
                catalog.add(std, name, info.version)
            except ValueError as e:
                raise PluginError(f"plugin {name!r}: {e}") from None
            info.contributes.setdefault("standards", []).append(f"{std.id}@{std.version}")
        for et in _call(pm, "tilsyn_event_types", obj, name):
            if et.name in seen_types:
                raise PluginError(f"plugin {name!r}: event type {et.name} is declared by plugin {seen_types[et.name]!r} already")
            seen_types[et.name] = name
            event_types.append(EventType(et.name, et.roles, et.schema, et.description, owner=name))
            info.contributes.setdefault("event types", []).append(et.name)
        for g in _call(pm, "tilsyn_guards", obj, name):
            guards.append(GuardRule(g.name, g.description, g.check, g.event_types, g.references, plugin=name,
                                    with_settings=getattr(g, "with_settings", False)))
            info.contributes.setdefault("guards", []).append(g.name)
        for f in _call(pm, "tilsyn_findings", obj, name):
            findings.append(FindingRule(f.name, f.description, f.check, f.references, f.settings, plugin=name))
            info.contributes.setdefault("finding rules", []).append(f.name)
        for s in _call(pm, "tilsyn_settings", obj, name):
            if not isinstance(s, dict):
                raise PluginError(f"plugin {name!r}: tilsyn_settings must return dicts")
            merged.update(s)
    # References are checked once every standard is known, so plugin order does not matter.
    for rule in [*guards, *findings]:
        for ref in rule.references:
            try:
                catalog.resolve(ref)
            except KeyError as e:
                raise PluginError(f"plugin {rule.plugin!r}: rule {rule.name!r} references {ref!r}, "
                                  f"which does not exist: {e.args[0]}") from None
    check_settings(settings or {}, merged)
    merged.update(settings or {})
    return Plugins(pm, infos, catalog, event_types, guards, findings, merged)


def check_settings(settings: dict[str, Any], defaults: dict[str, Any]) -> None:
    """Refuse an operator setting no plugin declares (a misspelt key) or one whose value has another
    type than the plugin's default: a threshold typed as "400" must not silently count as text."""
    import difflib

    for key, value in settings.items():
        if key not in defaults:
            close = difflib.get_close_matches(key, list(defaults), n=1)
            raise PluginError(f"unknown setting {key!r}" + (f"; did you mean {close[0]!r}?" if close else "")
                              + " ('tilsyn plugins list' shows who contributes what)")
        default = defaults[key]
        expected = type(default)
        if default is not None and not (type(value) is expected or (expected is float and type(value) is int)):
            names = {bool: "true or false", int: "a whole number", float: "a number", str: "text", list: "a list",
                     dict: "a table"}
            raise PluginError(f"setting {key!r} must be {names.get(expected, expected.__name__)} "
                              f"(like its default {default!r}), not {value!r}")


_cached: dict[str, Plugins] = {}


def default_plugins(settings: dict[str, Any] | None = None) -> Plugins:
    """The installation's plugins from the entry points, loaded once per process (per settings)."""
    key = repr(sorted((settings or {}).items()))  # values may be lists: repr, not hash
    if key not in _cached:
        _cached[key] = load_plugins(settings=settings)
    return _cached[key]


def read_settings(path) -> dict[str, Any]:
    """Operator settings from the ``[settings]`` table of a TOML file (e.g. ``tilsyn.toml``)."""
    import tomllib
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise PluginError(f"{path}: not valid TOML: {e}") from None
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        raise PluginError(f"{path}: [settings] must be a table of \"plugin.key\" = value")
    return settings


def build_policy() -> Policy:
    """The policy (event types and roles) of the installed plugins."""
    return default_plugins().policy()
