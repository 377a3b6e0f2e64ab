"""``python -m rulelang ...``: the same as ``rulelang ...``."""

from rulelang.cli.main import entry

entry()
