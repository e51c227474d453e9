"""tilsyn.standards."""
