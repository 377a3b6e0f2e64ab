"""What every command module shares: exit codes, the parser type, warnings' printing.

Only ``rulelang.cli`` prints; library functions return data.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from rulelang.app import Bindings
from rulelang.errors import Diagnostic, NoSuchFile

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:  # not subscriptable at run time before Python 3.12's typeshed-only generic
    Subparsers = argparse._SubParsersAction


def facts_file(path: Path) -> Path:
    if not path.is_file():
        raise NoSuchFile(f"no such file: {path}")
    return path


def print_warnings(warnings: Iterable[Diagnostic]) -> int:
    """Print warnings to standard error, each as a compiler would; how many there were."""
    count = 0
    for warning in warnings:
        print(warning.render() + "\n", file=sys.stderr)
        count += 1
    return count


def hypothesis_cache() -> None:
    """Hypothesis keeps a cache in ./.hypothesis unless told otherwise: a policy check
    run from any directory should not leave one there, so it goes to the user's cache."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(base / "rulelang" / "hypothesis"))


BESIDE = "beside"


def add_models_option(parser: argparse.ArgumentParser, text: str) -> None:
    """``--models`` alone binds the models.yaml beside the policy; ``--models PATH`` that
    file; no flag binds nothing (for commands whose default is no real models)."""
    parser.add_argument("--models", nargs="?", const=BESIDE, metavar="PATH", help=text)


def bindings_of(value: str | None) -> Bindings:
    """The ``bindings`` argument of ``open_policy`` for an ``add_models_option`` value."""
    if value is None:
        return False
    return None if value == BESIDE else Path(value)
