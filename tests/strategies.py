"""Every Hypothesis strategy of the test suite.

- ``random_source`` and ``mutated_source``: text for the parser fuzz test.
- ``policies``: random *well-typed* policies (source text plus what was declared),
  for the differential test (compiled vs reference interpreter) and the formatter.
- ``facts_for``: valid facts for any checked policy (``ir.Policy``).
- ``model_answers`` / ``replacements``: what stand-in models answer.

The policy generator follows the language's typing rules (``rulelang.types``) so
that every policy it writes passes the checker; a policy the checker rejects is a
bug in the generator or in the checker, and the tests say which source it was.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from rulelang import ir
from rulelang import types as t

REPO = Path(__file__).resolve().parent.parent

# ---- source text for the parser fuzz test ---------------------------------------------------

KEYWORDS = (
    "policy",
    "title",
    "version",
    "owner",
    "end",
    "facts",
    "model",
    "min_confidence",
    "timeout",
    "fallback",
    "decision",
    "rule",
    "priority",
    "when",
    "then",
    "if",
    "unknown",
    "boost",
    "by",
    "block",
    "review",
    "allow",
    "ensure",
    "otherwise",
    "override",
    "within",
    "test",
    "given",
    "with",
    "expect",
    "fired",
    "not",
    "invariant",
    "import",
    "use",
    "as",
    "template",
    "and",
    "or",
    "implies",
    "in",
    "is",
    "present",
    "optional",
    "true",
    "false",
    "else",
    "ms",
    "s",
    "text",
    "number",
    "int",
    "money",
    "percent",
    "bool",
    "score",
)
PUNCTUATION = (
    "(",
    ")",
    "{",
    "}",
    ",",
    ":",
    ".",
    "..",
    "..<",
    "??",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "->",
    "%",
    "#",
    '"',
    "\\",
    "\n",
)
_WORDS = st.sampled_from(KEYWORDS + PUNCTUATION) | st.from_regex(
    r'[a-z_][a-z0-9_]{0,6}|[0-9]{1,4}(\.[0-9]{1,3})?%?|"[a-z \\"]{0,6}"', fullmatch=True
)

_TOKEN = re.compile(
    r'"(?:\\.|[^"\\\n])*"|#[^\n]*|\d+(?:\.\d+)?%?|[a-z_][a-z0-9_]*|\.\.<|\.\.|\?\?|->|[=!<>]=|\S'
)


def random_source() -> st.SearchStrategy[str]:
    """Arbitrary text, and sequences of the language's own words."""
    return st.one_of(
        st.text(max_size=120),
        st.lists(_WORDS, max_size=40).map(" ".join),
    )


def valid_sources() -> list[str]:
    """Whole, valid policies to mutate: the repository's examples."""
    return [p.read_text(encoding="utf-8") for p in sorted(REPO.glob("examples/*/*.rule"))]


def chunks(text: str) -> list[str]:
    """The text cut into tokens, each keeping the whitespace after it (joins back exactly)."""
    starts = [m.start() for m in _TOKEN.finditer(text)]
    if not starts:
        return [text]
    cuts = [0, *starts[1:], len(text)]
    return [text[a:b] for a, b in itertools.pairwise(cuts)]


@st.composite
def mutated_source(draw: Any, sources: Sequence[str]) -> str:
    """A valid source with a few tokens deleted, duplicated, swapped or replaced, or
    random characters inserted."""
    parts = chunks(draw(st.sampled_from(list(sources))))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "replace", "insert"]))
        i = draw(st.integers(0, len(parts) - 1))
        if op == "delete" and len(parts) > 1:
            del parts[i]
        elif op == "duplicate":
            parts.insert(i, parts[i])
        elif op == "swap":
            j = draw(st.integers(0, len(parts) - 1))
            parts[i], parts[j] = parts[j], parts[i]
        elif op == "replace":
            parts[i] = draw(_WORDS) + " "
        else:
            cut = draw(st.integers(0, len(parts[i])))
            parts[i] = parts[i][:cut] + draw(st.text(max_size=3)) + parts[i][cut:]
    return "".join(parts)


# ---- random well-typed policies ---------------------------------------------------------------

INTS = (0, 1, 2, 3, 5, 10)
DECIMALS = ("0.5", "1.5", "2.25", "0.1", "3.0")
PERCENTS = ("0%", "10%", "15%", "50%", "100%")
DIVISORS = ("2", "4", "0.5", "1.5", "10%")
WORDS = ("a", "b", "c")
ROLES = ("ops", "fraud_team")
COMPARE = ("==", "!=", "<", "<=", ">", ">=")
FIELD_KINDS = ("number", "int", "money", "percent", "bool", "enum", "text")
RANGES = {"number": ("0", "10"), "int": ("0", "10"), "money": ("0", "100")}


@dataclass(frozen=True)
class FieldSpec:
    facts: str
    name: str
    kind: str  # number int money percent bool text (enum: kind text, values set)
    optional: bool = False
    enum: tuple[str, ...] | None = None

    @property
    def label(self) -> str:
        return f"{self.facts}.{self.name}"

    @property
    def type(self) -> t.Type:
        return t.Type("text", self.enum) if self.enum else t.Type(self.kind)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    params: tuple[str, ...]  # facts names or scalar type names
    result: str  # score number bool text
    fallback: str | None = None
    min_confidence: str | None = None

    @property
    def type(self) -> t.Type:
        return t.named(self.result) or t.TEXT


@dataclass(frozen=True)
class E:
    """A generated expression: its text, its type, whether it can be unknown, and
    whether every leaf is a literal (the checker folds it to a constant)."""

    text: str
    type: t.Type
    unknown: bool = False
    const: bool = False


@dataclass(frozen=True)
class Ctx:
    models: bool
    outputs: bool


@dataclass
class GeneratedPolicy:
    source: str
    fields: list[FieldSpec]
    outputs: list[tuple[str, str]]
    models: list[ModelSpec]
    rules: list[str] = field(default_factory=list)


class PolicyWriter:
    """Writes one random policy, drawing every choice from Hypothesis."""

    def __init__(
        self,
        draw: Any,
        fields: list[FieldSpec],
        outputs: list[tuple[str, str]],
        models: list[ModelSpec],
    ) -> None:
        self.draw = draw
        self.fields = fields
        self.outputs = outputs
        self.models = models
        self.facts_names = sorted({f.facts for f in fields})

    # ---- choices ----------------------------------------------------------------------
    def pick(self, options: Sequence[Any]) -> Any:
        return self.draw(st.sampled_from(list(options)))

    def chance(self, percent: int) -> bool:
        return bool(self.draw(st.integers(0, 99)) < percent)

    def first(self, makers: list[Callable[[], E | None]], fallback: Callable[[], E]) -> E:
        """Try the makers in a drawn order; the first that applies wins."""
        order = self.draw(st.permutations(range(len(makers))))
        for i in order[:2]:
            made = makers[i]()
            if made is not None:
                return made
        return fallback()

    # ---- numbers ----------------------------------------------------------------------
    def literal(self, want: str) -> E:
        if want == "int":
            return E(str(self.pick(INTS)), t.INT, const=True)
        options = [(str(i), t.INT) for i in INTS] + [(d, t.LITERAL) for d in DECIMALS]
        if want in ("number", "percent"):
            options += [(p, t.PERCENT) for p in PERCENTS]
        text, typ = self.pick(options)
        return E(text, typ, const=True)

    def num(self, want: str, depth: int, ctx: Ctx) -> E:
        """A numeric expression whose type can be stored in a `want` output."""
        target = t.Type(want)
        if depth <= 0:
            leaves: list[Callable[[], E | None]] = [
                lambda: self.num_field(target),
                lambda: self.num_output(target, ctx),
            ]
            return self.first(leaves, lambda: self.literal(want))
        d = depth - 1
        makers: list[Callable[[], E | None]] = [
            lambda: self.num_field(target),
            lambda: self.opt_field(target, ctx, d),
            lambda: self.num_output(target, ctx),
            lambda: self.num_model(target, ctx, d),
            lambda: self.arith(want, d, ctx),
            lambda: self.arith(want, d, ctx),
            lambda: self.neg(want, d, ctx),
            lambda: self.builtin(want, d, ctx),
            lambda: self.if_expr(want, d, ctx),
            lambda: self.literal(want),
        ]
        return self.first(makers, lambda: self.literal(want))

    def num_field(self, target: t.Type) -> E | None:
        options = [
            f
            for f in self.fields
            if not f.optional
            and not f.enum
            and f.kind in t.NUMERIC
            and t.assignable(target, f.type)
        ]
        if not options:
            return None
        f = self.pick(options)
        return E(f.label, f.type)

    def opt_field(self, target: t.Type, ctx: Ctx, depth: int) -> E | None:
        options = [
            f
            for f in self.fields
            if f.optional and not f.enum and f.kind in t.NUMERIC and t.assignable(target, f.type)
        ]
        if not options:
            return None
        f = self.pick(options)
        default = self.literal("int" if f.kind == "int" else f.kind)
        if self.chance(50):
            return E(f"({f.label} ?? {default.text})", f.type)
        return E(f"(if {f.label} is present then {f.label} else {default.text})", f.type)

    def num_output(self, target: t.Type, ctx: Ctx) -> E | None:
        if not ctx.outputs:
            return None
        options = [
            (n, k) for n, k in self.outputs if t.Type(k).numeric and t.assignable(target, t.Type(k))
        ]
        if not options:
            return None
        name, kind = self.pick(options)
        return E(name, t.Type(kind))

    def num_model(self, target: t.Type, ctx: Ctx, depth: int) -> E | None:
        if not ctx.models or target.kind != "number":
            return None
        options = [m for m in self.models if m.result in ("score", "number")]
        if not options:
            return None
        call = self.call(self.pick(options), ctx, depth)
        if call.unknown and self.chance(40):
            return E(f"({call.text} ?? {self.literal('number').text})", t.NUMBER)
        return call

    def call(self, model: ModelSpec, ctx: Ctx, depth: int) -> E:
        args = [self.argument(p, ctx, depth) for p in model.params]
        unknown = model.fallback is None or any(a.unknown for a in args)
        return E(f"{model.name}({', '.join(a.text for a in args)})", model.type, unknown)

    def argument(self, param: str, ctx: Ctx, depth: int) -> E:
        if param in self.facts_names:
            return E(param, t.Type("facts", facts=param))
        if param == "text":
            return self.text(depth, ctx)
        if param == "bool":
            return self.boolean(depth, ctx)
        return self.num(param, min(depth, 1), ctx)

    def arith(self, want: str, depth: int, ctx: Ctx) -> E | None:
        op = self.pick(["+", "-", "*", "/"])
        left = self.num(want, depth, ctx)
        if op == "/" and self.chance(80):
            text = self.pick(DIVISORS)
            right = E(
                text, t.PERCENT if "%" in text else t.LITERAL if "." in text else t.INT, const=True
            )
        else:
            right_want = "percent" if want == "money" and op in "*/" and self.chance(60) else want
            right = self.num(right_want, depth, ctx)
        result = t.arith(op, left.type, right.type)
        if isinstance(result, str) or not t.assignable(t.Type(want), result):
            return None
        return E(
            f"({left.text} {op} {right.text})",
            result,
            left.unknown or right.unknown,
            left.const and right.const,
        )

    def neg(self, want: str, depth: int, ctx: Ctx) -> E:
        inner = self.num(want, depth, ctx)
        return E(f"(-{inner.text})", inner.type.plain(), inner.unknown, inner.const)

    def builtin(self, want: str, depth: int, ctx: Ctx) -> E | None:
        fn = self.pick(["abs", "min", "max", "convert", "round"])
        a = self.num(want, depth, ctx)
        if fn == "abs":
            return E(f"abs({a.text})", a.type.plain(), a.unknown, a.const)
        if fn == "round":
            if a.type.kind == "int":
                return E(f"round({a.text})", t.INT, a.unknown, a.const)
            return E(f"round({a.text}, 2)", a.type.plain(), a.unknown, a.const)
        if fn == "convert":
            if want not in ("number", "money"):
                return None
            source = self.num(self.pick(["number", "money", "percent", "int"]), depth, ctx)
            return E(f"{want}({source.text})", t.Type(want), source.unknown, source.const)
        b = self.num(want, depth, ctx)
        common = t.join(a.type, b.type)
        if common is None or not t.assignable(t.Type(want), common):
            return None
        return E(f"{fn}({a.text}, {b.text})", common, a.unknown or b.unknown, a.const and b.const)

    def if_expr(self, want: str, depth: int, ctx: Ctx) -> E | None:
        cond = self.boolean(depth, ctx)
        a, b = self.num(want, depth, ctx), self.num(want, depth, ctx)
        common = t.join(a.type, b.type)
        if common is None or not t.assignable(t.Type(want), common):
            return None
        return E(
            f"(if {cond.text} then {a.text} else {b.text})",
            common,
            cond.unknown or a.unknown or b.unknown,
            cond.const and a.const and b.const,
        )

    # ---- text -------------------------------------------------------------------------
    def text(self, depth: int, ctx: Ctx) -> E:
        options: list[E] = [E(f'"{w}"', t.TEXT, const=True) for w in WORDS]
        options += [E(f.label, t.TEXT) for f in self.fields if f.kind == "text" and not f.optional]
        options += [
            E(f'({f.label} ?? "a")', t.TEXT)
            for f in self.fields
            if f.kind == "text" and f.optional and not f.enum
        ]
        if ctx.outputs:
            options += [E(n, t.TEXT) for n, k in self.outputs if k == "text"]
        return self.pick(options)

    # ---- conditions -------------------------------------------------------------------
    def boolean(self, depth: int, ctx: Ctx) -> E:
        if depth <= 0:
            return self.first(
                [self.bool_leaf, lambda: self.compare(0, ctx)], lambda: self.compare(0, ctx)
            )
        d = depth - 1
        makers: list[Callable[[], E | None]] = [
            lambda: self.compare(d, ctx),
            lambda: self.compare(d, ctx),
            lambda: self.enum_compare(ctx),
            lambda: self.logic(d, ctx),
            lambda: self.logic(d, ctx),
            lambda: self.negation(d, ctx),
            lambda: self.in_range(d, ctx),
            lambda: self.in_set(d, ctx),
            lambda: self.present(ctx),
            lambda: self.action_test(ctx),
            lambda: self.bool_model(ctx, d),
            lambda: self.text_model(ctx, d),
            self.bool_leaf,
            lambda: E(self.pick(["true", "false"]), t.BOOL, const=True),
        ]
        return self.first(makers, lambda: self.compare(d, ctx))

    def bool_leaf(self) -> E | None:
        options = [E(f.label, t.BOOL) for f in self.fields if f.kind == "bool" and not f.optional]
        options += [
            E(f"({f.label} ?? {self.pick(['true', 'false'])})", t.BOOL)
            for f in self.fields
            if f.kind == "bool" and f.optional
        ]
        return self.pick(options) if options else None

    def compare(self, depth: int, ctx: Ctx) -> E:
        want = self.pick(["number", "money", "percent", "int"])
        a, b = self.num(want, depth, ctx), self.num(want, depth, ctx)
        op = self.pick(COMPARE)
        return E(f"({a.text} {op} {b.text})", t.BOOL, a.unknown or b.unknown, a.const and b.const)

    def enum_compare(self, ctx: Ctx) -> E | None:
        options = [f for f in self.fields if f.enum]
        if not options:
            return None
        f = self.pick(options)
        subject = f'({f.label} ?? "{f.enum[0]}")' if f.optional else f.label  # type: ignore[index]
        value = self.pick(f.enum)
        if self.chance(30):
            return E(f'({subject} in {{"{value}", "{self.pick(f.enum)}"}})', t.BOOL)
        return E(f'({subject} {self.pick(["==", "!="])} "{value}")', t.BOOL)

    def logic(self, depth: int, ctx: Ctx) -> E:
        a, b = self.boolean(depth, ctx), self.boolean(depth, ctx)
        op = self.pick(["and", "or", "implies"])
        return E(f"({a.text} {op} {b.text})", t.BOOL, a.unknown or b.unknown, a.const and b.const)

    def negation(self, depth: int, ctx: Ctx) -> E:
        a = self.boolean(depth, ctx)
        return E(f"(not {a.text})", t.BOOL, a.unknown, a.const)

    def in_range(self, depth: int, ctx: Ctx) -> E:
        want = self.pick(["number", "money", "percent", "int"])
        v, lo, hi = (self.num(want, depth, ctx) for _ in range(3))
        op = self.pick(["..", "..<"])
        return E(
            f"({v.text} in {lo.text} {op} {hi.text})",
            t.BOOL,
            v.unknown or lo.unknown or hi.unknown,
            v.const and lo.const and hi.const,
        )

    def in_set(self, depth: int, ctx: Ctx) -> E:
        want = self.pick(["number", "money", "percent", "int"])
        v = self.num(want, depth, ctx)
        items = [self.num(want, 0, ctx) for _ in range(self.draw(st.integers(1, 3)))]
        return E(
            f"({v.text} in {{{', '.join(i.text for i in items)}}})",
            t.BOOL,
            v.unknown or any(i.unknown for i in items),
            v.const and all(i.const for i in items),
        )

    def present(self, ctx: Ctx) -> E | None:
        options = [f for f in self.fields if f.optional]
        if not options:
            return None
        f = self.pick(options)
        if self.chance(40):
            return E(f"({f.label} is {self.pick(['', 'not '])}present)", t.BOOL)
        if f.kind in t.NUMERIC:
            literal = self.literal("int" if f.kind == "int" else f.kind)
            test = f"({f.label} {self.pick(COMPARE)} {literal.text})"
        elif f.kind == "bool":
            test = f.label
        elif f.enum:
            test = f'({f.label} == "{self.pick(f.enum)}")'
        else:
            test = f'({f.label} != "a")'
        return E(f"({f.label} is present and {test})", t.BOOL)

    def action_test(self, ctx: Ctx) -> E | None:
        if not ctx.outputs:
            return None
        if self.chance(25):
            return E(f'(review_by {self.pick(["==", "!="])} "{self.pick(ROLES)}")', t.BOOL)
        level = self.pick(["allow", "review", "block"])
        return E(f"(action {self.pick(COMPARE)} {level})", t.BOOL)

    def bool_model(self, ctx: Ctx, depth: int) -> E | None:
        options = [m for m in self.models if m.result == "bool"]
        if not ctx.models or not options:
            return None
        return self.call(self.pick(options), ctx, depth)

    def text_model(self, ctx: Ctx, depth: int) -> E | None:
        options = [m for m in self.models if m.result == "text"]
        if not ctx.models or not options:
            return None
        call = self.call(self.pick(options), ctx, depth)
        return E(
            f'({call.text} {self.pick(["==", "!="])} "{self.pick(WORDS)}")', t.BOOL, call.unknown
        )

    def condition(self, ctx: Ctx) -> E:
        cond = self.boolean(self.draw(st.integers(1, 3)), ctx)
        if cond.const:  # a constant condition is a check error (E302) when false
            f = next(f for f in self.fields if f.kind == "int" and not f.optional)
            cond = E(f"({f.label} > {self.pick(INTS)}) or {cond.text}", t.BOOL, cond.unknown)
        return cond

    # ---- values and actions ----------------------------------------------------------
    def value(self, kind: str, ctx: Ctx) -> E:
        """A value to store in an output of ``kind``: never unknown (`??` where needed)."""
        depth = self.draw(st.integers(0, 2))
        if kind == "bool":
            made, default = self.boolean(depth, ctx), self.pick(["true", "false"])
        elif kind == "text":
            made, default = self.text(depth, ctx), '"a"'
        else:
            made, default = self.num(kind, depth, ctx), self.literal(kind).text
        if made.unknown:
            return E(f"({made.text} ?? {default})", made.type)
        return made

    def actions(self, ctx: Ctx) -> str:
        out = []
        for _ in range(self.draw(st.integers(1, 3))):
            kind = self.pick(["assign", "assign", "boost", "block", "review"])
            boostable = [(n, k) for n, k in self.outputs if k in ("number", "money", "percent")]
            if kind == "boost" and boostable:
                name, _ = self.pick(boostable)
                by = (
                    self.pick([*PERCENTS, "-20%"])
                    if self.chance(70)
                    else self.value("percent", ctx).text
                )
                out.append(f"boost {name} by {by}")
            elif kind in ("assign", "boost"):
                name, k = self.pick(self.outputs)
                out.append(f"{name} = {self.value(k, ctx).text}")
            elif kind == "block":
                out.append(f'block "{self.pick(["no", "stop"])}"')
            else:
                role = f" by {self.pick(ROLES)}" if self.chance(60) else ""
                out.append(f'review "{self.pick(["look", "check"])}"{role}')
        return ", ".join(out)


def _field_decl(f: FieldSpec) -> str:
    if f.enum:
        text = f"{f.name}: text in {{{', '.join(chr(34) + v + chr(34) for v in f.enum)}}}"
    elif f.kind in RANGES:
        low, high = RANGES[f.kind]
        text = f"{f.name}: {f.kind} in {low} .. {high}"
    else:
        text = f"{f.name}: {f.kind}"
    return text + (" optional" if f.optional else "")


def _model_decl(m: ModelSpec) -> str:
    lines = [f"model {m.name}({', '.join(m.params)}) -> {m.result}"]
    if m.min_confidence:
        lines.append(f"  min_confidence {m.min_confidence}")
    if m.fallback is not None:
        lines.append(f"  fallback {m.fallback}")
    return "\n".join([*lines, "end"])


@st.composite
def field_specs(draw: Any) -> list[FieldSpec]:
    blocks = ["item"] + (["order"] if draw(st.booleans()) else [])
    fields = [FieldSpec("item", "k", "int"), FieldSpec("item", "p", "money")]
    for block in blocks:
        for i in range(draw(st.integers(1, 5))):
            kind = draw(st.sampled_from(FIELD_KINDS))
            optional = draw(st.integers(0, 3)) == 0
            enum = (
                tuple(draw(st.sampled_from([("x", "y"), ("x", "y", "z"), ("lo", "hi")])))
                if kind == "enum"
                else None
            )
            fields.append(FieldSpec(block, f"f{i}", "text" if enum else kind, optional, enum))
    return fields


@st.composite
def model_specs(draw: Any, facts_names: Sequence[str]) -> list[ModelSpec]:
    models = []
    for i in range(draw(st.integers(0, 3))):
        result = draw(st.sampled_from(["score", "score", "number", "bool", "text"]))
        params = tuple(
            draw(
                st.lists(
                    st.sampled_from([*facts_names, "number", "text", "money", "int"]),
                    min_size=1,
                    max_size=2,
                )
            )
        )
        fallback = None
        if draw(st.booleans()):
            fallback = {"score": "0.5", "number": "1.5", "bool": "false", "text": '"a"'}[result]
        confidence = "80%" if result == "score" and draw(st.booleans()) else None
        models.append(ModelSpec(f"m{i}", params, result, fallback, confidence))
    return models


@st.composite
def policies(draw: Any) -> GeneratedPolicy:
    """A random policy that passes the checker, exercising every construct the
    evaluator has: three-valued logic, `??`, ranges, sets, arithmetic on every
    numeric type, boosts, block/review, models with and without fallback (and the
    `if unknown` branches they need), constraints."""
    fields = draw(field_specs())
    facts_names = sorted({f.facts for f in fields})
    models = draw(model_specs(facts_names))
    kinds = draw(
        st.lists(
            st.sampled_from(["number", "money", "percent", "int", "bool", "text"]),
            min_size=1,
            max_size=4,
        )
    )
    outputs = [(f"o{i}", k) for i, k in enumerate(kinds)]
    w = PolicyWriter(draw, fields, outputs, models)
    out = ["# generated", "policy generated", '  version "1"', "end", ""]
    for block in facts_names:
        out += [
            f"facts {block}",
            *[f"  {_field_decl(f)}" for f in fields if f.facts == block],
            "end",
            "",
        ]
    out += [_model_decl(m) + "\n" for m in models]
    out.append("decision")
    no_models = Ctx(models=False, outputs=False)
    out += [f"  {name}: {kind} = {w.value(kind, no_models).text}" for name, kind in outputs]
    out += ["end", ""]
    rule_names = []
    in_rules = Ctx(models=True, outputs=True)
    for i in range(draw(st.integers(1, 5))):
        out.append(_rule(w, f"r{i}", in_rules))
        rule_names.append(f"r{i}")
    written = "\n".join(out[out.index("decision") :])
    for m in models:  # every declared model must be used (E208)
        # Read use from the text written: a maker may draw a call and then give up.
        if not re.search(rf"\b{m.name}\(", written):
            out.append(_rule(w, f"use_{m.name}", in_rules, force=m))
            rule_names.append(f"use_{m.name}")
    in_ensures = Ctx(models=False, outputs=True)
    for i in range(draw(st.integers(0, 2))):
        cond = w.condition(in_ensures)
        out += [f"ensure e{i}", f"  {cond.text}", f"  otherwise {w.actions(in_ensures)}", "end", ""]
        rule_names.append(f"e{i}")
    return GeneratedPolicy("\n".join(out), fields, outputs, models, rule_names)


def _rule(w: PolicyWriter, name: str, ctx: Ctx, force: ModelSpec | None = None) -> str:
    if force is not None:
        call = w.call(force, ctx, 1)
        if force.result in ("score", "number"):
            cond = E(f"({call.text} {w.pick(COMPARE)} {w.pick(DECIMALS)})", t.BOOL, call.unknown)
        elif force.result == "bool":
            cond = call
        else:
            cond = E(f'({call.text} == "{w.pick(WORDS)}")', t.BOOL, call.unknown)
    else:
        cond = w.condition(ctx)
    lines = [f"rule {name}" + (f' "title of {name}"' if w.chance(30) else "")]
    if w.chance(40):
        lines.append(f"  priority {w.pick([-5, 1, 10, 100])}")
    lines += [f"  when {cond.text}", f"  then {w.actions(ctx)}"]
    if cond.unknown or w.chance(20):
        lines.append(f"  if unknown then {w.actions(ctx)}")
    return "\n".join([*lines, "end", ""])


# ---- facts and model answers for a checked policy ----------------------------------------------

_NUMBER_POOL = (0.0, 0.5, 1.0, 1.5, 2.25, 3.0, 5.0, 10.0)
_MONEY_POOL = tuple(Decimal(x) for x in ("0", "0.5", "1", "1.5", "2.25", "3", "10", "100"))
_PERCENT_POOL = tuple(Decimal(x) for x in ("0", "0.1", "0.15", "0.5", "1"))


def _inside(info: ir.FieldInfo, value: Any) -> bool:
    if info.low is None:
        return True
    return (
        bool(info.low <= value <= info.high)
        if info.high_inclusive
        else bool(info.low <= value < info.high)
    )


def value_for(info: ir.FieldInfo) -> st.SearchStrategy[Any]:
    """A valid run-time value for one declared field."""
    kind = info.type.kind
    if info.type.enum:
        return st.sampled_from(info.type.enum)
    if kind == "bool":
        return st.booleans()
    if kind == "text":
        return st.sampled_from(["", *WORDS]) | st.text(max_size=8)
    low, high = info.low, info.high
    if kind == "int":
        return st.integers(
            int(low) if low is not None else -50,
            (int(high) if info.high_inclusive else int(high) - 1) if high is not None else 50,
        )
    if kind == "number":
        lo = float(low) if low is not None else -50.0
        hi = float(high) if high is not None else 50.0
        pool = [v for v in _NUMBER_POOL if _inside(info, v)]
        full = st.floats(
            lo, hi, allow_nan=False, allow_infinity=False, exclude_max=not info.high_inclusive
        )
        return st.sampled_from(pool) | full if pool else full
    lo_d = Decimal(low) if low is not None else Decimal(-50)
    hi_d = Decimal(high) if high is not None else Decimal(50)
    pool = [v for v in (_PERCENT_POOL if kind == "percent" else _MONEY_POOL) if _inside(info, v)]
    full = st.decimals(lo_d, hi_d, places=2, allow_nan=False, allow_infinity=False).filter(
        lambda v: _inside(info, v)
    )
    return st.sampled_from(pool) | full if pool else full


def facts_for(policy: ir.Policy) -> st.SearchStrategy[dict[str, dict[str, Any]]]:
    """Valid facts for ``policy``; optional fields are missing, None, or set."""

    def block(facts: ir.Facts) -> st.SearchStrategy[dict[str, Any]]:
        required = {f.name: value_for(f) for f in facts.fields if not f.optional}
        optional = {f.name: st.none() | value_for(f) for f in facts.fields if f.optional}
        return st.fixed_dictionaries(required, optional=optional)

    return st.fixed_dictionaries({f.name: block(f) for f in policy.facts})


RAISE = "raise"


def _answer(model: ir.Model) -> st.SearchStrategy[Any]:
    """One raw answer a model implementation could give, good or bad."""
    if model.result == "bool":
        good: st.SearchStrategy[Any] = st.booleans()
        bad: st.SearchStrategy[Any] = st.sampled_from(["yes", 1.0])
    elif model.result == "text":
        good = st.sampled_from(WORDS)
        bad = st.sampled_from([3, True])
    else:
        good = st.sampled_from([0.0, 0.1, 0.5, 0.6, 0.85, 0.9, 1.0]) | st.floats(0, 1)
        bad = st.sampled_from([math.nan, 1.5, -0.5, True, "high", math.inf])
    paired = st.tuples(good, st.sampled_from([0.5, 0.8, 0.95, None]))
    return st.one_of(good, good, paired, st.none(), bad, st.just(RAISE))


def model_answers(policy: ir.Policy) -> st.SearchStrategy[dict[str, list[Any]]]:
    """For each model, a small table of answers; which one a call gets depends on
    its arguments (so a model is a deterministic function, as the memo assumes)."""
    return st.fixed_dictionaries(
        {m.name: st.lists(_answer(m), min_size=1, max_size=4) for m in policy.models}
    )


def replacements(policy: ir.Policy) -> st.SearchStrategy[dict[str, Any]]:
    """A test's `with NAME = VALUE` (None: `with NAME = unknown`) for some models."""

    def value(m: ir.Model) -> st.SearchStrategy[Any]:
        if m.result == "bool":
            return st.none() | st.booleans()
        if m.result == "text":
            return st.none() | st.sampled_from(WORDS)
        return st.none() | st.sampled_from([0.0, 0.5, 0.9, 1.0])

    return st.fixed_dictionaries({}, optional={m.name: value(m) for m in policy.models})


class TableModel:
    """A stand-in model answering from a table, keyed by a hash of its arguments."""

    def __init__(self, name: str, answers: Sequence[Any]) -> None:
        self.name = name
        self.answers = list(answers)
        self.version = f"table-{name}"

    def __call__(self, *args: Any) -> Any:
        answer = self.answers[zlib.crc32(repr(args).encode()) % len(self.answers)]
        if answer == RAISE:
            raise RuntimeError(f"{self.name} failed")
        return answer
