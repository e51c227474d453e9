"""Built-in plugin: the national quality model for tilbud, 2025 (*kvalitetsmodel*, seed 002).

Registered through the entry-point group ``tilsyn`` exactly as an external plugin package would be.
The standard itself is data: ``kvalitetsmodel-2025.yaml`` beside this file, readable and editable as text.
"""

from pathlib import Path

from tilsyn.plugins import hookimpl
from tilsyn.standards.loader import load_standard

__version__ = "1.1.0"

_DATA = Path(__file__).with_name("kvalitetsmodel-2025.yaml")
_OLDER = Path(__file__).with_name("kvalitetsmodel-foer-2025.yaml")


@hookimpl
def tilsyn_standards():
    """Kvalitetsmodel for tilbud – Socialtilsynene 2025: 5 temaer, 9 kvalitetskriterier, 20 kvalitetsmarkører;
    and the modelkort from the older model (seven themes, seed 004's indikatorer) onto it."""
    return [load_standard(_DATA), load_standard(_OLDER)]


@hookimpl
def tilsyn_guards():
    """Guards from the model's rules of application (seed 002)."""
    from . import rules

    return rules.GUARDS


@hookimpl
def tilsyn_findings():
    """Findings on design coverage, triangulation (seed 004), justification depth and suggestions."""
    from . import audit_19_1, method_rules, rules

    return [*rules.FINDINGS, *method_rules.FINDINGS, *audit_19_1.FINDINGS]


@hookimpl
def tilsyn_settings():
    """Thresholds for the findings; override them in tilsyn.toml."""
    from . import rules

    return [rules.SETTINGS]
