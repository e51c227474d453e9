"""tilsyn.plugins — hookspecs, the plugin manager and the built-in plugins.

Plugin authors need two names from here: ``hookimpl`` to mark their hook functions, and the hook
specifications in :mod:`tilsyn.plugins.hookspecs` to know what they may implement.
"""

import pluggy

hookimpl = pluggy.HookimplMarker("tilsyn")

__all__ = ["hookimpl"]
