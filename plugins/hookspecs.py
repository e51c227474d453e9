"""The plugin API of tilsyn: every hook a plugin may implement.

A plugin is a module (or object) with functions decorated by ``tilsyn.plugins.hookimpl`` and named
like the specs below, published through the entry-point group ``tilsyn``::

    [project.entry-points.tilsyn]
    region_nord = "region_nord_standards"

Every plugin should set ``__version__``; the version is recorded in decisions so that a replay years
later can say which rules were applied. The built-in standards and rules are plugins registered
through this very entry-point group.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("tilsyn")


@hookspec
def tilsyn_standards():
    """Return standards this plugin contributes: quality models, regional standards, plan templates.

    :return: a list of :mod:`tilsyn.standards.model` objects (``QualityModel``, ``RegionalStandard``,
        ``PlanTemplate``), usually loaded from YAML files shipped in the plugin package with
        :func:`tilsyn.standards.loader.load_standard`. An ``(id, version)`` pair may be declared once.
    """


@hookspec
def tilsyn_event_types():
    """Return the event types this plugin declares.

    :return: a list of :class:`tilsyn.ledger.EventType` — the namespaced, versioned type name
        (``namespace.Name/1``), the roles of which the signer must hold one, and the payload schema
        (a ``msgspec.Struct`` type). A type name may be declared by one plugin only.
    """


@hookspec
def tilsyn_guards():
    """Return guard rules: checks that may refuse an event before it is appended.

    :return: a list of :class:`tilsyn.standards.rules.GuardRule`. ``check(statement, state, catalog)``
        gets the proposed statement, the projected state of its stream before it, and the catalog of
        standards; it returns a reason (Danish, one sentence) to refuse, or ``None``. Guards must be
        pure: the same inputs always give the same answer.
    """


@hookspec
def tilsyn_findings():
    """Return finding rules: checks that report on a state but never refuse.

    :return: a list of :class:`tilsyn.standards.rules.FindingRule`. ``check(state, catalog, settings)``
        yields :class:`tilsyn.standards.rules.Finding` objects, each naming the seqs it rests on.
    """


@hookspec
def tilsyn_settings():
    """Return default settings this plugin reads, as a flat ``dict`` of ``"plugin.key": value``.

    Settings are overridden by the operator (``tilsyn.toml`` in the working directory); findings rules
    receive the merged settings.
    """
