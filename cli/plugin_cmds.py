"""Commands about plugins and the standards they contribute."""

from __future__ import annotations

import click
import msgspec
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from tilsyn.plugins.manager import default_plugins

from .output import console, emit_json, visible


@click.group()
def plugins() -> None:
    """Installed plugins (standards, event types, rules)."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins_list(as_json: bool) -> None:
    """List plugins: name, version, and what each contributes."""
    infos = default_plugins().infos
    if as_json:
        emit_json([i.to_dict() for i in infos])
        return
    table = Table("plugin", "version", "module", "contributes", box=None, header_style="bold")
    for i in infos:
        what = "; ".join(f"{k}: {', '.join(v)}" for k, v in i.contributes.items()) or "-"
        table.add_row(i.name, i.version, i.module, what)
    console.print(table)


@click.group()
def standards() -> None:
    """Quality models, regional standards and plan templates."""


@standards.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def standards_list(as_json: bool) -> None:
    """List standards: id, version, kind, title, plugin."""
    entries = list(default_plugins().catalog)
    rows = [{"id": e.standard.id, "version": e.standard.version, "kind": e.standard.kind,
             "title": e.standard.title, "plugin": e.plugin, "plugin_version": e.plugin_version} for e in entries]
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "version", "kind", "title", "plugin", box=None, header_style="bold")
    for r in rows:
        table.add_row(r["id"], r["version"], r["kind"], r["title"], r["plugin"])
    console.print(table)


@standards.command("show")
@click.argument("standard_id", metavar="ID")
@click.option("--version", help="A specific version (default: the newest).")
@click.option("--json", "as_json", is_flag=True, help="The complete standard, machine-readable.")
def standards_show(standard_id: str, version: str | None, as_json: bool) -> None:
    """Show a standard's whole tree."""
    catalog = default_plugins().catalog
    try:
        std = catalog.get(standard_id, version)
    except KeyError as e:
        raise click.exceptions.UsageError(e.args[0]) from None
    if as_json:
        emit_json(msgspec.to_builtins(std) | {"kind": std.kind})
        return
    console.print(_tree(std))


def _t(*parts) -> Text:
    """Styled text from plugin data: every part made visible, styles only from here (never markup)."""
    out = Text()
    for part in parts:
        value, style = part if isinstance(part, tuple) else (part, "")
        out.append(visible(value), style=style)
    return out


def _tree(std) -> Tree:
    root = Tree(_t((std.id, "bold"), f" {std.version} — {std.title} ({std.kind})"))
    if std.kind == "kvalitetsmodel":
        for theme in std.themes:
            t = root.add(_t((f"Tema {theme.id}", "bold"), f" {theme.title}"))
            t.add(_t((theme.description, "dim")))
            for crit in theme.criteria:
                c = t.add(_t((f"Kriterium {crit.id}", "bold cyan"), f" {crit.title}"))
                for marker in crit.markers:
                    m = c.add(_t((f"Markør {marker.id}", "bold"), f" {marker.title}"))
                    for el in marker.design:
                        opts = ", ".join(f"{o.method}/{o.source}" for o in el.options)
                        e = m.add(_t(f"{el.id} ", (el.heading, "italic"), " ", (f"({opts})", "dim")))
                        if el.text:
                            e.add(el.text)
                        for point in el.all_points():
                            e.add(f"• {point}")
                        for note in el.notes:
                            e.add(_t((note, "yellow")))
    elif std.kind == "regional":
        root.add(f"Standard: {std.statement}")
        root.add(f"Formål: {std.purpose}")
        root.add(f"Anvendelsesområde: {std.scope}")
        root.add(f"Gældende fra: {std.valid_from.isoformat()}")
        refs = root.add("Referencer")
        for r in std.references:
            refs.add(r)
        for trin in std.trin:
            cadence = f" (mindst hvert {trin.cadence_years}. år)" if trin.cadence_years else ""
            t = root.add(_t((f"Trin {trin.number}", "bold"), f" {trin.title}{cadence}"))
            if trin.text:
                t.add(trin.text)
            for ind in trin.indikatorer:
                i = t.add(_t((f"Indikator {ind.number}", "bold cyan"), f" {ind.text}"))
                for c in ind.contents:
                    i.add(f"• {c}")
    elif std.kind == "modelkort":
        root.add(f"[dim]Kilde: {std.source}[/]")
        root.add(f"Kortlagt til: {std.target}")
        for theme in std.themes:
            t = root.add(f"[bold]Tema {theme.id}[/] {theme.title} → 2025-tema {theme.maps_to}")
            t.add(f"[dim]{theme.source}[/]")
            for ind in (i for i in std.indikatorer if i.theme == theme.id):
                label = ind.text if ind.full_text else f"(kun omtalt: «{ind.text}»)"
                i = t.add(f"[bold cyan]Indikator {ind.id}[/] {label} → markør {', '.join(ind.maps_to)}")
                i.add(f"[dim]{ind.source}[/]")
    else:
        for g in std.guidance:
            root.add(_t((g, "dim")))
        for col in std.columns:
            c = root.add(_t((col.heading, "bold")))
            for q in col.questions:
                c.add(q)
    return root


COMMANDS = [plugins, standards]
