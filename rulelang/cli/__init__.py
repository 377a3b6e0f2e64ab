"""The command line, one module per command group; nothing outside this package
imports it. ``main(argv)`` runs one command and returns its exit status."""

from rulelang.cli.main import main

__all__ = ["main"]
