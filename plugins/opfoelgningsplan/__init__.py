"""Built-in plugin: the provider's follow-up plan template (*opfølgningsplan*, seeds 000 and 001).

Registered through the entry-point group ``tilsyn`` exactly as an external plugin package would be.
The standard itself is data: ``opfoelgningsplan.yaml`` beside this file, readable and editable as text.
"""

from pathlib import Path

from tilsyn.plugins import hookimpl
from tilsyn.standards.loader import load_standard

__version__ = "1.0.0"

_DATA = Path(__file__).with_name("opfoelgningsplan.yaml")


@hookimpl
def tilsyn_standards():
    """Skabelon for opfølgningsplan: ni kolonner, rækker efter prioritet."""
    return [load_standard(_DATA)]


@hookimpl
def tilsyn_guards():
    """Plan rows exist, have valid dates and answer a påbud; an approval covers the plan as it stands."""
    from . import rules

    return rules.GUARDS


@hookimpl
def tilsyn_findings():
    """A plan not approved by a tilbudsleder in its current form."""
    from . import rules

    return rules.FINDINGS
