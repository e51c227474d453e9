"""``python -m tilsyn``: the same command as the ``tilsyn`` entry point."""

from tilsyn.cli.main import main

if __name__ == "__main__":
    main()
