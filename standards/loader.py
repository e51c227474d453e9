"""Load a standard from YAML and validate it beyond its types.

:func:`load_standard` decodes with ``msgspec.yaml.decode(..., type=Standard)``
and then checks ids, numbering, vocabularies and the plan columns. Every
problem is raised as :class:`~tilsyn.standards.errors.StandardError` naming
the file.
"""

from __future__ import annotations

import os
import re
import string
from pathlib import Path

import msgspec

from .errors import StandardError
from .model import (
    METHODS,
    PLAN_COLUMN_HEADINGS,
    PLAN_COLUMN_KEYS,
    SOURCES,
    TILBUD_PROPERTIES,
    TILBUD_TYPES,
    DesignElement,
    ModelMapping,
    PlanTemplate,
    QualityModel,
    RegionalStandard,
    Standard,
)

__all__ = ["load_standard", "decode_standard", "validate_standard"]

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def load_standard(path: str | os.PathLike[str]) -> Standard:
    """Read, decode and validate the standard in the YAML file ``path``."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise StandardError(p, f"cannot read file: {exc}") from exc
    return decode_standard(data, p)


def decode_standard(data: bytes | str, path: str | os.PathLike[str] = "<string>") -> Standard:
    """Decode and validate YAML ``data``; ``path`` is only used in error messages."""
    try:
        std = msgspec.yaml.decode(data, type=Standard)
    except msgspec.ValidationError as exc:
        raise StandardError(path, f"invalid standard: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise StandardError(path, f"invalid YAML: {exc}") from exc
    except Exception as exc:  # PyYAML scanner/parser errors surface as other types
        raise StandardError(path, f"invalid YAML: {exc}") from exc
    validate_standard(std, path)
    return std


def validate_standard(std: Standard, path: str | os.PathLike[str] = "<string>") -> None:
    """Raise :class:`StandardError` on the first problem found in ``std``."""
    def fail(msg: str) -> None:
        raise StandardError(path, msg)

    if not _ID_RE.match(std.id):
        fail(f"malformed standard id {std.id!r}")
    if not std.version.strip():
        fail("empty version")
    if isinstance(std, QualityModel):
        _validate_quality_model(std, fail)
    elif isinstance(std, RegionalStandard):
        _validate_regional(std, fail)
    elif isinstance(std, PlanTemplate):
        _validate_plan(std, fail)
    elif isinstance(std, ModelMapping):
        _validate_mapping(std, fail)
    else:  # pragma: no cover - the union is closed
        fail(f"unknown standard type {type(std).__name__}")


def _check_vocab(values, vocab, what, where, fail) -> None:
    seen = set()
    for v in values:
        if v not in vocab:
            fail(f"{where}: unknown {what} {v!r} (allowed: {', '.join(vocab)})")
        if v in seen:
            fail(f"{where}: {what} {v!r} listed twice")
        seen.add(v)


def _validate_mapping(mm: ModelMapping, fail) -> None:
    if "@" not in mm.target:
        fail(f"modelkort {mm.id}: target must be id@version, not {mm.target!r}")
    theme_ids = [t.id for t in mm.themes]
    if len(set(theme_ids)) != len(theme_ids) or not theme_ids:
        fail(f"modelkort {mm.id}: theme ids must be unique and present")
    ids = [i.id for i in mm.indikatorer]
    if len(set(ids)) != len(ids):
        fail(f"modelkort {mm.id}: indikator ids must be unique")
    for i in mm.indikatorer:
        if i.theme not in theme_ids:
            fail(f"modelkort {mm.id}: indikator {i.id} names unknown theme {i.theme!r}")
        if not i.maps_to or not i.text.strip():
            fail(f"modelkort {mm.id}: indikator {i.id} needs its text and at least one target marker")


def _validate_element(el: DesignElement, expected_id: str, fail) -> None:
    if el.id != expected_id:
        fail(f"design element id {el.id!r} out of order or malformed, expected {expected_id!r}")
    if not el.heading.strip():
        fail(f"design element {el.id}: empty heading")
    if not el.options:
        fail(f"design element {el.id}: no options (method, source)")
    seen = set()
    for opt in el.options:
        if opt.method not in METHODS:
            fail(f"design element {el.id}: unknown method {opt.method!r} (allowed: {', '.join(METHODS)})")
        if opt.source not in SOURCES:
            fail(f"design element {el.id}: unknown source {opt.source!r} (allowed: {', '.join(SOURCES)})")
        key = (opt.method, opt.source)
        if key in seen:
            fail(f"design element {el.id}: option {opt.method}/{opt.source} listed twice")
        seen.add(key)
    _check_vocab(el.not_applicable_to, TILBUD_TYPES, "tilbud type", f"design element {el.id}", fail)
    _check_vocab(el.open_sources, METHODS, "method (open_sources)", f"design element {el.id}", fail)
    if el.text != el.text.strip():
        fail(f"design element {el.id}: stray whitespace around text")
    for part in el.parts:
        if part.text != part.text.strip():
            fail(f"design element {el.id}: stray whitespace around a part's text")
    for s in (*el.all_points(), *el.notes):
        if not s.strip() or s != s.strip():
            fail(f"design element {el.id}: empty bullet/note or stray whitespace in {s!r}")


def _validate_quality_model(qm: QualityModel, fail) -> None:
    if not qm.themes:
        fail("quality model has no themes")
    seen: set[str] = set()

    def unique(i: str) -> None:
        if i in seen:
            fail(f"duplicate id {i!r}")
        seen.add(i)

    for ti, theme in enumerate(qm.themes, 1):
        unique(theme.id)
        if theme.id != str(ti):
            fail(f"theme id {theme.id!r} out of order or malformed, expected {str(ti)!r}")
        if not theme.title.strip() or not theme.description.strip():
            fail(f"theme {theme.id}: empty title or description")
        if not theme.criteria:
            fail(f"theme {theme.id}: no criteria")
        for ci, crit in enumerate(theme.criteria, 1):
            unique(crit.id)
            exp = f"{theme.id}.{ci}"
            if crit.id != exp:
                fail(f"criterion id {crit.id!r} out of order or malformed, expected {exp!r}")
            if not crit.title.strip():
                fail(f"criterion {crit.id}: empty title")
            if not crit.markers:
                fail(f"criterion {crit.id}: no markers")
            for mi, marker in enumerate(crit.markers, 1):
                unique(marker.id)
                exp = f"{crit.id}.{mi}"
                if marker.id != exp:
                    fail(f"marker id {marker.id!r} out of order or malformed, expected {exp!r}")
                if not marker.title.strip():
                    fail(f"marker {marker.id}: empty title")
                if not marker.design:
                    fail(f"marker {marker.id}: no design elements")
                if len(marker.design) > len(string.ascii_lowercase):
                    fail(f"marker {marker.id}: too many design elements")
                _check_vocab(marker.not_applicable_to, TILBUD_TYPES, "tilbud type", f"marker {marker.id}", fail)
                _check_vocab(marker.requires, TILBUD_PROPERTIES, "tilbud property", f"marker {marker.id}", fail)
                for ei, el in enumerate(marker.design):
                    unique(el.id)
                    _validate_element(el, f"{marker.id}.{string.ascii_lowercase[ei]}", fail)
                ids = {el.id for el in marker.design}
                grouped: set[str] = set()
                for group in marker.alternatives:
                    if len(group) < 2:
                        fail(f"marker {marker.id}: an alternatives group needs at least two element ids")
                    for gid in group:
                        if gid not in ids:
                            fail(f"marker {marker.id}: alternatives name unknown design element {gid!r}")
                        if gid in grouped:
                            fail(f"marker {marker.id}: design element {gid!r} in more than one alternatives group")
                        grouped.add(gid)


def _validate_regional(rs: RegionalStandard, fail) -> None:
    if not re.match(r"^\d+(\.\d+)*$", rs.number):
        fail(f"malformed standard number {rs.number!r}")
    numbers = [t.number for t in rs.trin]
    if numbers != [1, 2, 3, 4]:
        fail(f"trin must be numbered 1, 2, 3, 4 in order, got {numbers}")
    last = 0
    for t in rs.trin:
        if not t.title.strip():
            fail(f"trin {t.number}: empty title")
        if t.cadence_years is not None and t.cadence_years < 1:
            fail(f"trin {t.number}: cadence_years must be positive")
        if not t.indikatorer:
            fail(f"trin {t.number}: no indikatorer")
        for ind in t.indikatorer:
            if ind.number <= last:
                fail(f"indikator {ind.number} in trin {t.number}: numbers must be unique and increasing")
            last = ind.number
            if not ind.text.strip():
                fail(f"indikator {ind.number}: empty text")
    if not rs.references:
        fail("no references")


def _validate_plan(pt: PlanTemplate, fail) -> None:
    keys = tuple(c.key for c in pt.columns)
    if keys != PLAN_COLUMN_KEYS:
        fail(f"plan columns must be exactly {list(PLAN_COLUMN_KEYS)} in order, got {list(keys)}")
    headings = tuple(c.heading for c in pt.columns)
    if headings != PLAN_COLUMN_HEADINGS:
        fail(f"plan column headings must be exactly {list(PLAN_COLUMN_HEADINGS)}, got {list(headings)}")
    for c in pt.columns:
        if not c.questions:
            fail(f"plan column {c.key}: no guiding question")
    if not pt.row_label.strip():
        fail("empty row_label")
    last = 0
    for row in pt.example:
        if row.priority <= last:
            fail(f"example priority {row.priority}: priorities must be unique and increasing")
        last = row.priority
        for k in row.values:
            if k not in PLAN_COLUMN_KEYS:
                fail(f"example priority {row.priority}: unknown column {k!r}")
