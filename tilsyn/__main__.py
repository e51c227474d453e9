"""``python -m tilsyn``: the same command as the ``tilsyn`` entry point."""

from tilsyn.cli.launch import main

if __name__ == "__main__":
    main()
