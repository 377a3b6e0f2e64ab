"""Stage 2: ``lark.Tree`` -> AST (``nodes.Module``).

The only module that knows Lark's tree. One explicit method per grammar rule;
a rule without a method is a bug and raises.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lark import Token, Transformer, Tree
from lark.tree import Meta

from rulelang import nodes as n
from rulelang.errors import Diagnostic, ParseError
from rulelang.parser import comments, parse_tree
from rulelang.source import SourceFile, Span


def parse(source: SourceFile) -> n.Module:
    """Parse a file into its AST; raise ParseError on bad syntax or literals."""
    tree = parse_tree(source)
    builder = AstBuilder(source)
    items = builder.transform(tree)
    if builder.problems:
        raise ParseError(builder.problems)
    span = Span(0, len(source.text), source)
    return n.Module(tuple(items), comments(source), span)


def number_literal(text: str, span: Span) -> n.Literal:
    """``12`` is an int, ``1.5`` an exact decimal, ``15%`` a percent (0.15)."""
    if text.endswith("%"):
        return n.Literal(Decimal(text[:-1]) / 100, "percent", span)
    if "." in text:
        return n.Literal(Decimal(text), "decimal", span)
    return n.Literal(int(text), "int", span)


def unquote(token: str) -> str:
    return token[1:-1].replace('\\"', '"').replace("\\\\", "\\")


class AstBuilder(Transformer[Token, Any]):
    """Tree -> nodes. Methods are named after grammar rules (and aliases)."""

    def __init__(self, source: SourceFile) -> None:
        super().__init__(visit_tokens=False)
        self.source = source
        self.problems: list[Diagnostic] = []

    def __default__(self, data: str, children: list[Any], meta: Meta) -> Any:
        raise AssertionError(f"no AST method for grammar rule {data!r}")

    def _call_userfunc(self, tree: Tree[Token], new_children: list[Any] | None = None) -> Any:
        # Every method receives (meta span, children): one explicit convention.
        children = new_children if new_children is not None else tree.children
        method = getattr(self, tree.data, None)
        if method is None:
            return self.__default__(str(tree.data), children, tree.meta)
        return method(self._span(tree.meta), children)

    def _span(self, meta: Meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(0, 0, self.source)
        return Span(meta.start_pos, meta.end_pos, self.source)

    def _tok(self, token: Token) -> Span:
        start = token.start_pos or 0
        return Span(start, token.end_pos or start, self.source)

    # ---- file and header --------------------------------------------------
    def start(self, span: Span, c: list[Any]) -> list[Any]:
        return c

    def policy_header(self, span: Span, c: list[Any]) -> n.PolicyHeader:
        clauses = dict(c[1:])
        return n.PolicyHeader(
            str(c[0]), clauses.get("title"), clauses.get("version"), clauses.get("owner"), span
        )

    def header_title(self, span: Span, c: list[Any]) -> tuple[str, str]:
        return ("title", unquote(c[0]))

    def header_version(self, span: Span, c: list[Any]) -> tuple[str, str]:
        return ("version", unquote(c[0]))

    def header_owner(self, span: Span, c: list[Any]) -> tuple[str, str]:
        return ("owner", unquote(c[0]))

    # ---- facts -------------------------------------------------------------
    def facts_block(self, span: Span, c: list[Any]) -> n.FactsBlock:
        return n.FactsBlock(str(c[0]), tuple(c[1:]), span)

    def field_decl(self, span: Span, c: list[Any]) -> n.FieldDecl:
        name, type_name, *rest = c
        optional = "optional" in rest
        domain = next((r for r in rest if isinstance(r, dict)), {})
        return n.FieldDecl(
            str(name),
            str(type_name),
            domain.get("enum"),
            domain.get("low"),
            domain.get("high"),
            domain.get("high_inclusive", True),
            optional,
            span,
        )

    def optional_flag(self, span: Span, c: list[Any]) -> str:
        return "optional"

    def domain_range(self, span: Span, c: list[Any]) -> dict[str, Any]:
        return {"low": c[0], "high": c[2], "high_inclusive": str(c[1]) == ".."}

    def domain_enum(self, span: Span, c: list[Any]) -> dict[str, Any]:
        return {"enum": tuple(unquote(s) for s in c if s is not None)}

    def bound(self, span: Span, c: list[Any]) -> n.Literal:
        return number_literal(str(c[0]), self._tok(c[0]))

    # ---- models -------------------------------------------------------------
    def model_block(self, span: Span, c: list[Any]) -> n.ModelDecl:
        tokens = [x for x in c if isinstance(x, Token)]
        name, params, result = tokens[0], tokens[1:-1], tokens[-1]
        opts: dict[str, Any] = dict(x for x in c if isinstance(x, tuple))
        return n.ModelDecl(
            str(name),
            tuple(n.Name((str(p),), self._tok(p)) for p in params),
            str(result),
            opts.get("min_confidence"),
            opts.get("timeout_ms"),
            opts.get("fallback"),
            span,
        )

    def opt_min_confidence(self, span: Span, c: list[Any]) -> tuple[str, n.Literal]:
        return ("min_confidence", number_literal(str(c[0]), self._tok(c[0])))

    def opt_timeout(self, span: Span, c: list[Any]) -> tuple[str, Decimal]:
        amount = Decimal(str(c[0]).rstrip("%"))
        return ("timeout_ms", amount * 1000 if str(c[1]) == "s" else amount)

    def opt_fallback(self, span: Span, c: list[Any]) -> tuple[str, n.Literal]:
        return ("fallback", c[0])

    def fallback_value(self, span: Span, c: list[Any]) -> n.Literal:
        tok = c[0]
        if tok.type == "STRING":
            return n.Literal(unquote(tok), "text", self._tok(tok))
        if tok.type in ("TRUE", "FALSE"):
            return n.Literal(tok.type == "TRUE", "bool", self._tok(tok))
        return number_literal(str(tok), self._tok(tok))

    # ---- decision, rules, constraints, overrides ----------------------------------
    def decision_block(self, span: Span, c: list[Any]) -> n.DecisionBlock:
        return n.DecisionBlock(tuple(c), span)

    def output_decl(self, span: Span, c: list[Any]) -> n.OutputDecl:
        return n.OutputDecl(str(c[0]), str(c[1]), c[2], span)

    def rule_block(self, span: Span, c: list[Any]) -> n.Rule:
        name, rest = c[0], c[1:]
        title = unquote(rest.pop(0)) if rest and isinstance(rest[0], Token) else None
        priority = rest.pop(0) if isinstance(rest[0], int) else 0
        when, then = rest[0], rest[1]
        unknown = rest[2] if len(rest) > 2 else None
        return n.Rule(str(name), title, priority, when, then, unknown, span, self._tok(name))

    def priority(self, span: Span, c: list[Any]) -> int:
        text = str(c[0])
        if not text.lstrip("-").isdigit():
            self.problems.append(
                Diagnostic(
                    "E010",
                    "priority must be a whole number",
                    self._tok(c[0]),
                    "write for example `priority 100`",
                )
            )
            return 0
        return int(text)

    def unknown_branch(self, span: Span, c: list[Any]) -> tuple[n.Action, ...]:
        return tuple(c[0])

    def action_list(self, span: Span, c: list[Any]) -> tuple[n.Action, ...]:
        return tuple(c)

    def assign(self, span: Span, c: list[Any]) -> n.Assign:
        return n.Assign(c[0], c[1], span)  # a path, so `item.x = ...` gets a checker error

    def boost(self, span: Span, c: list[Any]) -> n.Boost:
        return n.Boost(n.Name((str(c[0]),), self._tok(c[0])), c[1], span)

    def block(self, span: Span, c: list[Any]) -> n.Block:
        return n.Block(unquote(c[0]), span)

    def review(self, span: Span, c: list[Any]) -> n.Review:
        return n.Review(unquote(c[0]), str(c[1]) if len(c) > 1 else None, span)

    def ensure_block(self, span: Span, c: list[Any]) -> n.Ensure:
        name, rest = c[0], c[1:]
        title = unquote(rest.pop(0)) if len(rest) == 3 else None
        return n.Ensure(str(name), title, rest[0], rest[1], span, self._tok(name))

    def override_decl(self, span: Span, c: list[Any]) -> n.OverrideDecl:
        output = n.Name((str(c[0]),), self._tok(c[0]))
        if len(c) == 2:
            return n.OverrideDecl(output, str(c[1]), span=span)
        return n.OverrideDecl(output, str(c[1]), c[2], c[4], str(c[3]) == "..", span)

    # ---- tests and invariants -------------------------------------------------------
    def test_block(self, span: Span, c: list[Any]) -> n.TestBlock:
        clauses = [x for group in c[1:] for x in group]
        return n.TestBlock(unquote(c[0]), tuple(clauses), span)

    def given(self, span: Span, c: list[Any]) -> list[n.Given]:
        return list(c)

    def given_item(self, span: Span, c: list[Any]) -> n.Given:
        return n.Given(c[0], c[1], span)

    def with_models(self, span: Span, c: list[Any]) -> list[n.WithModel]:
        return list(c)

    def with_value(self, span: Span, c: list[Any]) -> n.WithModel:
        return n.WithModel(str(c[0]), c[1], span)

    def with_unknown(self, span: Span, c: list[Any]) -> n.WithModel:
        return n.WithModel(str(c[0]), None, span)

    def expect(self, span: Span, c: list[Any]) -> list[n.Expect]:
        return [n.Expect(c[0], span)]

    def expect_fired(self, span: Span, c: list[Any]) -> list[n.ExpectFired]:
        return [n.ExpectFired(tuple(n.Name((str(t),), self._tok(t)) for t in c), False, span)]

    def expect_not_fired(self, span: Span, c: list[Any]) -> list[n.ExpectFired]:
        return [n.ExpectFired(tuple(n.Name((str(t),), self._tok(t)) for t in c), True, span)]

    def invariant_block(self, span: Span, c: list[Any]) -> n.Invariant:
        return n.Invariant(unquote(c[0]), c[1], span)

    # ---- reuse ------------------------------------------------------------------------
    def import_decl(self, span: Span, c: list[Any]) -> n.Import:
        return n.Import(unquote(c[0]), span)

    def use_decl(self, span: Span, c: list[Any]) -> n.Use:
        args = tuple(a for a in c[1:-1] if a is not None)
        return n.Use(str(c[0]), args, str(c[-1]), span)

    def template_block(self, span: Span, c: list[Any]) -> n.Template:
        params = tuple(x for x in c[1:] if isinstance(x, n.TemplateParam))
        body = tuple(x for x in c[1:] if isinstance(x, (n.Rule, n.Ensure)))
        return n.Template(str(c[0]), params, body, span)

    def template_param(self, span: Span, c: list[Any]) -> n.TemplateParam:
        return n.TemplateParam(str(c[0]), str(c[1]), span)

    # ---- expressions ---------------------------------------------------------------------
    def if_expr(self, span: Span, c: list[Any]) -> n.IfExpr:
        return n.IfExpr(c[0], c[1], c[2], span)

    def implies(self, span: Span, c: list[Any]) -> n.Binary:
        return n.Binary("implies", c[0], c[1], span)

    def or_(self, span: Span, c: list[Any]) -> n.Binary:
        return n.Binary("or", c[0], c[1], span)

    def and_(self, span: Span, c: list[Any]) -> n.Binary:
        return n.Binary("and", c[0], c[1], span)

    def not_(self, span: Span, c: list[Any]) -> n.Unary:
        return n.Unary("not", c[0], span)

    def compare(self, span: Span, c: list[Any]) -> n.Binary:
        return n.Binary(str(c[1]), c[0], c[2], span)

    def in_range(self, span: Span, c: list[Any]) -> n.InRange:
        return n.InRange(c[0], c[1], c[3], str(c[2]) == "..", span)

    def in_set(self, span: Span, c: list[Any]) -> n.InSet:
        return n.InSet(c[0], tuple(x for x in c[1:] if x is not None), span)

    def is_present(self, span: Span, c: list[Any]) -> n.IsPresent:
        return n.IsPresent(c[0], False, span)

    def is_absent(self, span: Span, c: list[Any]) -> n.IsPresent:
        return n.IsPresent(c[0], True, span)

    def coalesce(self, span: Span, c: list[Any]) -> n.Binary:
        return n.Binary("??", c[0], c[1], span)

    def arith(self, span: Span, c: list[Any]) -> n.Binary:
        return n.Binary(str(c[1]), c[0], c[2], span)

    def neg(self, span: Span, c: list[Any]) -> n.Expr:
        operand = c[0]
        if isinstance(operand, n.Literal) and operand.kind in ("int", "decimal", "percent"):
            assert not isinstance(operand.value, (str, bool))
            return n.Literal(-operand.value, operand.kind, span)
        return n.Unary("-", operand, span)

    def number(self, span: Span, c: list[Any]) -> n.Literal:
        return number_literal(str(c[0]), span)

    def string(self, span: Span, c: list[Any]) -> n.Literal:
        return n.Literal(unquote(c[0]), "text", span)

    def true(self, span: Span, c: list[Any]) -> n.Literal:
        return n.Literal(True, "bool", span)

    def false(self, span: Span, c: list[Any]) -> n.Literal:
        return n.Literal(False, "bool", span)

    def allow(self, span: Span, c: list[Any]) -> n.Literal:
        return n.Literal("allow", "action", span)

    def review_value(self, span: Span, c: list[Any]) -> n.Literal:
        return n.Literal("review", "action", span)

    def block_value(self, span: Span, c: list[Any]) -> n.Literal:
        return n.Literal("block", "action", span)

    def path(self, span: Span, c: list[Any]) -> n.Name:
        return n.Name(tuple(str(t) for t in c), span)

    def call(self, span: Span, c: list[Any]) -> n.Call:
        return n.Call(str(c[0]), tuple(a for a in c[1:] if a is not None), span)
