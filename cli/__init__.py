"""tilsyn.cli."""
