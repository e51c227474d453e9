"""Meta-model for the standards that tilsyn-ledger assesses against.

Three kinds of standard exist, each a frozen msgspec struct, decoded from
YAML as the tagged union :data:`Standard` (tag field ``kind``):

* :class:`QualityModel` (*kvalitetsmodel*): tema → kvalitetskriterium →
  kvalitetsmarkør → undersøgelsesdesign (metode × kilde).
* :class:`RegionalStandard` (*regional kvalitetsstandard*): trin 1–4, each
  with numbered *indikatorer*.
* :class:`PlanTemplate` (*opfølgningsplan*): the provider's follow-up plan
  with its nine columns.

Code identifiers are English; the data (and its vocabulary) stays Danish,
word for word as in the source documents. Validation beyond types (id
numbering, vocabularies, …) lives in :mod:`tilsyn.standards.loader`.
"""

from __future__ import annotations

import datetime
from typing import Iterator, Union

import msgspec

__all__ = [
    "TILBUD_TYPES",
    "METHODS",
    "SOURCES",
    "RECEIVED_SOURCES",
    "TILBUD_PROPERTIES",
    "MethodSource",
    "DesignPart",
    "DesignElement",
    "Marker",
    "Criterion",
    "Theme",
    "RuleSection",
    "QualityModel",
    "Indikator",
    "Trin",
    "RegionalStandard",
    "PlanColumn",
    "PlanExampleRow",
    "PlanTemplate",
    "MappedTheme",
    "MappedIndikator",
    "ModelMapping",
    "Standard",
    "PLAN_COLUMN_KEYS",
    "PLAN_COLUMN_HEADINGS",
]

#: Kinds of tilbud (*tilbudstyper*) a design element or marker can be excluded for.
TILBUD_TYPES: tuple[str, ...] = ("døgntilbud", "dagtilbud", "ambulant", "krisecenter")

#: Methods (*metoder*) of the undersøgelsesdesign.
METHODS: tuple[str, ...] = ("interview", "observation", "dokumentanalyse", "trianguleringsinterview")

#: Sources (*kilder*) of the undersøgelsesdesign, derived from seed 002 (and the
#: audit in seed 004). Lower-case Danish, singular.
SOURCES: tuple[str, ...] = (
    "borger",  # borgerne (interview / observation of samspil)
    "medarbejder",  # medarbejdere
    "ledelse",  # ledelse, daglig ledelse, direktion
    "bestyrelse",  # bestyrelsen (seed 004: interview af bestyrelse)
    "pårørende",
    "værge",
    "handlekommune",  # handlekommune, anbringende/visiterende kommune
    "anden professionel",  # "anden relevant professionel aktør"
    "dagtilbud",  # "dagtilbud/skole/beskæftigelsestilbud" as triangulation source
    "skole",
    "beskæftigelsestilbud",
    "tilbudsportalen",  # Tilbudsportalen (TP): indberetninger, lederes CV …
    "dokumenter",  # the tilbud's own documents: oversigter, planer, referater, indberetninger …
    "fysiske rammer",  # observation of the physical surroundings
    "kvalitetsmodellen",  # the supervisor's findings in the model's other themes
    # Seed 002: «socialtilsynet modtager oplysninger via whistleblowerordningen, underretninger og orientering
    # fra andre myndigheder» — information the tilsyn receives rather than investigates.
    "whistleblowerordningen",
    "underretning",
    "anden myndighed",
)

#: Sources of information the tilsyn receives (seed 002) rather than collects by its design.
RECEIVED_SOURCES: tuple[str, ...] = ("whistleblowerordningen", "underretning", "anden myndighed")

#: Properties of a tilbud that a marker can require (else *ikke aktuel*).
TILBUD_PROPERTIES: tuple[str, ...] = ("bestyrelse",)

#: Column keys and headings of the follow-up plan, in order.
PLAN_COLUMN_KEYS: tuple[str, ...] = (
    "tema",
    "emne",
    "maal",
    "hvad",
    "hvordan",
    "hvornaar",
    "dokumentation",
    "hvem",
    "resultat",
)
PLAN_COLUMN_HEADINGS: tuple[str, ...] = (
    "TEMA",
    "EMNE",
    "MÅL",
    "HVAD?",
    "HVORDAN?",
    "HVORNÅR?",
    "DOKUMENTATION",
    "HVEM?",
    "RESULTAT",
)


# --------------------------------------------------------------------------
# Kvalitetsmodel
# --------------------------------------------------------------------------


class MethodSource(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """*Metode og kilde*: one acceptable way (method × source) to cover a design element."""

    method: str
    source: str


class DesignPart(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A further *afdækning* block (lead-in text and bullets) under one design-element heading.

    Used where the seed has more than one lead-in under the same heading, e.g.
    "Enten interview af medarbejdere eller observation af samspil" (4.1.1.c).
    """

    text: str = ""
    points: tuple[str, ...] = ()


class DesignElement(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """*Undersøgelsesdesign-element*: one heading of a marker's investigation design.

    ``options`` lists the (method, source) pairs of which any one observation
    covers the element. ``not_applicable_to`` names tilbud types the element
    does not apply to ("Gælder IKKE …"), quoted verbatim in ``notes``.
    """

    id: str
    heading: str
    text: str = ""
    points: tuple[str, ...] = ()
    parts: tuple[DesignPart, ...] = ()
    options: tuple[MethodSource, ...]
    not_applicable_to: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    open_sources: tuple[str, ...] = ()
    """Methods whose sources the seed only exemplifies ("… med én anden kilde, fx pårørende, værge …"): with
    these methods any named relevant source covers the element, recorded as given."""

    def covers(self, method: str, source: str) -> bool:
        """Whether an observation by ``method`` of ``source`` is one of this element's ways."""
        if any(o.method == method and o.source == source for o in self.options):
            return True
        return method in self.open_sources and source not in ("borger",)

    def all_points(self) -> tuple[str, ...]:
        """Every bullet of the element, including those of further ``parts``."""
        out = list(self.points)
        for part in self.parts:
            out.extend(part.points)
        return tuple(out)


class Marker(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """*Kvalitetsmarkør*: judged *til stede* / *ikke til stede* / *ikke aktuel*.

    ``requires`` holds tilbud properties (see :data:`TILBUD_PROPERTIES`)
    without which the marker is *ikke aktuel*; ``not_applicable_to`` holds
    tilbud types for which it is. ``design_text`` is verbatim prose that
    precedes the design elements and ``alternatives`` lists groups of design
    element ids of which covering one element covers the whole group.
    """

    id: str
    title: str
    design_text: str = ""
    design: tuple[DesignElement, ...]
    alternatives: tuple[tuple[str, ...], ...] = ()
    not_applicable_to: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()

    def element(self, element_id: str) -> DesignElement:
        """The design element with this id."""
        for el in self.design:
            if el.id == element_id:
                return el
        raise KeyError(f"marker {self.id}: no design element {element_id!r}")


class Criterion(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """*Kvalitetskriterium*: judged *opfyldt* / *ikke opfyldt*."""

    id: str
    title: str
    markers: tuple[Marker, ...]


class Theme(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """*Tema* of the quality model, with its *Temabeskrivelse* (``description``)."""

    id: str
    title: str
    description: str
    criteria: tuple[Criterion, ...]


class RuleSection(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """*Vejledning*: a headed section of the model's rules of application, verbatim."""

    heading: str
    paragraphs: tuple[str, ...]


class QualityModel(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="kind", tag="kvalitetsmodel"
):
    """*Kvalitetsmodel*: the national quality model (tema → kriterium → markør → design)."""

    id: str
    version: str
    title: str
    source: str
    rules: tuple[RuleSection, ...] = ()
    themes: tuple[Theme, ...]

    @property
    def kind(self) -> str:
        return "kvalitetsmodel"

    def theme(self, theme_id: str) -> Theme:
        for t in self.themes:
            if t.id == theme_id:
                return t
        raise KeyError(f"{self.id}: no theme {theme_id!r}")

    def criteria(self) -> Iterator[Criterion]:
        for t in self.themes:
            yield from t.criteria

    def markers(self) -> Iterator[Marker]:
        for c in self.criteria():
            yield from c.markers

    def criterion(self, criterion_id: str) -> Criterion:
        for c in self.criteria():
            if c.id == criterion_id:
                return c
        raise KeyError(f"{self.id}: no criterion {criterion_id!r}")

    def marker(self, marker_id: str) -> Marker:
        for m in self.markers():
            if m.id == marker_id:
                return m
        raise KeyError(f"{self.id}: no marker {marker_id!r}")

    def criterion_of_marker(self, marker_id: str) -> Criterion:
        for c in self.criteria():
            for m in c.markers:
                if m.id == marker_id:
                    return c
        raise KeyError(f"{self.id}: no marker {marker_id!r}")

    def theme_of_criterion(self, criterion_id: str) -> Theme:
        for t in self.themes:
            for c in t.criteria:
                if c.id == criterion_id:
                    return t
        raise KeyError(f"{self.id}: no criterion {criterion_id!r}")


# --------------------------------------------------------------------------
# Regional kvalitetsstandard
# --------------------------------------------------------------------------


class Indikator(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """*Indikator*: a numbered, checkable requirement inside a trin."""

    number: int
    text: str
    contents: tuple[str, ...] = ()


class Trin(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """*Trin* 1–4 of a regional standard (dokumenter, implementering, overvågning, forbedring)."""

    number: int
    title: str
    text: str = ""
    cadence_years: int | None = None
    indikatorer: tuple[Indikator, ...]


class RegionalStandard(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="kind", tag="regional"
):
    """*Regional kvalitetsstandard* (e.g. "1.3 Individuelle planer")."""

    id: str
    version: str
    number: str
    title: str
    source: str = ""
    statement: str
    purpose: str
    scope: str
    valid_from: datetime.date
    references: tuple[str, ...]
    trin: tuple[Trin, ...]

    @property
    def kind(self) -> str:
        return "regional"

    def indikatorer(self) -> Iterator[Indikator]:
        for t in self.trin:
            yield from t.indikatorer

    def indikator(self, number: int) -> Indikator:
        for i in self.indikatorer():
            if i.number == number:
                return i
        raise KeyError(f"{self.id}: no indikator {number!r}")

    def trin_of(self, number: int) -> Trin:
        """The trin that holds indikator ``number``."""
        for t in self.trin:
            for i in t.indikatorer:
                if i.number == number:
                    return t
        raise KeyError(f"{self.id}: no indikator {number!r}")


# --------------------------------------------------------------------------
# Opfølgningsplan
# --------------------------------------------------------------------------


class PlanColumn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """*Kolonne* of the opfølgningsplan with its guiding question(s)."""

    key: str
    heading: str
    questions: tuple[str, ...]


class PlanExampleRow(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """*Prioritet*: one filled-in row of the example plan (values keyed by column key)."""

    priority: int
    values: dict[str, str]


class PlanTemplate(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="kind", tag="opfoelgningsplan"
):
    """*Opfølgningsplan*: template for the tilbud's follow-up plan."""

    id: str
    version: str
    title: str
    source: str = ""
    guidance: tuple[str, ...]
    row_label: str
    columns: tuple[PlanColumn, ...]
    example: tuple[PlanExampleRow, ...] = ()

    @property
    def kind(self) -> str:
        return "opfoelgningsplan"

    def column(self, key: str) -> PlanColumn:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(f"{self.id}: no column {key!r}")


# --------------------------------------------------------------------------
# Modelkort: an older model's themes and indikatorer, mapped to a newer model
# --------------------------------------------------------------------------


class MappedTheme(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A theme of an older quality model and the theme of the target model it maps to."""

    id: str
    title: str
    aliases: tuple[str, ...] = ()
    maps_to: str
    source: str


class MappedIndikator(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """An *indikator* of an older model, its wording as the source gives it, and the target markers.

    ``full_text`` is false where the source only describes the indikator (seed 004: «indikator 9.b, som
    omhandler personalegennemstrømning»); ``text`` is then that description, verbatim.
    """

    id: str
    theme: str
    text: str
    full_text: bool = True
    source: str
    maps_to: tuple[str, ...]
    elements: tuple[str, ...] = ()
    note: str = ""


class ModelMapping(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="kind", tag="modelkort"
):
    """*Modelkort*: an older quality model's themes and indikatorer, mapped onto ``target`` (id@version).

    Lets a plan made under the older model name its theme, and trends be followed across model versions.
    """

    id: str
    version: str
    title: str
    source: str
    target: str
    themes: tuple[MappedTheme, ...]
    indikatorer: tuple[MappedIndikator, ...] = ()

    @property
    def kind(self) -> str:
        return "modelkort"

    def theme(self, theme_id: str) -> MappedTheme:
        for t in self.themes:
            if t.id == theme_id:
                return t
        raise KeyError(f"{self.id}: no theme {theme_id!r}")

    def indikator(self, indikator_id: str) -> MappedIndikator:
        for i in self.indikatorer:
            if i.id == indikator_id:
                return i
        raise KeyError(f"{self.id}: no indikator {indikator_id!r}")


#: Any standard; decoded by the ``kind`` tag.
Standard = Union[QualityModel, RegionalStandard, PlanTemplate, ModelMapping]
