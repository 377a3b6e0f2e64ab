"""One error hierarchy, rendered like a compiler's.

Every stage reports ``Diagnostic``s (code, message, span, help) and raises one
``RuleError`` subclass carrying all of them. ``str()`` of the error is the report:

    retail.rule:12:8: error[E201]: unknown field `item.stok`
       |
    12 |   when item.stok == 0
       |        ^^^^^^^^^
       = help: did you mean `item.stock`?
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rulelang.diagnostics import lookup
from rulelang.source import Span


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    span: Span | None
    help: str = ""
    severity: str = "error"  # "error" | "warning"

    def __post_init__(self) -> None:
        # A code is a promise to the reader (docs/reference.md explains it): only
        # catalogued codes, with the catalog's severity, can be reported.
        entry = lookup(self.code)
        if entry.severity != self.severity:
            raise ValueError(f"{self.code} is a {entry.severity}, not a {self.severity}")

    def sort_key(self) -> tuple[str, int, str]:
        if self.span is None:
            return ("", 0, self.code)
        return (self.span.file.name, self.span.start, self.code)

    def render(self) -> str:
        head = f"{self.severity}[{self.code}]: {self.message}"
        if self.span is None:
            return head + (f"\n  = help: {self.help}" if self.help else "")
        span = self.span
        line, col = span.file.line_col(span.start)
        text = span.file.line_text(line)
        end_line, _ = span.file.line_col(max(span.start, span.end - 1))
        width = (span.end - span.start) if end_line == line else len(text) - col + 1
        gutter = " " * len(str(line))
        out = [
            f"{span.file.name}:{line}:{col}: {head}",
            f"{gutter} |",
            f"{line} | {text}",
            f"{gutter} | {' ' * (col - 1)}{'^' * max(1, width)}",
        ]
        if self.help:
            out.append(f"{gutter} = help: {self.help}")
        return "\n".join(out)


class RuleError(Exception):
    """Base of every error rulelang reports; carries all diagnostics of a stage."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(sorted(diagnostics, key=Diagnostic.sort_key))
        super().__init__(self.render())

    def render(self) -> str:
        parts = [d.render() for d in self.diagnostics]
        errors = sum(1 for d in self.diagnostics if d.severity == "error")
        if errors > 1:
            parts.append(f"{errors} errors")
        return "\n\n".join(parts)


class ParseError(RuleError):
    """The text is not a `.rule` file: syntax, tokens, imports."""


class CheckError(RuleError):
    """The text parses but does not make sense: names, types, rights."""


class ModelBindingFailed(RuleError):
    """Declared models are not bound, or bound to something that does not fit.

    The one binding error: raised for Python bindings, ``models.yaml`` and the model
    registry alike. ``messages`` lists each problem's text.
    """

    @classmethod
    def from_messages(cls, messages: Sequence[str], source: str = "") -> ModelBindingFailed:
        where = f"bound in {source}" if source else ""
        return cls([Diagnostic("E403", m, None, where) for m in messages])

    @property
    def messages(self) -> tuple[str, ...]:
        return tuple(d.message for d in self.diagnostics)


class UsageError(Exception):
    """Bad usage: a missing file, a wrong flag value, a value that does not parse.

    The command line prints it as one line and exits 2; nothing is logged.
    """


class NoSuchFile(UsageError, FileNotFoundError):
    """A policy or bindings file that is not there (a ``FileNotFoundError`` too)."""


class FactError(Exception):
    """A fact failed validation. ``issues`` names every bad field at once."""

    def __init__(self, issues: Sequence[FactIssue]) -> None:
        self.issues = tuple(issues)
        lines = [f"  {i.path}: {i.message}" for i in self.issues]
        super().__init__("bad facts:\n" + "\n".join(lines))

    def to_dict(self) -> dict[str, Any]:
        return {"type": "bad_facts", "issues": [i.to_dict() for i in self.issues]}


@dataclass(frozen=True, slots=True)
class FactIssue:
    path: str
    expected: str
    got: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "expected": self.expected, "got": self.got}


class EvaluationError(Exception):
    """A value error during a decision (division by zero): the decision is blocked.

    Where it happened, when known: in ``rule`` (a rule or constraint), or in the
    starting value of ``output``, declared at ``line``.
    """

    def __init__(self, message: str, rule: str = "", output: str = "", line: int = 0) -> None:
        self.rule = rule
        self.output = output
        self.line = line
        super().__init__(message)

    @classmethod
    def at(cls, exc: Exception, rule: str = "", output: str = "", line: int = 0) -> EvaluationError:
        """``exc`` (an EvaluationError or an ArithmeticError) located where it happened."""
        message = str(exc) if isinstance(exc, EvaluationError) else f"arithmetic error: {exc}"
        return cls(message, rule, output, line)

    @property
    def reason(self) -> str:
        """The reason a decision that failed gives."""
        if self.output:
            where = f"the starting value of {self.output} (line {self.line})"
            return f"evaluation error in {where}: {self}"
        return f"evaluation error in {self.rule}: {self}" if self.rule else str(self)

    def to_dict(self) -> dict[str, Any]:
        """The decision record's ``error``: where, by the rule or the output and its line."""
        if self.output:
            return {
                "type": "evaluation",
                "message": str(self),
                "output": self.output,
                "line": self.line,
            }
        return {"type": "evaluation", "message": str(self), "rule": self.rule}


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """A `help:` hint naming the nearest option, or listing a few."""
    options = sorted(set(options))
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    if not options:
        return ""
    shown = ", ".join(f"`{o}`" for o in options[:8])
    return f"expected one of {shown}" + (", ..." if len(options) > 8 else "")
