"""``python -m rulelang.cli ...``: the same as ``rulelang ...``."""

from rulelang.cli.main import entry

entry()
