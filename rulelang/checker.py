"""Stage 4: expanded AST -> typed IR (``ir.Policy``).

Resolves every name, types every expression, inserts representation changes,
and reports every problem at once, sorted by position, each with a hint.
A policy that passes never fails at run time with a type error.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from rulelang import ir
from rulelang import nodes as n
from rulelang import types as t
from rulelang.decision import ACTIONS, RESERVED_OUTPUTS
from rulelang.errors import CheckError, Diagnostic, did_you_mean
from rulelang.operators import BINARY, FUNCTIONS, UNARY
from rulelang.source import Span
from rulelang.templates import Expanded

ERROR = t.Type("error")
BUILTINS = tuple(FUNCTIONS)
# Words that the grammar reads as the language's own wherever they stand bare (in a
# condition or an action), so an output, facts block or model so named is unusable.
# tests/test_checker.py derives this set from the grammar and checks it.
RESERVED = frozenset({"allow", "block", "boost", "end", "false", "if", "not", "review", "true"})
ACTION_LEVEL = {name: level for level, name in enumerate(ACTIONS)}  # allow < review < block


@dataclass(frozen=True, slots=True)
class Scope:
    """What an expression may read where it stands."""

    where: str  # "output" | "rule" | "ensure" | "override" | "test"
    models: bool = False
    outputs: bool = True
    present: frozenset[str] = frozenset()


def check(expanded: Expanded) -> ir.Policy:
    """Type-check a module; raise CheckError with every diagnostic."""
    checker = Checker(expanded)
    policy = checker.run()
    errors = [d for d in checker.diags if d.severity == "error"]
    if errors:
        raise CheckError(checker.diags)
    return policy


class Checker:
    def __init__(self, expanded: Expanded) -> None:
        self.module = expanded.module
        self.uses = expanded.uses
        self.diags: list[Diagnostic] = []
        self.facts: dict[str, ir.Facts] = {}
        self.models: dict[str, ir.Model] = {}
        self.outputs: dict[str, ir.OutputDecl] = {}
        self.used_models: set[str] = set()
        self.reads: list[ir.Field | ir.Output] = []

    def error(self, code: str, message: str, span: Span, hint: str = "") -> None:
        self.diags.append(Diagnostic(code, message, span, hint))

    # ---- the whole policy ------------------------------------------------------
    def run(self) -> ir.Policy:
        items = self.module.items
        header = self.header(items)
        for item in items:
            if isinstance(item, n.FactsBlock):
                self.facts_block(item)
        for item in items:
            if isinstance(item, n.ModelDecl):
                self.model_decl(item)
        for item in items:
            if isinstance(item, n.DecisionBlock):
                for out in item.outputs:
                    self.output_decl(out)
        rules = [self.rule(i) for i in items if isinstance(i, n.Rule)]
        ensures = [self.ensure(i) for i in items if isinstance(i, n.Ensure)]
        self.duplicates([i for i in items if isinstance(i, (n.Rule, n.Ensure))], "rule")
        overrides = [self.override(i) for i in items if isinstance(i, n.OverrideDecl)]
        fired_names = {r.name for r in rules} | {e.name for e in ensures}
        tests = [self.test(i, fired_names) for i in items if isinstance(i, n.TestBlock)]
        self.duplicates([i for i in items if isinstance(i, n.TestBlock)], "test")
        invariants = [self.invariant(i) for i in items if isinstance(i, n.Invariant)]
        for use, template in self.uses:
            self.use_site(use, template)
        self.unused_models()
        rules.sort(key=lambda r: -r.priority)  # stable: ties keep file order
        text = self.module.span.file.text
        return ir.Policy(
            name=header.name,
            title=header.title or "",
            version=header.version or "",
            owner=header.owner or "",
            facts=tuple(self.facts.values()),
            models=tuple(self.models.values()),
            outputs=tuple(self.outputs.values()),
            rules=tuple(rules),
            ensures=tuple(ensures),
            overrides=tuple(overrides),
            tests=tuple(tests),
            invariants=tuple(invariants),
            source_hash=self.policy_hash(text),
            source_name=self.module.span.file.name,
        )

    def policy_hash(self, text: str) -> str:
        """The policy's text and the text of every template file it uses: a change in
        the standard library changes the hash of the policies that use it."""
        digest = hashlib.sha256(text.encode())
        # Texts only, not paths: the same policy hashes alike wherever rulelang is installed.
        for body in dict.fromkeys(tpl.span.file.text for _, tpl in self.uses):
            digest.update(b"\0" + body.encode())
        return "sha256:" + digest.hexdigest()

    def header(self, items: tuple[n.Item, ...]) -> n.PolicyHeader:
        headers = [i for i in items if isinstance(i, n.PolicyHeader)]
        for extra in headers[1:]:
            self.error(
                "E200",
                "a file holds one policy header",
                extra.span,
                "remove this second `policy ... end` block",
            )
        if not headers:
            self.error(
                "E200",
                "missing policy header",
                Span(0, 0, self.module.span.file),
                'start the file with `policy NAME version "1" end`',
            )
            return n.PolicyHeader("unnamed")
        return headers[0]

    def duplicates(self, items: list[Any], what: str) -> None:
        seen: dict[str, Span] = {}
        for item in items:
            if item.name in seen:
                first = seen[item.name]
                self.error(
                    "E202",
                    f"duplicate {what} name `{item.name}`",
                    getattr(item, "name_span", item.span),
                    f"first defined at line {first.line}; names must be unique",
                )
            else:
                seen[item.name] = getattr(item, "name_span", item.span)

    # ---- facts and models -----------------------------------------------------------
    def reserved(self, name: str, what: str, span: Span) -> None:
        """A name the grammar reads as a word of the language wherever it is used bare."""
        if name in RESERVED:
            suffix = {"an output": "out", "a facts block": "facts", "a model": "model"}[what]
            self.error(
                "E210",
                f"`{name}` is a word of the language and cannot name {what}",
                span,
                f"rename it, for example `{name}_{suffix}`",
            )

    def facts_block(self, block: n.FactsBlock) -> None:
        self.reserved(block.name, "a facts block", block.span)
        if block.name in self.facts or block.name in RESERVED_OUTPUTS:
            self.error("E202", f"duplicate facts name `{block.name}`", block.span)
            return
        fields: list[ir.FieldInfo] = []
        for decl in block.fields:
            info = self.field_decl(decl)
            if info is not None:
                if any(f.name == info.name for f in fields):
                    self.error("E202", f"duplicate field `{block.name}.{info.name}`", decl.span)
                fields.append(info)
        self.facts[block.name] = ir.Facts(block.name, tuple(fields), block.span)

    def field_decl(self, decl: n.FieldDecl) -> ir.FieldInfo | None:
        base = t.named(decl.type_name)
        if base is None or decl.type_name == "score":
            self.error(
                "E203",
                f"unknown type `{decl.type_name}`",
                decl.span,
                did_you_mean(decl.type_name, t.FIELD_TYPES),
            )
            return None
        if decl.enum is not None:
            if base.kind != "text":
                self.error(
                    "E204",
                    "only text fields take a set of values",
                    decl.span,
                    "use a range `in LOW .. HIGH` for numbers",
                )
            return ir.FieldInfo(decl.name, t.Type("text", decl.enum), optional=decl.optional)
        low, high = self.field_bounds(decl, base)
        return ir.FieldInfo(decl.name, base, low, high, decl.high_inclusive, decl.optional)

    def field_bounds(self, decl: n.FieldDecl, base: t.Type) -> tuple[Any, Any]:
        if decl.low is None or decl.high is None:
            return (Decimal(0), Decimal(1)) if base.kind == "percent" else (None, None)
        if not base.numeric:
            self.error("E204", f"a {base} field takes no range", decl.span)
            return None, None
        low, high = (runtime_value(b.value, base) for b in (decl.low, decl.high))
        if base.kind == "int" and (decl.low.kind != "int" or decl.high.kind != "int"):
            self.error("E205", "an int range needs whole-number bounds", decl.span)
        if low > high:
            self.error(
                "E205",
                "the range is empty: its low bound is above its high bound",
                decl.span,
                f"write `in {decl.high.value} .. {decl.low.value}`",
            )
        return low, high

    def model_decl(self, decl: n.ModelDecl) -> None:
        self.reserved(decl.name, "a model", decl.span)
        if decl.name in self.models or decl.name in BUILTINS:
            self.error("E202", f"duplicate model name `{decl.name}`", decl.span)
            return
        params = []
        for p in decl.params:
            name = p.parts[0]
            if name not in self.facts and t.named(name) is None:
                self.error(
                    "E203",
                    f"unknown parameter type `{name}`",
                    p.span,
                    did_you_mean(name, [*self.facts, *t.FIELD_TYPES]),
                )
            params.append(name)
        if decl.result not in t.MODEL_RESULTS:
            self.error(
                "E203",
                f"a model returns one of score, number, bool, text, not `{decl.result}`",
                decl.span,
                did_you_mean(decl.result, t.MODEL_RESULTS),
            )
        result = t.named(decl.result) or ERROR
        self.models[decl.name] = ir.Model(
            decl.name,
            len(self.models),
            tuple(params),
            decl.result,
            result,
            self.min_confidence(decl),
            self.timeout(decl),
            self.fallback(decl, result),
            decl.fallback is not None,
            decl.span,
        )

    def min_confidence(self, decl: n.ModelDecl) -> float | None:
        lit = decl.min_confidence
        if lit is None:
            return None
        value = lit.value
        assert isinstance(value, (int, Decimal))
        if not 0 <= value <= 1:
            self.error(
                "E206",
                "min_confidence lies between 0% and 100%",
                lit.span,
                "write it as a percent, e.g. `min_confidence 80%`",
            )
        return float(value)

    def fallback(self, decl: n.ModelDecl, result: t.Type) -> Any:
        lit = decl.fallback
        if lit is None:
            return None
        lit_type = literal_type(lit)
        if not t.assignable(result, lit_type):
            self.error("E207", f"fallback {lit.value!r} is not a {decl.result}", lit.span)
            return None
        value = lit.value
        if decl.result == "score" and isinstance(value, (int, Decimal)) and not 0 <= value <= 1:
            self.error(
                "E207",
                f"fallback {lit.value} is not a score",
                lit.span,
                "a score lies between 0 and 1",
            )
            return None
        return runtime_value(lit.value, result)

    def timeout(self, decl: n.ModelDecl) -> float | None:
        if decl.timeout_ms is None:
            return None
        if decl.timeout_ms <= 0:
            self.error(
                "E209",
                "a timeout must be longer than 0 ms",
                decl.span,
                "leave `timeout` out to let the model take as long as it needs",
            )
        return float(decl.timeout_ms)

    def unused_models(self) -> None:
        for model in self.models.values():
            if model.name not in self.used_models:
                self.error(
                    "E208",
                    f"model `{model.name}` is declared but never used",
                    model.span,
                    "remove the declaration or use it in a rule",
                )

    # ---- outputs, rules, constraints ----------------------------------------------------
    def output_decl(self, decl: n.OutputDecl) -> None:
        self.reserved(decl.name, "an output", decl.span)
        if decl.name in self.outputs or decl.name in RESERVED_OUTPUTS:
            self.error("E202", f"duplicate output `{decl.name}`", decl.span, built_in_hint())
            return
        if decl.name in self.facts:
            self.error("E202", f"output `{decl.name}` has the name of a facts block", decl.span)
        declared = t.named(decl.type_name)
        if declared is None or decl.type_name == "score":
            self.error(
                "E203",
                f"unknown type `{decl.type_name}`",
                decl.span,
                did_you_mean(decl.type_name, t.FIELD_TYPES),
            )
            declared = ERROR
        init = self.value(decl.init, declared, Scope("output", outputs=False), decl.span)
        self.outputs[decl.name] = ir.OutputDecl(decl.name, declared, init, decl.span)

    def rule(self, rule: n.Rule) -> ir.Rule:
        scope = Scope("rule", models=True)
        self.reads = []
        cond = self.condition(rule.when, scope)
        reads = tuple(self.reads)
        then = self.actions(rule.then, scope)
        if_unknown = self.actions(rule.if_unknown or (), scope)
        if cond.unknown and rule.if_unknown is None:
            models = ", ".join(sorted(models_in(cond)))
            self.error(
                "E301",
                f"this condition can be unknown: model {models} may have no answer",
                rule.when.span,
                "add `if unknown then ...` to the rule, or give the model a `fallback`",
            )
        if is_constant(cond) and constant_value(cond) is False:
            self.error(
                "E302",
                f"rule `{rule.name}` can never fire: its condition is always false",
                rule.when.span,
                "fix the condition or remove the rule",
            )
        return ir.Rule(
            rule.name, rule.title or "", rule.priority, cond, then, if_unknown, reads, rule.span
        )

    def ensure(self, ensure: n.Ensure) -> ir.Ensure:
        scope = Scope("ensure")
        self.reads = []
        cond = self.condition(ensure.cond, scope)
        reads = tuple(self.reads)
        otherwise = self.actions(ensure.otherwise, scope)
        return ir.Ensure(ensure.name, ensure.title or "", cond, otherwise, reads, ensure.span)

    def condition(self, node: n.Expr, scope: Scope) -> ir.Expr:
        expr = self.expr(node, scope)
        if expr.type.kind not in ("bool", "error"):
            self.error(
                "E303",
                f"a condition must be true or false, this is a {expr.type}",
                node.span,
                "compare it, e.g. `x > 0`",
            )
        return expr

    def actions(self, actions: tuple[n.Action, ...], scope: Scope) -> tuple[ir.Statement, ...]:
        return tuple(s for a in actions if (s := self.action(a, scope)) is not None)

    def action(self, action: n.Action, scope: Scope) -> ir.Statement | None:
        if isinstance(action, n.Block):
            return ir.RaiseAction(2, action.reason, "", action.span)
        if isinstance(action, n.Review):
            return ir.RaiseAction(1, action.reason, action.role or "", action.span)
        target = self.target(action.target, action.span)
        if target is None:
            return None
        if isinstance(action, n.Assign):
            value = self.value(action.value, target.type, scope, action.value.span)
            return ir.SetOutput(target.name, value, action.span)
        return self.boost(action, target, scope)

    def target(self, node: n.Expr, span: Span) -> ir.OutputDecl | None:
        if not isinstance(node, n.Name) or len(node.parts) != 1 or node.parts[0] in self.facts:
            where = node.span if node.span.file.text else span
            if isinstance(node, n.Name) and node.parts[0] in self.facts:
                self.error(
                    "E304",
                    f"cannot assign to the fact `{node.dotted}`",
                    where,
                    "facts are input: assign to a decision output instead",
                )
            else:
                self.error("E304", "only a decision output can be assigned", where)
            return None
        name = node.parts[0]
        if name == "action":
            self.error(
                "E304",
                "`action` is changed with `block` or `review`",
                node.span,
                'write `block "reason"` or `review "reason" by ROLE`',
            )
            return None
        decl = self.outputs.get(name)
        if decl is None:
            hint = did_you_mean(name, self.outputs)
            self.error("E201", f"unknown output `{name}`", node.span, hint)
        return decl

    def boost(self, action: n.Boost, target: ir.OutputDecl, scope: Scope) -> ir.Statement | None:
        by = self.expr(action.by, scope)
        if target.type.kind not in ("number", "money", "percent"):
            self.error("E305", f"cannot boost a {target.type} output", action.target.span)
            return None
        if by.type.kind not in ("percent", "int", "literal", "error"):
            self.error(
                "E305",
                f"boost takes a percent, got {by.type}",
                action.by.span,
                "write for example `boost rank by 15%`",
            )
            return None
        if by.unknown:
            self.no_unknown_value(action.by.span, by)
        one = ir.Const(Decimal(1), t.PERCENT, action.span)
        factor: ir.Expr = fold(ir.Arith("+", one, by, t.PERCENT, action.span, by.unknown))
        if target.type.kind == "number":
            factor = convert(factor, t.NUMBER)
        return ir.BoostOutput(target.name, factor, action.span)

    def value(self, node: n.Expr, to: t.Type, scope: Scope, span: Span) -> ir.Expr:
        """An expression stored into a value of type ``to``: typed, converted, known."""
        expr = self.expr(node, scope)
        if ERROR in (to, expr.type):
            return expr
        if not t.assignable(to, expr.type):
            hint = conversion_hint(to, expr.type)
            self.error("E306", f"expected {to}, got {expr.type}", node.span, hint)
            return expr
        if expr.unknown:
            self.no_unknown_value(node.span, expr)
        if to.kind == "text" and to.enum:
            self.enum_member(expr, to, node.span)
        return convert(expr, to)

    def no_unknown_value(self, span: Span, expr: ir.Expr) -> None:
        models = ", ".join(sorted(models_in(expr)))
        self.error(
            "E307",
            f"this value can be unknown: model {models} may have no answer",
            span,
            "give a default with `??`, e.g. `score(x) ?? 0`",
        )

    # ---- overrides, tests, invariants, uses ---------------------------------------------
    def override(self, decl: n.OverrideDecl) -> ir.OverrideRight:
        name = decl.output.parts[0]
        out_type: t.Type = t.ACTION if name == "action" else ERROR
        if name != "action":
            target = self.target(decl.output, decl.span)
            out_type = target.type if target else ERROR
        low = high = None
        if decl.low is not None and decl.high is not None:
            if name == "action":
                self.error("E308", "the action takes no bounds", decl.low.span)
                return ir.OverrideRight(name, decl.role, None, None, True, decl.span)
            scope = Scope("override", outputs=False)
            low = self.value(decl.low, out_type, scope, decl.low.span)
            high = self.value(decl.high, out_type, scope, decl.high.span)
        return ir.OverrideRight(name, decl.role, low, high, decl.high_inclusive, decl.span)

    def test(self, test: n.TestBlock, fired_names: set[str]) -> ir.TestCase:
        given: list[tuple[str, str, Any]] = []
        models: list[tuple[str, Any, bool]] = []
        expects: list[ir.ExpectCond | ir.ExpectFired] = []
        for clause in test.clauses:
            if isinstance(clause, n.Given):
                item = self.given(clause)
                if item is not None:
                    given.append(item)
            elif isinstance(clause, n.WithModel):
                models.append(self.with_model(clause))
            elif isinstance(clause, n.Expect):
                expects.append(
                    ir.ExpectCond(self.condition(clause.cond, Scope("test")), clause.span)
                )
            else:
                for rule in clause.rules:
                    if rule.parts[0] not in fired_names:
                        self.error(
                            "E309",
                            f"unknown rule `{rule.parts[0]}`",
                            rule.span,
                            did_you_mean(rule.parts[0], fired_names),
                        )
                names = tuple(r.parts[0] for r in clause.rules)
                expects.append(ir.ExpectFired(names, clause.negate, clause.span))
        return ir.TestCase(test.name, tuple(given), tuple(models), tuple(expects), test.span)

    def given(self, clause: n.Given) -> tuple[str, str, Any] | None:
        if clause.path.dotted in (*self.outputs, *RESERVED_OUTPUTS):
            self.given_output(clause.path.span)
            return None
        field = self.name(
            clause.path, Scope("test", outputs=False, present=frozenset({clause.path.dotted}))
        )
        if not isinstance(field, ir.Field):
            if field.type != ERROR:
                self.given_output(clause.path.span)
            return None
        value = self.literal_value(clause.value, field.type, clause.value.span)
        if value is not None:
            self.in_domain(field, value, clause.value.span)
        return (field.facts, field.field, value)

    def given_output(self, span: Span) -> None:
        self.error(
            "E310",
            "`given` sets a fact field",
            span,
            "outputs are computed: check them with `expect`",
        )

    def with_model(self, clause: n.WithModel) -> tuple[str, Any, bool]:
        model = self.models.get(clause.model)
        if model is None:
            self.error(
                "E201",
                f"unknown model `{clause.model}`",
                clause.span,
                did_you_mean(clause.model, self.models),
            )
            return (clause.model, None, True)
        if clause.value is None:
            return (model.name, None, True)
        return (model.name, self.literal_value(clause.value, model.type, clause.value.span), False)

    def literal_value(self, node: n.Expr, to: t.Type, span: Span) -> Any:
        expr = self.expr(node, Scope("test", outputs=False))
        if not is_constant(expr):
            self.error("E311", "expected a literal value here", span)
            return None
        if not t.assignable(to, expr.type) and expr.type != ERROR:
            self.error(
                "E306", f"expected {to}, got {expr.type}", span, conversion_hint(to, expr.type)
            )
            return None
        if to.enum:
            self.enum_member(expr, to, span)
        return constant_value(convert(expr, to))

    def in_domain(self, field: ir.Field, value: Any, span: Span) -> None:
        info = self.facts[field.facts].field(field.field)
        if info is None or info.low is None or value is None:
            return
        above = value > info.high if info.high_inclusive else value >= info.high
        if value < info.low or above:
            self.error(
                "E312",
                f"{field.label} = {value} lies outside its declared range",
                span,
                f"{field.label} is declared in {info.low} .. {info.high}",
            )

    def invariant(self, inv: n.Invariant) -> ir.Invariant:
        return ir.Invariant(inv.name, self.condition(inv.cond, Scope("test")), inv.span)

    def use_site(self, use: n.Use, template: n.Template) -> None:
        """Check a use's arguments. A wrong one is reported where it is written; the
        errors it caused inside the template's body are dropped."""
        before = len(self.diags)
        self.use(use, template)
        if len(self.diags) > before:
            kept = [d for d in self.diags[:before] if not inside(d.span, template.span)]
            self.diags = kept + self.diags[before:]

    def use(self, use: n.Use, template: n.Template) -> None:
        assigned = assigned_params(template)
        for param, arg in zip(template.params, use.args, strict=False):
            want = t.named(param.type_name)
            if want is None:
                self.error("E203", f"unknown parameter type `{param.type_name}`", param.span)
                continue
            if param.name in assigned:
                continue  # checked where it is assigned (it must be an output)
            expr = self.expr(arg, Scope("rule", models=True))
            if expr.type != ERROR and not t.assignable(want, expr.type):
                self.error(
                    "E306",
                    f"`{param.name}` of `{template.name}` expects {want}, got {expr.type}",
                    arg.span,
                    conversion_hint(want, expr.type),
                )

    # ---- expressions --------------------------------------------------------------------
    def expr(self, node: n.Expr, scope: Scope) -> ir.Expr:
        method = getattr(self, "expr_" + type(node).__name__.lower())
        result: ir.Expr = method(node, scope)
        return fold(result)

    def expr_literal(self, node: n.Literal, scope: Scope) -> ir.Expr:
        kind = literal_type(node)
        if kind == t.ACTION:
            return ir.Const(ACTION_LEVEL[str(node.value)], t.ACTION, node.span)
        return ir.Const(node.value, kind, node.span)

    def expr_name(self, node: n.Name, scope: Scope) -> ir.Expr:
        expr = self.name(node, scope)
        if isinstance(expr, ir.Field) and expr.optional and expr.label not in scope.present:
            self.error(
                "E313",
                f"`{expr.label}` is optional and may be missing",
                node.span,
                f"write `{expr.label} ?? DEFAULT`, or test `{expr.label} is present` first",
            )
        return expr

    def name(self, node: n.Name, scope: Scope) -> ir.Expr:
        parts = node.parts
        if len(parts) == 1:
            return self.bare_name(node, scope)
        facts = self.facts.get(parts[0])
        if facts is None or len(parts) > 2:
            known = [*self.facts, *(self.outputs if scope.outputs else ())]
            if facts is None:
                self.error(
                    "E201", f"unknown name `{parts[0]}`", node.span, did_you_mean(parts[0], known)
                )
            else:
                self.error(
                    "E201", f"`{node.dotted}` goes too deep: fields are not nested", node.span
                )
            return poison(node.span)
        info = facts.field(parts[1])
        if info is None:
            self.error(
                "E201",
                f"unknown field `{node.dotted}`",
                node.span,
                did_you_mean(node.dotted, [f"{facts.name}.{f.name}" for f in facts.fields]),
            )
            return poison(node.span)
        field = ir.Field(facts.name, info.name, info.type, info.optional, node.span)
        self.reads.append(field)
        return field

    def bare_name(self, node: n.Name, scope: Scope) -> ir.Expr:
        name = node.parts[0]
        if name in self.facts:
            return ir.FactsRef(name, t.Type("facts", facts=name), node.span)
        if scope.outputs:
            if name == "action":
                return self.read(ir.Output("action", t.ACTION, node.span))
            if name == "review_by":
                return self.read(ir.Output("review_by", t.TEXT, node.span))
            if name in self.outputs:
                return self.read(ir.Output(name, self.outputs[name].type.plain(), node.span))
            if name == "reasons":
                self.error(
                    "E314",
                    "`reasons` is a list and cannot be used in an expression",
                    node.span,
                    "test `action` or `review_by` instead",
                )
                return poison(node.span)
        where = "here: only facts are known in " + plural(scope.where) if not scope.outputs else ""
        known = [*self.facts, *(self.outputs if scope.outputs else ())]
        self.error(
            "E201",
            f"unknown name `{name}`" + (f" {where}" if where else ""),
            node.span,
            did_you_mean(name, known),
        )
        return poison(node.span)

    def read(self, output: ir.Output) -> ir.Output:
        self.reads.append(output)
        return output

    def expr_call(self, node: n.Call, scope: Scope) -> ir.Expr:
        if node.func in BUILTINS:
            return self.builtin(node, scope)
        model = self.models.get(node.func)
        if model is None:
            self.error(
                "E201",
                f"unknown model or function `{node.func}`",
                node.span,
                close_match(node.func, [*self.models, *BUILTINS])
                or f"declare it: `model {node.func}(...) -> score ... end`",
            )
            return poison(node.span)
        self.used_models.add(model.name)
        if not scope.models:
            self.error(
                "E315",
                f"models cannot be called in {plural(scope.where)}",
                node.span,
                "constraints, overrides and tests must not depend on a model's answer",
            )
        args = tuple(
            self.model_arg(a, p, scope) for a, p in zip(node.args, model.params, strict=False)
        )
        if len(node.args) != len(model.params):
            self.error(
                "E316",
                f"model `{model.name}` takes {len(model.params)} arguments, got {len(node.args)}",
                node.span,
                f"({', '.join(model.params)})",
            )
        unknown = not model.has_fallback or any(a.unknown for a in args)
        return ir.ModelCall(model.name, model.index, args, model.type, node.span, unknown)

    def model_arg(self, node: n.Expr, param: str, scope: Scope) -> ir.Expr:
        expr = self.expr(node, scope)
        if expr.type == ERROR:
            return expr
        if param in self.facts:
            if expr.type.kind != "facts" or expr.type.facts != param:
                self.error(
                    "E306",
                    f"expected the facts `{param}`, got {expr.type}",
                    node.span,
                    f"pass `{param}`",
                )
            return expr
        want = t.named(param) or ERROR
        if expr.type.kind == "facts" or not t.assignable(want, expr.type):
            self.error(
                "E306",
                f"expected {want}, got {expr.type}",
                node.span,
                conversion_hint(want, expr.type),
            )
            return expr
        return convert(expr, want)

    def builtin(self, node: n.Call, scope: Scope) -> ir.Expr:
        args = [self.expr(a, scope) for a in node.args]
        arity = FUNCTIONS[node.func].arity
        if len(args) not in arity:
            shown = arity[0] if len(arity) == 1 else arity
            self.error("E316", f"`{node.func}` takes {shown} arguments", node.span)
            return poison(node.span)
        if any(a.type == ERROR for a in args):
            return poison(node.span)
        if not all(a.type.numeric for a in args):
            self.error("E306", f"`{node.func}` takes numbers", node.span)
            return poison(node.span)
        unknown = any(a.unknown for a in args)
        if node.func in ("money", "number"):
            target = t.MONEY if node.func == "money" else t.NUMBER
            return ir.Builtin(node.func, tuple(args), target, node.span, unknown)
        if node.func in ("min", "max"):
            common = self.join(args[0], args[1], node.span)
            if common is None:
                return poison(node.span)
            return ir.Builtin(
                node.func,
                (convert(args[0], common), convert(args[1], common)),
                common,
                node.span,
                unknown,
            )
        # round(x) gives an int at run time (runtime.round_half_up); round(x, n) keeps x's type.
        result = t.INT if node.func == "round" and len(args) == 1 else args[0].type.plain()
        return ir.Builtin(node.func, tuple(args), result, node.span, unknown)

    def join(self, a: ir.Expr, b: ir.Expr, span: Span) -> t.Type | None:
        common = t.join(a.type, b.type)
        if common is None:
            self.error(
                "E306",
                "money cannot be mixed with a number",
                span,
                "convert one side: money(x) or number(x)",
            )
        return common

    def expr_unary(self, node: n.Unary, scope: Scope) -> ir.Expr:
        operand = self.expr(node.operand, scope)
        if operand.type == ERROR:
            return operand
        if UNARY[node.op].kind == "not":
            self.expect_bool(operand, node.operand.span)
            return ir.Not(operand, t.BOOL, node.span, operand.unknown)
        if not operand.type.numeric:
            self.error("E306", f"cannot negate a {operand.type}", node.span)
            return poison(node.span)
        return ir.Neg(operand, operand.type.plain(), node.span, operand.unknown)

    def expect_bool(self, expr: ir.Expr, span: Span) -> None:
        if expr.type.kind not in ("bool", "error"):
            self.error("E303", f"expected true or false, got {expr.type}", span)

    def expr_binary(self, node: n.Binary, scope: Scope) -> ir.Expr:
        kind = BINARY[node.op].kind
        if kind == "logic":
            return self.logic(node, scope)
        if kind == "coalesce":
            return self.coalesce(node, scope)
        left, right = self.expr(node.left, scope), self.expr(node.right, scope)
        if ERROR in (left.type, right.type):
            return poison(node.span)
        unknown = left.unknown or right.unknown
        if kind == "compare":
            return self.compare(node, left, right, unknown)
        if not (left.type.numeric and right.type.numeric):
            self.error(
                "E306", f"`{node.op}` needs numbers, got {left.type} and {right.type}", node.span
            )
            return poison(node.span)
        if self.join(left, right, node.span) is None:
            return poison(node.span)
        result = t.arith(node.op, left.type, right.type)
        if isinstance(result, str):
            self.error("E306", result, node.span)
            return poison(node.span)
        operand_type = result if result.kind == "number" else t.join(left.type, right.type)
        assert operand_type is not None
        return ir.Arith(
            node.op,
            convert(left, operand_type),
            convert(right, operand_type),
            result,
            node.span,
            unknown,
        )

    def compare(self, node: n.Binary, left: ir.Expr, right: ir.Expr, unknown: bool) -> ir.Expr:
        if not t.comparable(left.type, right.type):
            hint = mix_hint(left.type, right.type)
            self.error("E306", f"cannot compare {left.type} with {right.type}", node.span, hint)
            return poison(node.span)
        ordered = BINARY[node.op].ordered
        if ordered and not (left.type.numeric or left.type.kind == "action"):
            self.error(
                "E306",
                f"`{node.op}` orders numbers or actions, not {left.type}",
                node.span,
                "use == or != for text and true/false",
            )
            return poison(node.span)
        for a, b in ((left, right), (right, left)):
            if a.type.enum:
                self.enum_member(b, a.type, node.span)
        common = t.join(left.type, right.type) if left.type.numeric else left.type
        assert common is not None
        return ir.Compare(
            node.op, convert(left, common), convert(right, common), t.BOOL, node.span, unknown
        )

    def enum_member(self, expr: ir.Expr, enum_type: t.Type, span: Span) -> None:
        if not isinstance(expr, ir.Const) or not isinstance(expr.value, str):
            return
        assert enum_type.enum is not None
        if expr.value not in enum_type.enum:
            self.error(
                "E317",
                f'"{expr.value}" is not one of the declared values',
                expr.span,
                did_you_mean(expr.value, enum_type.enum).replace("`", '"'),
            )

    def logic(self, node: n.Binary, scope: Scope) -> ir.Expr:
        left = self.expr(node.left, scope)
        inner = scope
        if node.op == "and" or node.op == "implies":
            inner = replace(scope, present=scope.present | present_labels(left))
        right = self.expr(node.right, inner)
        self.expect_bool(left, node.left.span)
        self.expect_bool(right, node.right.span)
        if ERROR in (left.type, right.type):
            return poison(node.span)
        return ir.Logic(node.op, left, right, t.BOOL, node.span, left.unknown or right.unknown)

    def coalesce(self, node: n.Binary, scope: Scope) -> ir.Expr:
        label = node.left.dotted if isinstance(node.left, n.Name) else ""
        left = self.expr(node.left, replace(scope, present=scope.present | {label}))
        right = self.expr(node.right, scope)
        if ERROR in (left.type, right.type):
            return poison(node.span)
        optional = isinstance(left, ir.Field) and left.optional
        if not (optional or left.unknown):
            self.error(
                "E318",
                "`??` gives a default to an optional field or a model answer; "
                "this value is never missing",
                node.left.span,
                "remove `?? ...`",
            )
        common = left.type.plain() if t.assignable(left.type, right.type) else None
        if common is None:
            self.error(
                "E306",
                f"the default must be a {left.type}, got {right.type}",
                node.right.span,
                conversion_hint(left.type, right.type),
            )
            return poison(node.span)
        return ir.Coalesce(left, convert(right, common), common, node.span, right.unknown)

    def expr_inrange(self, node: n.InRange, scope: Scope) -> ir.Expr:
        value = self.expr(node.value, scope)
        low, high = self.expr(node.low, scope), self.expr(node.high, scope)
        if ERROR in (value.type, low.type, high.type):
            return poison(node.span)
        if not (value.type.numeric and low.type.numeric and high.type.numeric):
            self.error("E306", "a range holds numbers", node.span)
            return poison(node.span)
        common = t.join(value.type, low.type)
        common = t.join(common, high.type) if common else None
        if common is None:
            self.error(
                "E306",
                "money cannot be mixed with a number",
                node.span,
                "convert one side: money(x) or number(x)",
            )
            return poison(node.span)
        unknown = value.unknown or low.unknown or high.unknown
        return ir.InRange(
            convert(value, common),
            convert(low, common),
            convert(high, common),
            node.high_inclusive,
            t.BOOL,
            node.span,
            unknown,
        )

    def expr_inset(self, node: n.InSet, scope: Scope) -> ir.Expr:
        value = self.expr(node.value, scope)
        items = [self.expr(i, scope) for i in node.items]
        if value.type == ERROR or any(i.type == ERROR for i in items):
            return poison(node.span)
        for item, item_node in zip(items, node.items, strict=True):
            if not t.comparable(value.type, item.type):
                self.error(
                    "E306",
                    f"cannot compare {value.type} with {item.type}",
                    item_node.span,
                    mix_hint(value.type, item.type),
                )
                return poison(node.span)
            if value.type.enum:
                self.enum_member(item, value.type, item_node.span)
        common = value.type.plain()
        for item in items:
            common = t.join(common, item.type) or common if common.numeric else common
        unknown = value.unknown or any(i.unknown for i in items)
        return ir.InSet(
            convert(value, common),
            tuple(convert(i, common) for i in items),
            t.BOOL,
            node.span,
            unknown,
        )

    def expr_ispresent(self, node: n.IsPresent, scope: Scope) -> ir.Expr:
        label = node.value.dotted if isinstance(node.value, n.Name) else ""
        value = self.expr(node.value, replace(scope, present=scope.present | {label}))
        if value.type == ERROR:
            return value
        if not ((isinstance(value, ir.Field) and value.optional) or value.unknown):
            self.error(
                "E318",
                "`is present` tests an optional field or a model answer",
                node.value.span,
                "this value is always present",
            )
        return ir.Present(value, node.negate, t.BOOL, node.span)

    def expr_ifexpr(self, node: n.IfExpr, scope: Scope) -> ir.Expr:
        cond = self.condition(node.cond, scope)
        then_ = self.expr(node.then, replace(scope, present=scope.present | present_labels(cond)))
        else_ = self.expr(node.else_, scope)
        if ERROR in (cond.type, then_.type, else_.type):
            return poison(node.span)
        if then_.type.numeric and else_.type.numeric:
            common = self.join(then_, else_, node.span)
        else:
            common = then_.type.plain() if then_.type.kind == else_.type.kind else None
            if common is None:
                self.error(
                    "E306",
                    f"both branches must have one type: {then_.type} and {else_.type}",
                    node.span,
                )
        if common is None:
            return poison(node.span)
        unknown = cond.unknown or then_.unknown or else_.unknown
        return ir.If(
            cond, convert(then_, common), convert(else_, common), common, node.span, unknown
        )


# ---- helpers over IR (pure functions) ---------------------------------------------------


def close_match(name: str, options: list[str]) -> str:
    """A "did you mean" hint only when one option is close (no list of everything)."""
    hint = did_you_mean(name, options)
    return hint if hint.startswith("did you mean") else ""


def conversion_hint(to: t.Type, got: t.Type) -> str:
    """The `help:` for a number of the wrong type: the conversion that gives ``to``."""
    if not got.numeric:
        return ""
    return {
        "money": "convert with money(...)",
        "number": "convert with number(...)",
        "int": "round it: round(x)",
    }.get(to.kind, "")


def mix_hint(a: t.Type, b: t.Type) -> str:
    """The `help:` for two numbers that do not mix (money with a number)."""
    return "convert one side: money(x) or number(x)" if a.numeric and b.numeric else ""


def inside(span: Span | None, outer: Span) -> bool:
    return span is not None and span.file is outer.file and outer.start <= span.start < outer.end


def poison(span: Span) -> ir.Expr:
    """A placeholder after an error, so one mistake is reported once."""
    return ir.Const(None, ERROR, span)


def plural(where: str) -> str:
    return {
        "ensure": "constraints",
        "override": "override bounds",
        "test": "tests",
        "output": "starting values",
    }.get(where, where)


def literal_type(lit: n.Literal) -> t.Type:
    return {
        "int": t.INT,
        "decimal": t.LITERAL,
        "percent": t.PERCENT,
        "text": t.TEXT,
        "bool": t.BOOL,
        "action": t.ACTION,
    }[lit.kind]


def runtime_value(value: Any, to: t.Type) -> Any:
    """A literal's value in the representation of ``to`` (float for number)."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if to.kind == "number":
        return float(value)
    if to.kind in ("money", "percent", "literal"):
        return Decimal(value)
    return value


def convert(expr: ir.Expr, to: t.Type) -> ir.Expr:
    """Wrap ``expr`` so its run-time value has ``to``'s representation."""
    if expr.type.kind == "error" or to.kind == "error":
        return expr
    if to.kind == "number" and expr.type.kind in ("money", "percent", "literal"):
        return fold(ir.Convert(expr, t.NUMBER, expr.span, expr.unknown))
    if (
        isinstance(expr, ir.Const)
        and to.exact
        and isinstance(expr.value, int)
        and not isinstance(expr.value, bool)
    ):
        return ir.Const(Decimal(expr.value), to, expr.span)
    return expr


def is_constant(expr: ir.Expr) -> bool:
    return isinstance(expr, ir.Const) and expr.type != ERROR


def constant_value(expr: ir.Expr) -> Any:
    assert isinstance(expr, ir.Const)
    return expr.value


def fold(expr: ir.Expr) -> ir.Expr:
    """Evaluate an expression whose operands are all constants."""
    from rulelang.interpreter import evaluate_constant

    return evaluate_constant(expr)


def models_in(expr: ir.Expr) -> set[str]:
    return {node.model for node in ir.walk(expr) if isinstance(node, ir.ModelCall)}


def built_in_hint() -> str:
    """`action`, `reasons` and `review_by` are built in."""
    names = [f"`{name}`" for name in RESERVED_OUTPUTS]
    return f"{', '.join(names[:-1])} and {names[-1]} are built in"


def present_labels(expr: ir.Expr) -> frozenset[str]:
    """Fields known to be present when ``expr`` is true: ``x is present and ...``."""
    if isinstance(expr, ir.Present) and not expr.negate and isinstance(expr.value, ir.Field):
        return frozenset({expr.value.label})
    if isinstance(expr, ir.Logic) and expr.op == "and":
        return present_labels(expr.left) | present_labels(expr.right)
    return frozenset()


def assigned_params(template: n.Template) -> set[str]:
    names = {p.name for p in template.params}
    found = set()
    for item in template.body:
        actions = (
            item.then + (item.if_unknown or ()) if isinstance(item, n.Rule) else item.otherwise
        )
        for action in actions:
            if isinstance(action, (n.Assign, n.Boost)) and action.target.parts[0] in names:
                found.add(action.target.parts[0])
    return found
