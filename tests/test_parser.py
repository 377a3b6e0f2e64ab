"""The front end's first two stages: `.rule` text -> lark tree -> AST (``nodes.Module``).

Every construct of LANGUAGE.md parses into the node it names; syntax errors are
``ParseError``s rendered like a compiler's (file:line:col, the source line, a caret
under the offending text, a `help:` line saying what was expected); and no text
at all, random or mutated, makes the front end raise anything but a ``RuleError``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import HEAD, REPO, error_of, underlined
from hypothesis import HealthCheck, given, settings
from strategies import mutated_source, random_source, valid_sources

import rulelang
from rulelang import nodes as n
from rulelang.errors import ParseError, RuleError
from rulelang.formatter import format_source
from rulelang.source import SourceFile
from rulelang.transformer import parse


def module(text: str) -> n.Module:
    return parse(SourceFile("t.rule", text))


def only(text: str, kind: type) -> object:
    """The one item of type ``kind`` in ``text``."""
    found = [i for i in module(text).items if isinstance(i, kind)]
    assert len(found) == 1, found
    return found[0]


def rule_of(text: str) -> n.Rule:
    rule = only(text, n.Rule)
    assert isinstance(rule, n.Rule)
    return rule


def cond(expr: str) -> n.Expr:
    """The AST of one expression, as a rule's condition."""
    return rule_of(f"rule r\n  when {expr}\n  then x = 1\nend\n").when


def name(dotted: str) -> n.Name:
    return n.Name(tuple(dotted.split(".")))


def lit(value: object, kind: str) -> n.Literal:
    assert isinstance(value, (int, Decimal, str, bool))
    return n.Literal(value, kind)


# ---- declarations ---------------------------------------------------------------------------


def test_policy_header() -> None:
    header = only(
        'policy retail\n  title "Retail"\n  version "2026.11.1"\n  owner "pricing-analysts"\nend\n',
        n.PolicyHeader,
    )
    assert header == n.PolicyHeader("retail", "Retail", "2026.11.1", "pricing-analysts")
    assert only("policy p end", n.PolicyHeader) == n.PolicyHeader("p")


def test_facts_fields_with_types_domains_and_optional() -> None:
    facts = only(
        'facts item\n  sku: text\n  category: text in {"bags", "shoes"}\n'
        "  base_price: money in 0 .. 100000\n  stock: int in 0 .. 100\n"
        "  score: number in -1.5 ..< 2.5\n  discount: percent\n  vip: bool\n"
        "  ltv: money in 0 .. 10000000 optional\nend\n",
        n.FactsBlock,
    )
    assert isinstance(facts, n.FactsBlock)
    assert facts.name == "item"
    assert facts.fields == (
        n.FieldDecl("sku", "text"),
        n.FieldDecl("category", "text", enum=("bags", "shoes")),
        n.FieldDecl("base_price", "money", low=lit(0, "int"), high=lit(100000, "int")),
        n.FieldDecl("stock", "int", low=lit(0, "int"), high=lit(100, "int")),
        n.FieldDecl(
            "score",
            "number",
            low=lit(Decimal("-1.5"), "decimal"),
            high=lit(Decimal("2.5"), "decimal"),
            high_inclusive=False,
        ),
        n.FieldDecl("discount", "percent"),
        n.FieldDecl("vip", "bool"),
        n.FieldDecl("ltv", "money", low=lit(0, "int"), high=lit(10000000, "int"), optional=True),
    )


def test_model_with_options_and_durations() -> None:
    model = only(
        "model fraud_risk(customer, order, item) -> score\n  min_confidence 80%\n"
        "  timeout 50 ms\nend\n",
        n.ModelDecl,
    )
    assert model == n.ModelDecl(
        "fraud_risk",
        (name("customer"), name("order"), name("item")),
        "score",
        min_confidence=lit(Decimal("0.8"), "percent"),
        timeout_ms=Decimal(50),
    )
    seconds = only("model m(text) -> number\n  timeout 2 s\n  fallback 0\nend\n", n.ModelDecl)
    assert isinstance(seconds, n.ModelDecl)
    assert seconds.timeout_ms == Decimal(2000)
    assert seconds.fallback == lit(0, "int")
    texts = only('model m(text, text) -> text\n  fallback "none"\nend\n', n.ModelDecl)
    assert isinstance(texts, n.ModelDecl) and texts.fallback == lit("none", "text")
    flag = only("model m() -> bool\n  fallback false\nend\n", n.ModelDecl)
    assert isinstance(flag, n.ModelDecl)
    assert flag.params == () and flag.fallback == lit(False, "bool")


def test_decision_outputs() -> None:
    decision = only(
        "decision\n  price: money = item.base_price * (1 - order.discount)\n"
        "  rank: number = 1.0\nend\n",
        n.DecisionBlock,
    )
    assert decision == n.DecisionBlock(
        (
            n.OutputDecl(
                "price",
                "money",
                n.Binary(
                    "*",
                    name("item.base_price"),
                    n.Binary("-", lit(1, "int"), name("order.discount")),
                ),
            ),
            n.OutputDecl("rank", "number", lit(Decimal("1.0"), "decimal")),
        )
    )


def test_rule_with_every_clause() -> None:
    rule = rule_of(
        'rule fraud_block "Very likely fraud is blocked"\n  priority 100\n'
        "  when fraud_risk(customer, order, item) >= 0.85\n"
        '  then block "fraud risk", price = 0, boost rank by 15%\n'
        '  if unknown then review "no answer" by loss_prevention, review "again"\n'
        "end\n"
    )
    assert rule == n.Rule(
        "fraud_block",
        "Very likely fraud is blocked",
        100,
        n.Binary(
            ">=",
            n.Call("fraud_risk", (name("customer"), name("order"), name("item"))),
            lit(Decimal("0.85"), "decimal"),
        ),
        (
            n.Block("fraud risk"),
            n.Assign(name("price"), lit(0, "int")),
            n.Boost(name("rank"), lit(Decimal("0.15"), "percent")),
        ),
        (n.Review("no answer", "loss_prevention"), n.Review("again", None)),
    )
    assert rule.name_span.text == "fraud_block"
    assert rule.when.span.text == "fraud_risk(customer, order, item) >= 0.85"


def test_rule_defaults_and_negative_priority() -> None:
    rule = rule_of("rule r\n  when true\n  then x = 1\nend\n")
    assert (rule.title, rule.priority, rule.if_unknown) == (None, 0, None)
    assert rule_of("rule r priority -5 when true then x = 1 end").priority == -5


def test_ensure_with_otherwise() -> None:
    ensure = only(
        'ensure margin_floor "Price keeps a 10% margin over cost"\n'
        "  price >= item.cost * 110%\n  otherwise price = item.cost * 110%\nend\n",
        n.Ensure,
    )
    margin = n.Binary("*", name("item.cost"), lit(Decimal("1.1"), "percent"))
    assert ensure == n.Ensure(
        "margin_floor",
        "Price keeps a 10% margin over cost",
        n.Binary(">=", name("price"), margin),
        (n.Assign(name("price"), margin),),
    )
    untitled = only('ensure e\n  x > 0\n  otherwise x = 1, block "no"\nend\n', n.Ensure)
    assert isinstance(untitled, n.Ensure) and untitled.title is None
    assert len(untitled.otherwise) == 2


def test_overrides_with_and_without_bounds() -> None:
    items = module(
        "override price by pricing_manager within item.cost * 105% .. "
        "item.base_price * 120%\noverride action by loss_prevention\n"
        "override rank by ops within 0 ..< 2\n"
    ).items
    assert items == (
        n.OverrideDecl(
            name("price"),
            "pricing_manager",
            n.Binary("*", name("item.cost"), lit(Decimal("1.05"), "percent")),
            n.Binary("*", name("item.base_price"), lit(Decimal("1.2"), "percent")),
        ),
        n.OverrideDecl(name("action"), "loss_prevention"),
        n.OverrideDecl(name("rank"), "ops", lit(0, "int"), lit(2, "int"), high_inclusive=False),
    )


def test_test_block_clauses() -> None:
    test = only(
        'test "VICs see the new collection boosted"\n'
        '  given customer.tier = "vic", item.new_collection = true, item.stock = 3\n'
        "  with fraud_risk = 0.1, similarity = unknown\n"
        "  expect rank == 1.15 and action == allow\n"
        "  expect fired vic_new_collection, other\n"
        "  expect not fired fraud_block\nend\n",
        n.TestBlock,
    )
    assert test == n.TestBlock(
        "VICs see the new collection boosted",
        (
            n.Given(name("customer.tier"), lit("vic", "text")),
            n.Given(name("item.new_collection"), lit(True, "bool")),
            n.Given(name("item.stock"), lit(3, "int")),
            n.WithModel("fraud_risk", lit(Decimal("0.1"), "decimal")),
            n.WithModel("similarity", None),
            n.Expect(
                n.Binary(
                    "and",
                    n.Binary("==", name("rank"), lit(Decimal("1.15"), "decimal")),
                    n.Binary("==", name("action"), lit("allow", "action")),
                )
            ),
            n.ExpectFired((name("vic_new_collection"), name("other")), negate=False),
            n.ExpectFired((name("fraud_block"),), negate=True),
        ),
    )


def test_invariant() -> None:
    inv = only(
        'invariant "Blocked items get no boost"\n  action == block implies rank == 1.0\nend\n',
        n.Invariant,
    )
    assert inv == n.Invariant(
        "Blocked items get no boost",
        n.Binary(
            "implies",
            n.Binary("==", name("action"), lit("block", "action")),
            n.Binary("==", name("rank"), lit(Decimal("1.0"), "decimal")),
        ),
    )


def test_import_use_and_template() -> None:
    items = module(
        'import "pricing"\nimport "./lib.rule"\n'
        "use margin_floor(price, item.cost, 10%) as margin_floor_10\n"
        "template cap(price: money, cap: money)\n"
        "  ensure cap\n    price <= cap\n    otherwise price = cap\n  end\nend\n"
    ).items
    assert items[:3] == (
        n.Import("pricing"),
        n.Import("./lib.rule"),
        n.Use(
            "margin_floor",
            (name("price"), name("item.cost"), lit(Decimal("0.1"), "percent")),
            "margin_floor_10",
        ),
    )
    template = items[3]
    assert isinstance(template, n.Template)
    assert template.params == (n.TemplateParam("price", "money"), n.TemplateParam("cap", "money"))
    assert [type(i) for i in template.body] == [n.Ensure]


# ---- lexical ----------------------------------------------------------------------------------


def test_comments_run_to_the_end_of_the_line_but_not_inside_strings() -> None:
    text = (
        '# a policy\npolicy p # the name\n  title "not # a comment"\nend\n'
        "rule r  # trailing\n  # own line\n  when true then x = 1\nend # done\n"
    )
    mod = module(text)
    header = mod.items[0]
    assert isinstance(header, n.PolicyHeader) and header.title == "not # a comment"
    assert mod.comments == (
        (1, "# a policy"),
        (2, "# the name"),
        (5, "# trailing"),
        (6, "# own line"),
        (8, "# done"),
    )
    assert module(text) == module(re.sub(r"#[^\n\"]*$", "", text, flags=re.M))


def test_number_literals_are_exact() -> None:
    assert cond("x == 12") == n.Binary("==", name("x"), lit(12, "int"))
    assert cond("x == 1.5") == n.Binary("==", name("x"), lit(Decimal("1.5"), "decimal"))
    assert cond("x == 15%") == n.Binary("==", name("x"), lit(Decimal("0.15"), "percent"))
    assert cond("x == 12.5%") == n.Binary("==", name("x"), lit(Decimal("0.125"), "percent"))
    assert cond("x == -3") == n.Binary("==", name("x"), lit(-3, "int"))
    # money literals are decimals, never floats: 0.45 - 0.15 is exactly 0.30
    diff = cond("0.45 - 0.15 == 0.30")
    assert isinstance(diff, n.Binary) and isinstance(diff.left, n.Binary)
    left, right = diff.left.left, diff.left.right
    assert isinstance(left, n.Literal) and isinstance(right, n.Literal)
    assert isinstance(left.value, Decimal) and isinstance(right.value, Decimal)
    assert left.value - right.value == Decimal("0.30")


def test_string_escapes() -> None:
    assert cond(r'x == "say \"hi\""') == n.Binary("==", name("x"), lit('say "hi"', "text"))
    assert cond('x == ""') == n.Binary("==", name("x"), lit("", "text"))


def test_backslash_escape() -> None:
    assert cond(r'x == "a \\ b \"c\""') == n.Binary("==", name("x"), lit('a \\ b "c"', "text"))


def test_booleans_and_actions() -> None:
    assert cond("a == true or b == false") == n.Binary(
        "or",
        n.Binary("==", name("a"), lit(True, "bool")),
        n.Binary("==", name("b"), lit(False, "bool")),
    )
    assert cond("action >= review and action != block and action > allow") == n.Binary(
        "and",
        n.Binary(
            "and",
            n.Binary(">=", name("action"), lit("review", "action")),
            n.Binary("!=", name("action"), lit("block", "action")),
        ),
        n.Binary(">", name("action"), lit("allow", "action")),
    )


def test_ranges_sets_and_presence() -> None:
    assert cond("s in 0.6 ..< 0.85") == n.InRange(
        name("s"), lit(Decimal("0.6"), "decimal"), lit(Decimal("0.85"), "decimal"), False
    )
    assert cond("s in 1 .. 2") == n.InRange(name("s"), lit(1, "int"), lit(2, "int"), True)
    assert cond('t in {"a", "b"}') == n.InSet(name("t"), (lit("a", "text"), lit("b", "text")))
    assert cond("c.ltv is present") == n.IsPresent(name("c.ltv"), False)
    assert cond("c.ltv is not present") == n.IsPresent(name("c.ltv"), True)
    assert cond("(c.ltv ?? 0) > 5") == n.Binary(
        ">", n.Binary("??", name("c.ltv"), lit(0, "int")), lit(5, "int")
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a or b and c", n.Binary("or", name("a"), n.Binary("and", name("b"), name("c")))),
        ("not a and b", n.Binary("and", n.Unary("not", name("a")), name("b"))),
        (
            "a implies b implies c",
            n.Binary("implies", name("a"), n.Binary("implies", name("b"), name("c"))),
        ),
        ("a or b implies c", n.Binary("implies", n.Binary("or", name("a"), name("b")), name("c"))),
        (
            "x + y * z > 1",
            n.Binary(
                ">", n.Binary("+", name("x"), n.Binary("*", name("y"), name("z"))), lit(1, "int")
            ),
        ),
        (
            "x - y - z == 0",
            n.Binary(
                "==", n.Binary("-", n.Binary("-", name("x"), name("y")), name("z")), lit(0, "int")
            ),
        ),
        (
            "(x - y) * z == 0",
            n.Binary(
                "==", n.Binary("*", n.Binary("-", name("x"), name("y")), name("z")), lit(0, "int")
            ),
        ),
        ("a ?? b ?? c", n.Binary("??", name("a"), n.Binary("??", name("b"), name("c")))),
        ("-x < 1", n.Binary("<", n.Unary("-", name("x")), lit(1, "int"))),
        ("if a then x else y", n.IfExpr(name("a"), name("x"), name("y"))),
        (
            "max(x, 1) >= min(y)",
            n.Binary(">=", n.Call("max", (name("x"), lit(1, "int"))), n.Call("min", (name("y"),))),
        ),
    ],
)
def test_precedence(text: str, expected: n.Expr) -> None:
    assert cond(text) == expected


def test_names_and_keywords() -> None:
    rule = rule_of("rule _r2 when a_1.b_2 then x = 1 end")
    assert rule.name == "_r2" and rule.when == name("a_1.b_2")
    with pytest.raises(ParseError):
        module("Rule r when true then x = 1 end")  # keywords are lower case
    with pytest.raises(ParseError):
        module("rule 1r when true then x = 1 end")  # a name does not start with a digit


def test_names_take_upper_case_letters_as_written() -> None:
    rule = rule_of("rule R01 when order.unitPrice > 0 and Item_2.SKU == 1 then unitPrice = 1 end")
    assert rule.name == "R01"
    assert rule.when == n.Binary(
        "and",
        n.Binary(">", name("order.unitPrice"), lit(0, "int")),
        n.Binary("==", name("Item_2.SKU"), lit(1, "int")),
    )
    assert rule.then == (n.Assign(name("unitPrice"), lit(1, "int")),)
    assert rule_of("rule r when x then x = 1 end") != rule_of("rule r when X then x = 1 end")


@pytest.mark.parametrize("word", ["True", "FALSE", "End", "Block", "Review", "Allow", "NOT"])
def test_a_keyword_in_other_case_is_a_name(word: str) -> None:
    # Keywords are lower case: any other spelling is a plain name.
    assert cond(f"{word} == 1") == n.Binary("==", name(word), lit(1, "int"))


def test_fmt_keeps_upper_case_names_as_written() -> None:
    text = (
        "policy P01\nend\n\nfacts order\n  unitPrice: money in 0 .. 100\nend\n\n"
        "decision\n  Total: money = order.unitPrice\nend\n\n"
        'rule R01 "Upper"\n  priority 2\n  when order.unitPrice > 5\n'
        '  then Total = 1, review "big" by Loss_Prevention\nend\n'
    )
    assert format_source(text) == text
    assert format_source(text.replace("\n  ", "\n      ")) == text


def test_indentation_and_line_breaks_carry_no_meaning() -> None:
    text = (REPO / "examples" / "retail" / "policy.rule").read_text(encoding="utf-8")
    code = [line.strip() for line in text.splitlines() if not line.lstrip().startswith("#")]
    one_line = " ".join(line for line in code if line)
    ragged = "\n".join(("    " * (i % 3)) + line for i, line in enumerate(code))
    assert module(one_line) == module(text) == module(ragged)


def test_spans_point_at_the_construct() -> None:
    mod = module(HEAD + 'rule r "t"\n  when item.stock == 0\n  then block "out"\nend\n')
    rule = mod.items[-1]
    assert isinstance(rule, n.Rule)
    line = HEAD.count("\n") + 1
    assert (rule.span.line, rule.span.column) == (line, 1)
    assert rule.span.text.startswith('rule r "t"') and rule.span.text.endswith("end")
    assert (rule.when.span.line, rule.when.span.column) == (line + 1, 8)
    assert rule.then[0].span.text == 'block "out"'


def repo_rule_files() -> list[Path]:
    return sorted(
        [
            *REPO.glob("examples/*/*.rule"),
            *REPO.glob("stdlib_rules/**/*.rule"),
            *REPO.glob("benchmarks/*.rule"),
        ]
    )


@pytest.mark.parametrize("path", repo_rule_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_rule_file_in_the_repository_parses(path: Path) -> None:
    mod = parse(SourceFile.read(path))
    assert mod.items


# ---- syntax errors ----------------------------------------------------------------------------

REPORT_HEAD = re.compile(r"^t\.rule:(\d+):(\d+): error\[(E\d{3})\]: (.+)$", re.M)


def syntax_error(body: str, head: str = HEAD) -> tuple[ParseError, str]:
    err = error_of(head + body)
    assert isinstance(err, ParseError), err
    return err, str(err)


@pytest.mark.parametrize(
    ("body", "code", "under", "help_"),
    [
        # what the user left out is named in the help line, under the token that came instead
        ("rule r\n  when item.stock == 1\n  rank = 2\nend\n", "E003", "rank", "expected `then`"),
        (
            "rule r\n  when item.vip\n  then rank = 2\n  if unknown rank = 1\nend\n",
            "E003",
            "rank",
            "expected `then`",
        ),
        ("ensure e\n  out > 1\n  then out = 2\nend\n", "E003", "then", "expected `otherwise`"),
        ("rule r\n  when item.vip\n  then boost rank 15%\nend\n", "E003", "15%", "expected `by`"),
        ('test "t"\n  given item.stock == 1\nend\n', "E003", "==", "expected `=`"),
        ("override out pricing\n", "E003", "pricing", "expected `by`"),
        ("invariant no_name\n  out > 0\nend\n", "E003", "no_name", "expected a string"),
        ("rule r\n  when item.stock = 1\n  then rank = 2\nend\n", "E003", "=", "a comparison"),
        ("rule r\n  when item.stock > 1 > 2\n  then rank = 2\nend\n", "E003", ">", "expected"),
        ("rule r\n  when item.vip\n  then rank = 2\nend\nend\n", "E003", "end", "`rule`"),
        (
            'rule r "a" "b"\n  when item.vip\n  then rank = 2\nend\n',
            "E003",
            '"b"',
            "expected `priority`, `when`",
        ),
        # a keyword where an expression belongs is the error, not the token after it
        (
            "rule r\n  when item.vip and\n  then rank = 2\nend\n",
            "E003",
            "then",
            "expected an expression here",
        ),
        ("rule r\n  when\n  then rank = 2\nend\n", "E003", "then", "expected an expression here"),
        (
            "rule r\n  when item.vip\n  then rank = 2 +\nend\n",
            "E003",
            "end",
            "expected an expression here",
        ),
        # bad tokens
        ("rule r\n  when item.stock == 1 $\n  then rank = 2\nend\n", "E001", "$", "expected"),
        ("rule é\n  when item.vip\n  then rank = 2\nend\n", "E001", "é", "expected a name"),
        (
            'rule r\n  when item.category == "ba\n  then rank = 2\nend\n',
            "E001",
            '"',
            'close it with `"`',
        ),
        (
            'rule r\n  when item.category == "b\\ag"\n  then rank = 2\nend\n',
            "E001",
            '"',
            "escapes only",
        ),
        (
            "rule r\n  priority 1.5\n  when item.vip\n  then rank = 2\nend\n",
            "E010",
            "1.5",
            "`priority 100`",
        ),
        (
            "model m(text) -> score\n  timeout 50 minutes\nend\n",
            "E003",
            "minutes",
            "expected `ms` or `s`",
        ),
    ],
)
def test_syntax_error_report(body: str, code: str, under: str, help_: str) -> None:
    err, report = syntax_error(body)
    assert [d.code for d in err.diagnostics] == [code]
    head = REPORT_HEAD.search(report)
    assert head is not None, report
    line = int(head.group(1))
    assert report.splitlines()[2].endswith(err.diagnostics[0].span.file.line_text(line))
    assert underlined(report) == [under]
    help_lines = [ln for ln in report.splitlines() if "= help: " in ln]
    assert len(help_lines) == 1 and help_ in help_lines[0], report


def test_a_missing_end_names_what_was_expected() -> None:
    err, report = syntax_error(
        "facts order\n  discount: percent\nrule r\n  when true\n  then rank = 2\nend\n"
    )
    assert underlined(report) == ["rule"]  # the facts block was never closed
    assert "= help: expected a name, `end`" in report  # another field, or `end`
    err, report = syntax_error("rule r\n  when item.vip\n  then rank = 2\n")
    assert err.diagnostics[0].code == "E002"
    assert "unexpected end of file" in report and "`end`" in report


def test_the_report_shows_the_source_line_and_a_caret() -> None:
    _, report = syntax_error(
        "rule r\n  when item.stock == 1\n  rank = 2\nend\n", head="policy p end\n"
    )
    assert report == (
        "t.rule:4:3: error[E003]: unexpected name `rank`\n"
        "  |\n"
        "4 |   rank = 2\n"
        "  |   ^^^^\n"
        "  = help: expected `then`"
    )


def test_a_syntax_error_in_an_imported_file_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "lib.rule").write_text(
        'template t(x: number)\n  rule r\n    when x >\n    then block "no"\n  end\nend\n',
        encoding="utf-8",
    )
    policy = tmp_path / "policy.rule"
    policy.write_text(HEAD + 'import "./lib.rule"\n', encoding="utf-8")
    with pytest.raises(ParseError) as info:
        rulelang.open_policy(policy, bindings=False, allow_unbound=True)
    report = str(info.value)
    assert report.startswith(f"{tmp_path / 'lib.rule'}:4:5: error[E003]")
    assert underlined(report) == ["then"]


def test_parse_errors_are_rule_errors() -> None:
    assert issubclass(ParseError, RuleError)
    with pytest.raises(ParseError):
        format_source("policy p\n  version 1\nend\n")


# ---- fuzzing: any text fails only with rulelang's own errors ----------------------------------

SOURCES = valid_sources()
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def front_end_on(text: str) -> None:
    """Load and format ``text``: either works, or fails with a rendered RuleError."""
    for step in (
        lambda: rulelang.open_source(text, name="fuzz.rule", allow_unbound=True),
        lambda: format_source(text, "fuzz.rule"),
    ):
        try:
            step()
        except RuleError as exc:
            assert exc.diagnostics
            report = str(exc)
            for d in exc.diagnostics:
                assert re.fullmatch(r"E\d{3}", d.code)
                if d.span is not None and d.span.file.name == "fuzz.rule":
                    line, col = d.span.file.line_col(d.span.start)
                    assert f"fuzz.rule:{line}:{col}: error[{d.code}]" in report


def test_the_mutated_sources_start_from_valid_policies() -> None:
    assert SOURCES
    for text in SOURCES:
        rulelang.open_source(text, allow_unbound=True)


@FUZZ
@given(text=random_source())
def test_random_text_raises_only_rule_errors(text: str) -> None:
    front_end_on(text)


@FUZZ
@given(text=mutated_source(SOURCES))
def test_mutated_policies_raise_only_rule_errors(text: str) -> None:
    front_end_on(text)
