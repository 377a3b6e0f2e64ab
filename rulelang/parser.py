"""Stage 1: `.rule` text -> ``lark.Tree``.

The one Lark configuration (LALR, positions, strict). Lark's exceptions become a
``ParseError`` whose diagnostic names what was expected, in the language's words.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from rulelang.errors import Diagnostic, ParseError
from rulelang.paths import grammar_file
from rulelang.source import SourceFile, Span

_TERMINAL_WORDS = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "SIGNED_NUMBER": "a number",
    "COMP_OP": "a comparison",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*` or `/`",
    "RANGE_OP": "`..` or `..<`",
    "TIME_UNIT": "`ms` or `s`",
    "TRUE": "`true`",
    "FALSE": "`false`",
    "$END": "the end of the file",
}
_COMMENT_OR_STRING = re.compile(r'"(?:\\.|[^"\\\n])*"|#[^\n]*')


@functools.cache
def _lark() -> lark.Lark:
    text = grammar_file().read_text(encoding="utf-8")
    # No placeholders for `[...]`: the transformer reads what matched (a third faster).
    return lark.Lark(
        text, parser="lalr", propagate_positions=True, strict=True, maybe_placeholders=False
    )


def parse_tree(source: SourceFile) -> lark.Tree[lark.Token]:
    """Parse one file; raise ParseError with a caret at the offending token."""
    try:
        return _lark().parse(source.text)
    except UnexpectedInput as exc:
        raise ParseError([_diagnostic(source, exc)]) from None


def comments(source: SourceFile) -> tuple[tuple[int, str], ...]:
    """Every comment as (line, text), skipping `#` inside strings."""
    found = []
    for match in _COMMENT_OR_STRING.finditer(source.text):
        if match.group().startswith("#"):
            found.append((source.line_col(match.start())[0], match.group()))
    return tuple(found)


def _diagnostic(source: SourceFile, exc: UnexpectedInput) -> Diagnostic:
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        span = Span(pos, pos + 1, source)
        char = source.text[pos]
        if char == '"':
            return _bad_string(source, pos)
        return Diagnostic("E001", f"unexpected character {char!r}", span, _expected(exc.allowed))
    if isinstance(exc, UnexpectedEOF):
        end = len(source.text.rstrip())
        span = Span(max(0, end - 1), max(1, end), source)
        return Diagnostic("E002", "unexpected end of file", span, _expected(exc.expected))
    assert isinstance(exc, UnexpectedToken)
    token = exc.token
    keyword = _keyword_as_name(exc)
    if keyword is not None:
        return _misplaced_keyword(source, exc, keyword)
    if token.type == "$END":
        end = len(source.text.rstrip())
        span = Span(max(0, end - 1), max(1, end), source)
        return Diagnostic("E002", "unexpected end of file", span, _expected(exc.expected))
    start = token.start_pos or 0
    span = Span(start, token.end_pos or start + 1, source)
    message = f"unexpected {_describe(token)}"
    return Diagnostic("E003", message, span, _expected(exc.expected))


def _bad_string(source: SourceFile, pos: int) -> Diagnostic:
    """A `"` that starts no string: it is not closed on its line, or has a bad escape."""
    line_end = source.text.find("\n", pos)
    rest = source.text[pos + 1 : line_end if line_end >= 0 else len(source.text)]
    if '"' not in rest.replace("\\\\", "").replace('\\"', ""):
        return Diagnostic(
            "E001",
            "unterminated string",
            Span(pos, pos + 1, source),
            'close it with `"` on the same line',
        )
    return Diagnostic(
        "E001",
        "bad escape in a string",
        Span(pos, pos + 1, source),
        'a string escapes only `\\"` and `\\\\`',
    )


def _keyword_as_name(exc: UnexpectedToken) -> lark.Token | None:
    """A keyword the parser took for a name just before the error.

    Keywords are not reserved, so in `when x and then ...` the `then` is read as a
    name, and the error would otherwise point at the token after it.
    """
    stack = exc.interactive_parser.parser_state.value_stack if exc.interactive_parser else []
    node = stack[-1] if stack else None
    while isinstance(node, lark.Tree) and node.data != "path" and node.children:
        node = node.children[-1]
    if isinstance(node, lark.Tree) and len(node.children) == 1:
        node = node.children[0]  # a one-part path: a bare name, not a field after `.`
    elif isinstance(node, lark.Tree) or (len(stack) > 1 and str(stack[-2]) == "."):
        return None
    if isinstance(node, lark.Token) and node.type == "NAME" and _is_keyword(str(node)):
        return node
    return None


def _misplaced_keyword(source: SourceFile, exc: UnexpectedToken, keyword: lark.Token) -> Diagnostic:
    start = keyword.start_pos or 0
    span = Span(start, keyword.end_pos or start + 1, source)
    parser = exc.interactive_parser
    assert parser is not None
    if isinstance(parser.parser_state.value_stack[-1], lark.Token):
        # Not reduced yet: what the state before the keyword accepted is what was expected.
        state = parser.parser_state.state_stack[-2]
        expected = parser.parser_state.parse_conf.parse_table.states[state].keys()
        hint = _expected([n for n in expected if n.isupper()])
    else:
        hint = f"expected an expression here; `{keyword}` is a keyword"
    return Diagnostic("E003", f"unexpected `{keyword}`", span, hint)


def _describe(token: lark.Token) -> str:
    if token.type == "NAME" and _is_keyword(str(token)):
        return f"`{token}`"  # a keyword the lexer took for a name: `block`, not "name `block`"
    if token.type in ("NAME", "STRING", "NUMBER", "SIGNED_NUMBER"):
        return f"{_TERMINAL_WORDS[token.type].split(' ', 1)[1]} `{token}`"
    return f"`{token}`"


def _is_keyword(word: str) -> bool:
    return any(
        isinstance(t.pattern, lark.lexer.PatternStr) and t.pattern.value == word
        for t in _lark().terminals
    )


def _expected(names: Iterable[Any] | None) -> str:
    if not names:
        return ""
    # Kinds of token ("a comparison", "a name") first: they say the most when the list is cut.
    words = sorted({_word(str(n)) for n in names}, key=lambda w: (w.startswith("`"), w))
    if len(words) > 10:
        words = [*words[:10], "..."]
    return "expected " + ", ".join(words)


def _word(terminal: str) -> str:
    if terminal in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[terminal]
    for term in _lark().terminals:
        if term.name == terminal and isinstance(term.pattern, lark.lexer.PatternStr):
            return f"`{term.pattern.value}`"
    return terminal.lower()
