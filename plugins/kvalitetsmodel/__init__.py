"""Built-in plugin: the national quality model for tilbud, 2025 (*kvalitetsmodel*, seed 002).

Registered through the entry-point group ``tilsyn`` exactly as an external plugin package would be.
The standard itself is data: ``kvalitetsmodel-2025.yaml`` beside this file, readable and editable as text.
"""

from pathlib import Path

from tilsyn.plugins import hookimpl
from tilsyn.standards.loader import load_standard

__version__ = "1.0.0"

_DATA = Path(__file__).with_name("kvalitetsmodel-2025.yaml")


@hookimpl
def tilsyn_standards():
    """Kvalitetsmodel for tilbud – Socialtilsynene 2025: 5 temaer, 9 kvalitetskriterier, 20 kvalitetsmarkører."""
    return [load_standard(_DATA)]
