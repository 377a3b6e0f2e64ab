"""Where the grammar and the standard library live, installed or in a checkout.

A wheel carries them inside the package (``rulelang/grammar``,
``rulelang/stdlib_rules``); a source checkout keeps them at the repository top.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"rulelang is installed without its {name}/ directory")


def grammar_file() -> Path:
    return _find("grammar") / "rulelang.lark"


def stdlib_dir() -> Path:
    return _find("stdlib_rules")
