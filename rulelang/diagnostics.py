"""The catalog of diagnostic codes: every code any stage reports, defined once.

A code is stable: tools and people search for it, so it is never reused for another
meaning. ``Diagnostic`` refuses a code that is not here, and tests/test_catalog.py
holds this catalog, the codes the source raises and the table in docs/reference.md
("Diagnostics") to one another. ``E`` codes are errors (the file does not load),
``W`` codes warnings (printed and counted, never failing a check).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

STAGES = ("parse", "templates", "check", "bind", "review")


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    stage: str  # one of STAGES: where it is reported
    title: str  # what it means, in one line (docs/reference.md says more)

    @property
    def severity(self) -> str:
        return "warning" if self.code.startswith("W") else "error"


def _catalog(*codes: Code) -> Mapping[str, Code]:
    return MappingProxyType({c.code: c for c in codes})


CATALOG: Mapping[str, Code] = _catalog(
    Code("E001", "parse", "unexpected character"),
    Code("E002", "parse", "unexpected end of file"),
    Code("E003", "parse", "unexpected token"),
    Code("E010", "parse", "priority is not a whole number"),
    Code("E101", "templates", "unknown template"),
    Code("E102", "templates", "template defined twice"),
    Code("E103", "templates", "imported file not found"),
    Code("E104", "templates", "an imported file holds more than templates and imports"),
    Code("E105", "templates", "wrong number of template arguments"),
    Code("E106", "templates", "a template reads a field of an argument that is not facts"),
    Code("E200", "check", "policy header missing or repeated"),
    Code("E201", "check", "unknown name"),
    Code("E202", "check", "duplicate name"),
    Code("E203", "check", "unknown type"),
    Code("E204", "check", "a domain that does not fit the field's type"),
    Code("E205", "check", "a bad range"),
    Code("E206", "check", "min_confidence outside 0% .. 100%"),
    Code("E207", "check", "a fallback that is not a value of the model's result"),
    Code("E208", "check", "model declared but never used"),
    Code("E209", "check", "a timeout that is not longer than 0 ms"),
    Code("E210", "check", "a word of the language used as a name"),
    Code("E301", "check", "a condition that can be unknown has no `if unknown`"),
    Code("E302", "check", "a rule that can never fire: its condition is always false"),
    Code("E303", "check", "not true or false where a condition is needed"),
    Code("E304", "check", "assignment to something that is not an output"),
    Code("E305", "check", "a boost that does not fit"),
    Code("E306", "check", "type mismatch"),
    Code("E307", "check", "a stored value can be unknown"),
    Code("E308", "check", "bounds on an override of the action"),
    Code("E309", "check", "`expect fired` names an unknown rule"),
    Code("E310", "check", "`given` sets something that is not a fact field"),
    Code("E311", "check", "not a literal where a literal is needed"),
    Code("E312", "check", "a `given` value outside the field's range"),
    Code("E313", "check", "an optional field read without a default or a presence test"),
    Code("E314", "check", "`reasons` used in an expression"),
    Code("E315", "check", "a model called where models are not allowed"),
    Code("E316", "check", "wrong number of arguments"),
    Code("E317", "check", "a text value outside the enumeration"),
    Code("E318", "check", "a default or presence test on a value that is never missing"),
    Code("E401", "bind", "a declared model is not bound"),
    Code("E402", "bind", "a bound model the policy does not declare"),
    Code("E403", "bind", "a binding that does not fit its declaration"),
    Code("W401", "review", "a rule no valid input can fire"),
    Code("W402", "review", "a shadowed rule"),
    Code("W403", "review", "a write conflict between two rules"),
    Code("W404", "bind", "a callable whose bare answers never meet min_confidence"),
)


def lookup(code: str) -> Code:
    """The catalog entry of ``code``; a KeyError names a code nobody registered."""
    try:
        return CATALOG[code]
    except KeyError:
        raise KeyError(f"diagnostic code {code} is not in rulelang.diagnostics.CATALOG") from None
