"""Region Nord's plugin for tilsyn: regional quality standard rn-2.4 *Medicinhåndtering*.

An invented example of what a region ships: one standard as a YAML data file, and one guard rule of
its own. The generic regional findings (trin 3 monitoring overdue, no trin 4 plan after a shortfall)
come with tilsyn and work for this standard without any code here.

Found by tilsyn through the entry point in pyproject.toml::

    [project.entry-points.tilsyn]
    region_nord = "tilsyn_region_nord"
"""

from __future__ import annotations

from pathlib import Path

from tilsyn.plugins import hookimpl
from tilsyn.standards import events as ev
from tilsyn.standards.loader import load_standard
from tilsyn.standards.rules import GuardRule

__version__ = "0.1.0"

STANDARD_ID = "rn-2.4"
_DATA = Path(__file__).with_name("rn-2.4.yaml")


@hookimpl
def tilsyn_standards():
    """Regional kvalitetsstandard rn-2.4 Medicinhåndtering (Region Nord), trin 1–4, indikator 1–8."""
    return [load_standard(_DATA)]


def document_cited(stmt, state, catalog):
    """An rn-2.4 indikator checked *opfyldt* must name the document that was checked.

    Region Nord wants every *opfyldt* to be traceable to the guideline, list or record the
    supervisor actually read, so the reason must cite it ("dok. …", "dokument …").
    """
    p = stmt.payload
    if p.get("standard") != STANDARD_ID or p.get("verdict") != "opfyldt":
        return None
    if "dok" not in p.get("reason", "").lower():
        return (f"indikator {p['indikator']} i {STANDARD_ID} kan kun kontrolleres opfyldt, når begrundelsen "
                f"nævner det kontrollerede dokument (fx »dok. MH-01 Retningslinje for medicinhåndtering«)")
    return None


@hookimpl
def tilsyn_guards():
    return [GuardRule("rn-dokument-kildeangivet",
                      "En indikator i rn-2.4 kontrolleret opfyldt skal nævne det dokument, der er kontrolleret.",
                      document_cited, event_types=(ev.INDIKATOR_CHECKED,), references=(STANDARD_ID,))]
