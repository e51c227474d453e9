"""tilsyn-ledger: a tamper-evident, event-sourced compliance ledger for Danish social supervision.

The import root. Its subpackages live in the repository's top-level folders (``ledger/``,
``standards/``, ``plugins/``, ``cli/``), mapped to ``tilsyn.*`` by ``package-dir`` in pyproject.toml;
this folder holds only the root itself and ``python -m tilsyn``.
"""

__version__ = "0.1.0"
"""The distribution's version, as in pyproject.toml (a test checks they agree)."""
