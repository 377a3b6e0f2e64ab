"""The diagnostic catalog (rulelang/diagnostics.py), the codes the source reports and
the table in docs/reference.md ("Diagnostics") agree with one another."""

from __future__ import annotations

import re

from conftest import REPO

from rulelang.diagnostics import CATALOG, STAGES

CODE = re.compile(r"\b[EW]\d{3}\b")
ROW = re.compile(r"^\| `([EW]\d{3})` \| (\w+) \| (.+) \|$", re.MULTILINE)


def documented() -> dict[str, str]:
    """Code → stage, from the reference's table."""
    text = (REPO / "docs" / "reference.md").read_text(encoding="utf-8")
    return {code: stage for code, stage, _ in ROW.findall(text)}


def test_every_catalogued_code_is_documented_with_its_stage() -> None:
    docs = documented()
    assert {c: entry.stage for c, entry in CATALOG.items()} == docs


def test_every_code_the_source_reports_is_in_the_catalog() -> None:
    catalog_file = REPO / "rulelang" / "diagnostics.py"
    used = {
        code
        for path in (REPO / "rulelang").rglob("*.py")
        if path != catalog_file
        for code in CODE.findall(path.read_text(encoding="utf-8"))
    }
    assert used, "no codes found: the pattern is wrong"
    assert used <= set(CATALOG), sorted(used - set(CATALOG))


def test_codes_name_their_severity_and_a_known_stage() -> None:
    for code, entry in CATALOG.items():
        assert entry.code == code and entry.stage in STAGES and entry.title
        assert entry.severity == ("warning" if code.startswith("W") else "error")
