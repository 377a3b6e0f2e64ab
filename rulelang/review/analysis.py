"""Static review: typed IR (``ir.Policy``) -> warnings (``Diagnostic``, severity "warning").

`rulelang check` runs it after the checker succeeds; warnings never fail a check.
In the spirit of DMN decision-table analysis, a rule's condition is read as a
*region*: a conjunction of domains, one per facts field (an interval of numbers,
or a set of texts / true / false), intersected with the field's declared range
or enumeration. Anything else in a condition (a model, an output, arithmetic,
`??`, a field compared with a field) is an unknown region: it only weakens what
is known, so it can hide a warning but never cause one. A region is *exact*
when it says precisely where the condition holds (nothing was left unknown, no
optional field), and only exact regions are relied on to say that a rule fires.

- W401 never fires: the region is empty, so the condition is false for every
  valid input (neither `then` nor `if unknown` can run).
- W402 shadowed: every action of the rule's `then` is subsumed whenever it
  fires. A `block`/`review` is subsumed by an earlier rule whose exact region
  contains this one's and that raises the action as high (and names a review
  role, if this one names one); `OUTPUT = VALUE` (a value that reads no output)
  by an earlier such rule that sets the same output to the same value, with no
  rule in between writing it; `OUTPUT = ...` or `boost OUTPUT` by a later such
  rule that sets the output to a value not read from it, with no rule in
  between reading it. The action, review role and outputs are then those the
  rule would give; it only adds its reason to `reasons`.
- W403 write conflict: two rules with exact, overlapping regions (an example
  input is shown) where the later one overwrites an output (sets it to a value
  that does not read it) that the earlier one also wrote, differently, so the
  earlier write is lost; or the two name different review roles. A later rule
  adjusting what an earlier one set (a boost, `d = d + 5`) is the sequential
  design at work and is not reported.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from rulelang import ir
from rulelang.decision import ACTIONS
from rulelang.errors import Diagnostic
from rulelang.facts import describe
from rulelang.operators import BINARY

# ---- domains: what one field may be -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Interval:
    """Numbers from ``low`` to ``high`` (None: unbounded), but not ``excluded``."""

    low: Decimal | None = None
    high: Decimal | None = None
    low_open: bool = False
    high_open: bool = False
    excluded: frozenset[Decimal] = frozenset()
    integral: bool = False  # an int field
    floating: bool = False  # a number field: values are floats


@dataclass(frozen=True, slots=True)
class Values:
    """A finite set of values (``allowed``), or every value but ``excluded``."""

    allowed: frozenset[Any] | None = None
    excluded: frozenset[Any] = frozenset()


Domain = Interval | Values


@dataclass(frozen=True, slots=True)
class Region:
    """Where a condition can hold: one domain per field label, all at once."""

    domains: tuple[tuple[str, Domain], ...] = ()
    exact: bool = True

    def get(self, label: str) -> Domain | None:
        return next((d for name, d in self.domains if name == label), None)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.domains)


UNKNOWN = Region((), exact=False)


@dataclass(frozen=True, slots=True)
class FieldDomain:
    label: str
    info: ir.FieldInfo
    domain: Domain


Fields = dict[str, FieldDomain]


def declared_fields(policy: ir.Policy) -> Fields:
    """Every facts field's declared domain, by label (``item.stock``)."""
    out: Fields = {}
    for block in policy.facts:
        for info in block.fields:
            label = f"{block.name}.{info.name}"
            out[label] = FieldDomain(label, info, declared(info))
    return out


def declared(info: ir.FieldInfo) -> Domain:
    kind = info.type.kind
    if info.type.enum:
        return Values(frozenset(info.type.enum))
    if kind == "bool":
        return Values(frozenset({True, False}))
    if kind == "text":
        return Values()
    low = None if info.low is None else Decimal(info.low)
    high = None if info.high is None else Decimal(info.high)
    return Interval(
        low,
        high,
        high_open=not info.high_inclusive,
        integral=kind == "int",
        floating=kind == "number",
    )


def intersect(a: Domain, b: Domain) -> Domain:
    if isinstance(a, Interval) and isinstance(b, Interval):
        low, low_open = _tighter(a.low, a.low_open, b.low, b.low_open, max)
        high, high_open = _tighter(a.high, a.high_open, b.high, b.high_open, min)
        return Interval(
            low,
            high,
            low_open,
            high_open,
            a.excluded | b.excluded,
            a.integral or b.integral,
            a.floating or b.floating,
        )
    if isinstance(a, Values) and isinstance(b, Values):
        if a.allowed is None and b.allowed is None:
            return Values(None, a.excluded | b.excluded)
        sets = [v.allowed for v in (a, b) if v.allowed is not None]
        allowed = sets[0] & sets[-1]
        return Values(allowed - a.excluded - b.excluded)
    return a  # two kinds for one field cannot happen after the checker; keep what is known


def _tighter(
    x: Decimal | None, x_open: bool, y: Decimal | None, y_open: bool, choose: Any
) -> tuple[Decimal | None, bool]:
    if x is None:
        return y, y_open
    if y is None or x != y:
        return (x, x_open) if y is None or choose(x, y) == x else (y, y_open)
    return x, x_open or y_open


def pick(d: Domain, as_float: bool = False) -> tuple[Any, ...]:
    """One value in ``d`` as a 1-tuple, or () when ``d`` is empty.

    Complete over the reals: () means no number at all lies in ``d``. With
    ``as_float``, a number field's value must also be a float (a witness);
    () then only means none was found.
    """
    if isinstance(d, Values):
        return _pick_values(d)
    floating = as_float and d.floating
    return next(((c,) for c in _candidates(d, floating) if inside(d, c)), ())


def _pick_values(d: Values) -> tuple[Any, ...]:
    if d.allowed is not None:
        left = sorted(d.allowed - d.excluded, key=repr)
        return (left[0],) if left else ()
    return next((s,) for s in ("x" * i for i in range(len(d.excluded) + 1)) if s not in d.excluded)


def _candidates(d: Interval, floating: bool) -> Iterator[Decimal]:
    """Enough values that one lies in ``d`` unless it is empty (each excluded point costs one)."""
    n = len(d.excluded) + 1
    if d.integral:
        start = _first_int(d)
        step = 1 if start is not None else -1
        start = start if start is not None else _last_int(d)
        yield from (Decimal((start or 0) + step * i) for i in range(n))
        return
    ends = [
        e
        for e, is_open in ((d.low, d.low_open), (d.high, d.high_open))
        if e is not None and not is_open
    ]
    points: list[Decimal] = list(ends)
    if d.low is not None and d.high is not None:
        points += [d.low + (d.high - d.low) * i / (n + 1) for i in range(1, n + 1)]
    else:
        base, step = (
            (d.low, 1)
            if d.low is not None
            else (d.high, -1)
            if d.high is not None
            else (Decimal(0), 1)
        )
        points += [base + step * i for i in range(n + 1)]
    yield from (Decimal(float(p)) if floating else p for p in points)


def _first_int(d: Interval) -> int | None:
    if d.low is None:
        return None
    low = math.ceil(d.low)
    return low + 1 if d.low_open and low == d.low else low


def _last_int(d: Interval) -> int | None:
    if d.high is None:
        return None
    high = math.floor(d.high)
    return high - 1 if d.high_open and high == d.high else high


def inside(d: Interval, v: Decimal) -> bool:
    if v in d.excluded or (d.integral and v != v.to_integral_value()):
        return False
    above_low = d.low is None or (v > d.low if d.low_open else v >= d.low)
    below_high = d.high is None or (v < d.high if d.high_open else v <= d.high)
    return above_low and below_high


def empty(d: Domain) -> bool:
    return not pick(d)


def subset(a: Domain, b: Domain) -> bool:
    """Is every value of ``a`` in ``b``?"""
    if isinstance(a, Values) and isinstance(b, Values):
        if b.allowed is None:
            return (
                not (a.allowed & b.excluded) if a.allowed is not None else b.excluded <= a.excluded
            )
        return a.allowed is not None and a.allowed - a.excluded <= b.allowed
    if isinstance(a, Interval) and isinstance(b, Interval):
        below = Interval(high=b.low, high_open=not b.low_open) if b.low is not None else None
        above = Interval(low=b.high, low_open=not b.high_open) if b.high is not None else None
        outside = [o for o in (below, above) if o is not None]
        return all(empty(intersect(a, o)) for o in outside) and not any(
            inside(a, e) for e in b.excluded
        )
    return False


def union(a: Domain, b: Domain) -> tuple[Domain, bool]:
    """A domain holding both, and whether it holds nothing more."""
    if empty(a) or empty(b):
        return (b if empty(a) else a), True
    if isinstance(a, Values) and isinstance(b, Values):
        return _union_values(a, b), True
    if isinstance(a, Interval) and isinstance(b, Interval):
        return _union_intervals(a, b)
    return a, False


def _union_values(a: Values, b: Values) -> Values:
    if a.allowed is not None and b.allowed is not None:
        return Values(a.allowed | b.allowed)
    if a.allowed is None and b.allowed is None:
        return Values(None, a.excluded & b.excluded)
    finite, cofinite = (a, b) if a.allowed is not None else (b, a)
    assert finite.allowed is not None
    return Values(None, cofinite.excluded - finite.allowed)


def _union_intervals(a: Interval, b: Interval) -> tuple[Interval, bool]:
    first, second = sorted((a, b), key=lambda d: (d.low is not None, d.low or 0))
    low, low_open = first.low, first.low_open
    if first.low == second.low:
        low_open = first.low_open and second.low_open
    high, high_open = _looser_high(first, second)
    hull = replace(
        a, low=low, low_open=low_open, high=high, high_open=high_open, excluded=frozenset()
    )
    gap = hull
    if first.high is not None and second.low is not None:
        gap = replace(
            hull,
            low=first.high,
            low_open=not first.high_open,
            high=second.low,
            high_open=not second.low_open,
        )
    no_gap = first.high is None or second.low is None or empty(gap)
    exact = not (a.excluded or b.excluded) and no_gap
    return hull, exact


def _looser_high(a: Interval, b: Interval) -> tuple[Decimal | None, bool]:
    if a.high is None or b.high is None:
        return None, False
    if a.high != b.high:
        return (a.high, a.high_open) if a.high > b.high else (b.high, b.high_open)
    return a.high, a.high_open and b.high_open


# ---- conditions as regions -------------------------------------------------------------------


def region(expr: ir.Expr, known: Fields, positive: bool = True) -> Region:
    """Where ``expr`` is true (``positive``) or false: a region that contains it."""
    if isinstance(expr, ir.Not):
        return region(expr.operand, known, not positive)
    if isinstance(expr, ir.Logic):
        return _logic(expr, known, positive)
    if isinstance(expr, ir.Const) and expr.value is (not positive):
        return UNKNOWN  # a constant false: the checker reports it
    if isinstance(expr, ir.Const) and isinstance(expr.value, bool):
        return Region()
    atom = _atom(expr, known, positive)
    return atom if atom is not None else UNKNOWN


def _logic(expr: ir.Logic, known: Fields, positive: bool) -> Region:
    # a implies b = not a or b; not (a and b) = not a or not b; not (a or b) = not a and not b
    left_positive = positive if expr.op != "implies" else not positive
    left = region(expr.left, known, left_positive)
    right = region(expr.right, known, positive)
    both = (expr.op == "and") == positive if expr.op != "implies" else not positive
    return conjoin(left, right) if both else disjoin(left, right)


def conjoin(a: Region, b: Region) -> Region:
    merged = dict(a.domains)
    for label, d in b.domains:
        merged[label] = intersect(merged[label], d) if label in merged else d
    return Region(tuple(sorted(merged.items())), a.exact and b.exact)


def disjoin(a: Region, b: Region) -> Region:
    if is_empty(a) or is_empty(b):
        return b if is_empty(a) else a
    if a.labels != b.labels or len(a.labels) != 1:
        return Region((), exact=not (a.labels or b.labels) and a.exact and b.exact)
    label = a.labels[0]
    domain_a, domain_b = a.get(label), b.get(label)
    assert domain_a is not None and domain_b is not None
    joined, exact = union(domain_a, domain_b)
    return Region(((label, joined),), exact and a.exact and b.exact)


def is_empty(r: Region) -> bool:
    return any(empty(d) for _, d in r.domains)


def _atom(expr: ir.Expr, known: Fields, positive: bool) -> Region | None:
    if isinstance(expr, ir.Field) and expr.type.kind == "bool":
        return _on(expr, Values(frozenset({positive})), known)
    if isinstance(expr, ir.Compare):
        return _compare(expr, known, positive)
    if isinstance(expr, ir.InRange):
        return _in_range(expr, known, positive)
    if isinstance(expr, ir.InSet):
        return _in_set(expr, known, positive)
    return None


def _compare(expr: ir.Compare, known: Fields, positive: bool) -> Region | None:
    subject, const, op = expr.left, expr.right, expr.op
    if isinstance(subject, ir.Const):
        subject, const, op = const, subject, BINARY[op].flipped
    if not isinstance(const, ir.Const) or const.value is None:
        return None
    op = op if positive else BINARY[op].negated
    domain = (
        _number_domain(op, const.value)
        if _is_number(const.value)
        else _value_domain(op, const.value)
    )
    return _on(subject, domain, known) if domain is not None else None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _number_domain(op: str, value: Any) -> Interval | None:
    c = Decimal(value)
    return {
        "==": Interval(c, c),
        "!=": Interval(excluded=frozenset({c})),
        "<": Interval(high=c, high_open=True),
        "<=": Interval(high=c),
        ">": Interval(low=c, low_open=True),
        ">=": Interval(low=c),
    }.get(op)


def _value_domain(op: str, value: Any) -> Values | None:
    if not isinstance(value, (str, bool)) or op not in ("==", "!="):
        return None
    one = frozenset({value})
    return Values(one) if op == "==" else Values(None, one)


def _in_range(expr: ir.InRange, known: Fields, positive: bool) -> Region | None:
    low, high = expr.low, expr.high
    if not (isinstance(low, ir.Const) and isinstance(high, ir.Const)):
        return None
    if not (_is_number(low.value) and _is_number(high.value)):
        return None
    lo, hi = Decimal(low.value), Decimal(high.value)
    if positive:
        return _on(expr.value, Interval(lo, hi, high_open=not expr.high_inclusive), known)
    below = _on(expr.value, Interval(high=lo, high_open=True), known)
    above = _on(expr.value, Interval(low=hi, low_open=expr.high_inclusive), known)
    return disjoin(below, above) if below is not None and above is not None else None


def _in_set(expr: ir.InSet, known: Fields, positive: bool) -> Region | None:
    items = [i.value for i in expr.items if isinstance(i, ir.Const)]
    if len(items) != len(expr.items) or not items:
        return None
    if all(_is_number(v) for v in items):
        points = frozenset(Decimal(v) for v in items)
        if not positive:
            return _on(expr.value, Interval(excluded=points), known)
        found = [_on(expr.value, Interval(p, p), known) for p in sorted(points)]
        if any(f is None for f in found):
            return None
        out = found[0]
        for more in found[1:]:
            assert out is not None and more is not None
            out = disjoin(out, more)
        return out
    values = frozenset(items)
    return _on(expr.value, Values(values) if positive else Values(None, values), known)


def _on(subject: ir.Expr, domain: Domain, known: Fields) -> Region | None:
    """``domain`` on the field ``subject`` reads, within its declared domain."""
    field = _subject(subject, known)
    if field is None:
        return None
    exact = not field.info.optional  # the region cannot say "present"
    return Region(((field.label, intersect(field.domain, domain)),), exact)


def _subject(expr: ir.Expr, known: Fields) -> FieldDomain | None:
    if isinstance(expr, ir.Convert) and isinstance(expr.expr, ir.Field):
        inner = known.get(expr.expr.label)
        # an int converted to a float keeps its value when its range is declared
        ok = (
            inner is not None
            and inner.info.type.kind == "int"
            and inner.info.low is not None
            and max(abs(inner.info.low), abs(inner.info.high)) < 2**53
        )
        return inner if ok else None
    return known.get(expr.label) if isinstance(expr, ir.Field) else None


def covers(inner: Region, outer: Region, known: Fields) -> bool:
    """Does every input in ``inner`` lie in ``outer``?"""
    for label, d in outer.domains:
        mine = inner.get(label) or known[label].domain
        if not subset(mine, d):
            return False
    return True


# ---- the review ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reviewed:
    """One rule with its region, in evaluation order."""

    rule: ir.Rule
    region: Region


def review(policy: ir.Policy) -> list[Diagnostic]:
    """Every warning W401-W403 for ``policy``, sorted by position."""
    known = declared_fields(policy)
    rules = [Reviewed(r, region(r.cond, known)) for r in policy.rules]
    never = [never_fires(r, known) for r in rules if is_empty(r.region)]
    silent = {r.rule.name for r in rules if is_empty(r.region)}
    shadows = {
        r.rule.name: d
        for i, r in enumerate(rules)
        if r.rule.name not in silent and (d := shadowed(rules, i, known)) is not None
    }
    silent |= set(shadows)
    conflicts = [d for a, b in _pairs(rules, silent) for d in write_conflicts(a, b, known)]
    return sorted([*never, *shadows.values(), *conflicts], key=Diagnostic.sort_key)


def never_fires(r: Reviewed, known: Fields) -> Diagnostic:
    label = next(name for name, d in r.region.domains if empty(d))
    return Diagnostic(
        "W401",
        f"rule `{r.rule.name}` can never fire: no valid `{label}` meets its condition",
        r.rule.cond.span,
        f"`{label}` is declared as {describe(known[label].info)}; fix the "
        "condition or remove the rule",
        severity="warning",
    )


# ---- W402: shadowed rules ----------------------------------------------------------------------


def shadowed(rules: Sequence[Reviewed], i: int, known: Fields) -> Diagnostic | None:
    rule = rules[i].rule
    if not rule.then or (rule.if_unknown and rule.cond.unknown):
        return None
    written = [s.output for s in rule.then if not isinstance(s, ir.RaiseAction)]
    if len(written) != len(set(written)):
        return None
    why = [subsumed(rules, i, s, known) for s in rule.then]
    if not all(why):
        return None
    return Diagnostic(
        "W402",
        f"rule `{rule.name}` is shadowed: whenever it fires, " + "; ".join(dict.fromkeys(why)),
        rule.span,
        "it changes no output, action or review role (it only adds its reason); remove it, "
        "or change the conditions so that it decides something",
        severity="warning",
    )


def subsumed(rules: Sequence[Reviewed], i: int, st: ir.Statement, known: Fields) -> str:
    """Why ``st`` (of rule ``i``) cannot change the decision, or "" when it can."""
    if isinstance(st, ir.RaiseAction):
        return _raised_before(rules, i, st, known)
    same = _set_before(rules, i, st, known) if isinstance(st, ir.SetOutput) else ""
    value = st.value if isinstance(st, ir.SetOutput) else st.factor
    if same or divides(value):  # a value that can fail (x / 0) fails the decision
        return same
    return _overwritten_after(rules, i, st.output, known)


def _firing_with(rules: Sequence[Reviewed], i: int, js: range, known: Fields) -> Iterator[ir.Rule]:
    """Rules ``js`` that surely fire whenever rule ``i`` fires."""
    for j in js:
        if rules[j].region.exact and covers(rules[i].region, rules[j].region, known):
            yield rules[j].rule


def _raised_before(rules: Sequence[Reviewed], i: int, st: ir.RaiseAction, known: Fields) -> str:
    for other in _firing_with(rules, i, range(i), known):
        raises = [s for s in other.then if isinstance(s, ir.RaiseAction)]
        if any(s.level >= st.level for s in raises) and (
            not st.role or any(s.role for s in raises)
        ):
            level = max(s.level for s in raises)
            return (
                f"`{other.name}` (line {other.line}) has already raised the action to "
                f"{ACTIONS[level]}" + (" and named a review role" if st.role else "")
            )
    return ""


def _set_before(rules: Sequence[Reviewed], i: int, st: ir.SetOutput, known: Fields) -> str:
    if reads_output(st.value, None):
        return ""
    for j in reversed(range(i)):
        other = rules[j].rule
        last = [
            s for s in other.then if not isinstance(s, ir.RaiseAction) and s.output == st.output
        ][-1:]
        if (
            any(_same(s, st) for s in last)
            and rules[j].region.exact
            and covers(rules[i].region, rules[j].region, known)
            and not any(writes(rules[k].rule, st.output) for k in range(j + 1, i))
        ):
            return (
                f"`{other.name}` (line {other.line}) has already set `{st.output}` to the "
                "same value"
            )
    return ""


def _same(a: ir.Statement, b: ir.SetOutput) -> bool:
    # IR equality leaves spans out: equal values compute equal results, wherever written.
    return isinstance(a, ir.SetOutput) and a.output == b.output and a.value == b.value


def _overwritten_after(rules: Sequence[Reviewed], i: int, output: str, known: Fields) -> str:
    for j in range(i + 1, len(rules)):
        other = rules[j].rule
        if reads_rule(other, output):
            return ""  # read before anything surely sets it again
        if _resets(other, output) and next(_firing_with(rules, i, range(j, j + 1), known), None):
            return f"`{other.name}` (line {other.line}) always sets `{output}` again later"
    return ""


def _resets(rule: ir.Rule, output: str) -> bool:
    """Does ``rule`` set ``output`` without reading it first (or anywhere)?"""
    sets = any(isinstance(s, ir.SetOutput) and s.output == output for s in rule.then)
    return sets and not reads_rule(rule, output)


def writes(rule: ir.Rule, output: str) -> bool:
    return any(
        not isinstance(s, ir.RaiseAction) and s.output == output
        for s in rule.then + rule.if_unknown
    )


def reads_rule(rule: ir.Rule, output: str) -> bool:
    """Does ``rule`` read ``output`` anywhere (condition, values, a boost of it)?"""
    if reads_output(rule.cond, output):
        return True
    for s in rule.then + rule.if_unknown:
        if isinstance(s, ir.BoostOutput) and (s.output == output or reads_output(s.factor, output)):
            return True
        if isinstance(s, ir.SetOutput) and reads_output(s.value, output):
            return True
    return False


def divides(expr: ir.Expr) -> bool:
    """Can ``expr`` fail at run time (``x / 0``)?"""
    return any(isinstance(e, ir.Arith) and BINARY[e.op].can_fail for e in ir.walk(expr))


def reads_output(expr: ir.Expr, output: str | None) -> bool:
    """Does ``expr`` read ``output`` (None: any output)?"""
    return any(
        isinstance(e, ir.Output) and (output is None or e.name == output) for e in ir.walk(expr)
    )


# ---- W403: write conflicts ---------------------------------------------------------------------


def _pairs(rules: Sequence[Reviewed], silent: set[str]) -> Iterator[tuple[Reviewed, Reviewed]]:
    live = [r for r in rules if r.region.exact and r.rule.name not in silent]
    for i, a in enumerate(live):
        for b in live[i + 1 :]:
            yield a, b


def write_conflicts(a: Reviewed, b: Reviewed, known: Fields) -> list[Diagnostic]:
    both = conjoin(a.region, b.region)
    example = witness(both, known)
    if example is None:
        return []
    found = [_output_conflict(a.rule, b.rule, o) for o in _written(a.rule) & _written(b.rule)]
    found.append(_role_conflict(a.rule, b.rule))
    return [
        Diagnostic(
            "W403",
            f"{text} where both fire (for example {example})",
            b.rule.span,
            help_,
            severity="warning",
        )
        for text, help_ in found
        if text
    ]


def _written(rule: ir.Rule) -> set[str]:
    return {s.output for s in rule.then if not isinstance(s, ir.RaiseAction)}


def _output_conflict(a: ir.Rule, b: ir.Rule, output: str) -> tuple[str, str]:
    """Where both fire, the later rule ``b`` overwrites ``output`` (sets it without reading
    it), so whatever ``a`` wrote is lost. Adjusting a value an earlier rule set (a boost,
    `d = d + 5`) is the sequential design at work, not a conflict."""
    over_b = _overwrites(b, output)
    if not over_b:
        return "", ""
    over_a = _overwrites(a, output)
    if over_a and set(over_a) == set(over_b):
        return "", ""
    help_ = (
        f"`{b.name}` runs later, so its value wins; make the conditions exclusive, "
        "or merge the two rules"
    )
    if over_a:
        return f"rules {_both(a, b)} both set `{output}` to different values", help_
    return (
        f"rules {_both(a, b)} write `{output}`: `{b.name}` sets it, discarding what "
        f"`{a.name}` did to it",
        help_,
    )


def _overwrites(rule: ir.Rule, output: str) -> list[ir.Expr]:
    """The values ``rule`` sets ``output`` to, when none of them reads it."""
    values = _sets(rule, output)
    return [] if any(reads_output(v, output) for v in values) else values


def _both(a: ir.Rule, b: ir.Rule) -> str:
    return f"`{a.name}` (line {a.line}) and `{b.name}` (line {b.line})"


def _sets(rule: ir.Rule, output: str) -> list[ir.Expr]:
    return [s.value for s in rule.then if isinstance(s, ir.SetOutput) and s.output == output]


def _role_conflict(a: ir.Rule, b: ir.Rule) -> tuple[str, str]:
    role_a, role_b = _first_role(a), _first_role(b)
    if not role_a or not role_b or role_a == role_b:
        return "", ""
    return (
        f"rules {_both(a, b)} send reviews to different roles (`{role_a}` and `{role_b}`)",
        f"the first role named wins (`{role_a}`, as "
        f"`{a.name}` runs first); name one role, or make the conditions exclusive",
    )


def _first_role(rule: ir.Rule) -> str:
    return next((s.role for s in rule.then if isinstance(s, ir.RaiseAction) and s.role), "")


def witness(r: Region, known: Fields) -> str | None:
    """An input in ``r``, as `field = value, ...`; None when ``r`` is empty."""
    parts = []
    for label, d in r.domains:
        found = pick(d, as_float=True)
        if not found:
            return None
        parts.append(f"{label} = {_literal(found[0], known[label].info)}")
    return ", ".join(parts) if parts else "any input"


def _literal(value: Any, info: ir.FieldInfo) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if info.type.kind == "percent":
        return format((value * 100).normalize(), "f") + "%"
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)
