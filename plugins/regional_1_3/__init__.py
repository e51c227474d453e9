"""Built-in plugin: regional quality standard 1.3 *Individuelle planer* (seed 003).

Registered through the entry-point group ``tilsyn`` exactly as an external plugin package would be.
The standard itself is data: ``regional-1.3.yaml`` beside this file, readable and editable as text.
"""

from pathlib import Path

from tilsyn.plugins import hookimpl
from tilsyn.standards.loader import load_standard

__version__ = "1.0.0"

_DATA = Path(__file__).with_name("regional-1.3.yaml")


@hookimpl
def tilsyn_standards():
    """Regional kvalitetsstandard 1.3 Individuelle planer, trin 1–4, indikator 1–9."""
    return [load_standard(_DATA)]
