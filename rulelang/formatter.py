"""``rulelang fmt``: AST -> canonical text, keeping every comment.

Formatting is a pure function of the AST and the comments: formatting formatted
text changes nothing, and parse(fmt(x)) equals parse(x). Comments are kept by
line: a comment on its own line stays before the construct that followed it; a
comment after code stays at the end of that code's line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from rulelang import nodes as n
from rulelang.operators import BINARY, UNARY
from rulelang.source import SourceFile, Span
from rulelang.transformer import parse

Line = tuple[int, str]  # (source line it came from, text)
WIDTH = 88

_LEVEL = {symbol: op.precedence for symbol, op in BINARY.items()}
# `in` and `is present` bind as comparisons; their value is a `??` (or tighter) and a
# range's bounds are sums, as the grammar says.
_COMPARISON, _COALESCE, _SUM = (BINARY[op].precedence for op in ("==", "??", "+"))
_NOT, _NEG = UNARY["not"].precedence, UNARY["-"].precedence


def format_source(text: str, name: str = "<string>") -> str:
    """Canonical text of a `.rule` file (raises ParseError on bad syntax)."""
    source = SourceFile(name, text)
    module = parse(source)
    lines: list[Line] = []
    for i, item in enumerate(module.items):
        if i and not _joined(module.items[i - 1], item):
            lines.append((item.span.line, ""))
        lines.extend(item_lines(item, 0))
    return _with_comments(lines, module.comments, source)


def _joined(before: n.Item, item: n.Item) -> bool:
    """Consecutive one-line declarations of one kind stay together."""
    one_line = (n.OverrideDecl, n.Import, n.Use)
    return isinstance(item, one_line) and type(before) is type(item)


def _with_comments(
    lines: list[Line], comments: tuple[tuple[int, str], ...], source: SourceFile
) -> str:
    out: list[str] = []
    pending = list(comments)
    last_line = {src: i for i, (src, _) in enumerate(lines)}
    trailing = {
        ln: c for ln, c in pending if source.line_text(ln).split("#")[0].strip() and ln in last_line
    }
    pending = [(ln, c) for ln, c in pending if ln not in trailing]
    for i, (src, text) in enumerate(lines):
        while pending and pending[0][0] <= src and text:
            indent = text[: len(text) - len(text.lstrip())]
            out.append(indent + pending.pop(0)[1].rstrip())
        if src in trailing and last_line[src] == i:
            text = f"{text}  {trailing.pop(src).rstrip()}"
        out.append(text)
    out.extend(c.rstrip() for _, c in pending)
    return "\n".join(out).rstrip() + "\n"


# ---- items ----------------------------------------------------------------------------


def item_lines(item: n.Item, depth: int) -> list[Line]:
    pad = "  " * depth
    printer = _ITEMS[type(item)]
    lines = printer(item)
    return [(src, pad + text if text else text) for src, text in lines]


def _end(node: n.Item) -> Line:
    return (node.span.file.line_col(max(node.span.start, node.span.end - 1))[0], "end")


def _header(h: n.PolicyHeader) -> list[Line]:
    lines = [(h.span.line, f"policy {h.name}")]
    # The clauses have no spans: their lines come from the keywords after `policy NAME`.
    where = {w: h.span.file.line_col(pos)[0] for w, pos in list(_words(h.span, h.span.start))[2:]}
    for key in ("title", "version", "owner"):
        value = getattr(h, key)
        if value is not None:
            lines.append((where.get(key, h.span.line), f"  {key} {string(value)}"))
    return [*lines, _end(h)]


_WORD = re.compile(r'"(?:\\.|[^"\\\n])*"|#[^\n]*|->|[A-Za-z_][A-Za-z0-9_]*')


def _words(span: Span, start: int) -> Iterator[tuple[str, int]]:
    """The words (and `->`) of a node's text from ``start``, skipping strings and comments.

    Comments are kept by line, so a clause that has no span of its own (a header
    clause, `priority`, `timeout`) takes the line of its keyword.
    """
    for match in _WORD.finditer(span.file.text, start, span.end):
        if match.group()[0] not in '"#':
            yield match.group(), match.start()


def _keyword_line(span: Span, words: Iterator[tuple[str, int]], keyword: str) -> int:
    """The line of the first ``keyword`` among ``words``; the node's line if none."""
    pos = next((p for w, p in words if w == keyword), span.start)
    return span.file.line_col(pos)[0]


def _facts(f: n.FactsBlock) -> list[Line]:
    return [
        (f.span.line, f"facts {f.name}"),
        *[(d.span.line, "  " + field_text(d)) for d in f.fields],
        _end(f),
    ]


def field_text(d: n.FieldDecl) -> str:
    text = f"{d.name}: {d.type_name}"
    if d.enum is not None:
        text += " in {" + ", ".join(string(v) for v in d.enum) + "}"
    if d.low is not None and d.high is not None:
        op = ".." if d.high_inclusive else "..<"
        text += f" in {literal(d.low)} {op} {literal(d.high)}"
    return text + (" optional" if d.optional else "")


def _model(m: n.ModelDecl) -> list[Line]:
    params = ", ".join(p.dotted for p in m.params)
    lines = [(m.span.line, f"model {m.name}({params}) -> {m.result}")]
    if m.min_confidence is not None:
        lines.append((m.min_confidence.span.line, f"  min_confidence {literal(m.min_confidence)}"))
    if m.timeout_ms is not None:
        words = _words(m.span, m.span.start)
        next((w for w, _ in words if w == "->"), None)
        next(words, None)  # the result type, which may be any name
        lines.append(
            (_keyword_line(m.span, words, "timeout"), f"  timeout {number(m.timeout_ms)} ms")
        )
    if m.fallback is not None:
        lines.append((m.fallback.span.line, f"  fallback {literal(m.fallback)}"))
    return [*lines, _end(m)]


def _decision(d: n.DecisionBlock) -> list[Line]:
    outs = [(o.span.line, f"  {o.name}: {o.type_name} = {expr(o.init)}") for o in d.outputs]
    return [(d.span.line, "decision"), *outs, _end(d)]


def _rule(r: n.Rule) -> list[Line]:
    title = f" {string(r.title)}" if r.title is not None else ""
    lines = [(r.span.line, f"rule {r.name}{title}")]
    if r.priority:
        line = _keyword_line(r.span, _words(r.span, r.name_span.end), "priority")
        lines.append((line, f"  priority {r.priority}"))
    lines += condition("  when ", r.when)
    lines.append((r.then[0].span.line, "  then " + actions(r.then)))
    if r.if_unknown is not None:
        lines.append((r.if_unknown[0].span.line, "  if unknown then " + actions(r.if_unknown)))
    return [*lines, _end(r)]


def condition(lead: str, e: n.Expr) -> list[Line]:
    """One line, or one conjunct a line (`   and ...`) when it is too long."""
    one = lead + expr(e)
    parts = _conjuncts(e)
    if len(one) <= WIDTH or len(parts) == 1:
        return [(e.span.line, one)]
    cont = " " * (len(lead) - 4) + "and "
    return [(p.span.line, (lead if i == 0 else cont) + expr(p, 4)) for i, p in enumerate(parts)]


def _conjuncts(e: n.Expr) -> list[n.Expr]:
    if isinstance(e, n.Binary) and e.op == "and":
        return [*_conjuncts(e.left), e.right]
    return [e]


def _ensure(e: n.Ensure) -> list[Line]:
    title = f" {string(e.title)}" if e.title is not None else ""
    return [
        (e.span.line, f"ensure {e.name}{title}"),
        *condition("  ", e.cond),
        (e.otherwise[0].span.line, "  otherwise " + actions(e.otherwise)),
        _end(e),
    ]


def _override(o: n.OverrideDecl) -> list[Line]:
    text = f"override {o.output.dotted} by {o.role}"
    if o.low is not None and o.high is not None:
        op = ".." if o.high_inclusive else "..<"
        text += f" within {expr(o.low, _SUM)} {op} {expr(o.high, _SUM)}"
    return [(o.span.line, text)]


def _test(t: n.TestBlock) -> list[Line]:
    lines = [(t.span.line, f"test {string(t.name)}")]
    groups: list[list[n.TestClause]] = []
    for clause in t.clauses:
        if (
            groups
            and type(groups[-1][0]) is type(clause)
            and isinstance(clause, (n.Given, n.WithModel))
        ):
            groups[-1].append(clause)
        else:
            groups.append([clause])
    for group in groups:
        lines.append((group[0].span.line, "  " + clause_text(group)))
    return [*lines, _end(t)]


def clause_text(group: list[n.TestClause]) -> str:
    first = group[0]
    if isinstance(first, n.Given):
        return "given " + ", ".join(
            f"{c.path.dotted} = {expr(c.value)}" for c in group if isinstance(c, n.Given)
        )
    if isinstance(first, n.WithModel):
        return "with " + ", ".join(
            f"{c.model} = {expr(c.value) if c.value is not None else 'unknown'}"
            for c in group
            if isinstance(c, n.WithModel)
        )
    if isinstance(first, n.Expect):
        return "expect " + expr(first.cond)
    assert isinstance(first, n.ExpectFired)
    names = ", ".join(r.dotted for r in first.rules)
    return f"expect {'not ' if first.negate else ''}fired {names}"


def _invariant(i: n.Invariant) -> list[Line]:
    return [(i.span.line, f"invariant {string(i.name)}"), *condition("  ", i.cond), _end(i)]


def _import(i: n.Import) -> list[Line]:
    return [(i.span.line, f"import {string(i.path)}")]


def _use(u: n.Use) -> list[Line]:
    return [(u.span.line, f"use {u.template}({', '.join(expr(a) for a in u.args)}) as {u.alias}")]


def _template(t: n.Template) -> list[Line]:
    params = ", ".join(f"{p.name}: {p.type_name}" for p in t.params)
    lines: list[Line] = [(t.span.line, f"template {t.name}({params})")]
    for item in t.body:
        lines.extend(item_lines(item, 1))
    return [*lines, _end(t)]


_ITEMS: dict[type, Callable[[Any], list[Line]]] = {
    n.PolicyHeader: _header,
    n.FactsBlock: _facts,
    n.ModelDecl: _model,
    n.DecisionBlock: _decision,
    n.Rule: _rule,
    n.Ensure: _ensure,
    n.OverrideDecl: _override,
    n.TestBlock: _test,
    n.Invariant: _invariant,
    n.Import: _import,
    n.Use: _use,
    n.Template: _template,
}


# ---- actions and expressions ---------------------------------------------------------------


def actions(items: tuple[n.Action, ...]) -> str:
    return ", ".join(action(a) for a in items)


def action(a: n.Action) -> str:
    if isinstance(a, n.Assign):
        return f"{expr(a.target)} = {expr(a.value)}"
    if isinstance(a, n.Boost):
        return f"boost {expr(a.target)} by {expr(a.by)}"
    if isinstance(a, n.Block):
        return f"block {string(a.reason)}"
    return f"review {string(a.reason)}" + (f" by {a.role}" if a.role else "")


def expr(e: n.Expr, least: int = 0) -> str:
    """Source text of an expression, parenthesised where precedence needs it."""
    text, level = _expr(e)
    return f"({text})" if level < least else text


def _expr(e: n.Expr) -> tuple[str, int]:
    if isinstance(e, n.Literal):
        return literal(e), 10
    if isinstance(e, n.Name):
        return e.dotted, 10
    if isinstance(e, n.Call):
        return f"{e.func}({', '.join(expr(a) for a in e.args)})", 10
    if isinstance(e, n.Unary):
        if e.op == "not":
            return f"not {expr(e.operand, _NOT)}", _NOT
        return f"-{expr(e.operand, _NEG)}", _NEG
    if isinstance(e, n.Binary):
        return _binary(e), _LEVEL[e.op]
    if isinstance(e, n.InRange):
        op = ".." if e.high_inclusive else "..<"
        return (
            f"{expr(e.value, _COALESCE)} in {expr(e.low, _SUM)} {op} {expr(e.high, _SUM)}",
            _COMPARISON,
        )
    if isinstance(e, n.InSet):
        items = ", ".join(expr(i) for i in e.items)
        return f"{expr(e.value, _COALESCE)} in {{{items}}}", _COMPARISON
    if isinstance(e, n.IsPresent):
        negate = "not " if e.negate else ""
        return f"{expr(e.value, _COALESCE)} is {negate}present", _COMPARISON
    return f"if {expr(e.cond, 1)} then {expr(e.then, 1)} else {expr(e.else_)}", 0


def _binary(e: n.Binary) -> str:
    level = _LEVEL[e.op]
    if e.op in ("implies", "??"):  # right-associative
        return f"{expr(e.left, level + 1)} {e.op} {expr(e.right, level)}"
    if BINARY[e.op].kind == "compare":  # comparisons do not chain
        return f"{expr(e.left, level + 1)} {e.op} {expr(e.right, level + 1)}"
    return f"{expr(e.left, level)} {e.op} {expr(e.right, level + 1)}"


def literal(lit: n.Literal) -> str:
    if lit.kind == "text":
        assert isinstance(lit.value, str)
        return string(lit.value)
    if lit.kind == "bool":
        return "true" if lit.value else "false"
    if lit.kind == "action":
        return str(lit.value)
    if lit.kind == "percent":
        assert isinstance(lit.value, Decimal)
        return number(lit.value * 100) + "%"
    return str(lit.value)


def number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
