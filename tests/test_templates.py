"""Stage 3: templates (AST with `import` and `use` -> AST with every `use` expanded).

LANGUAGE.md: a template is expanded at compile time; its rules and constraints keep
the names given by `as`, and its source spans point into the template file.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from conftest import HEAD, Recorder, error_of, facts, underlined

import rulelang
from rulelang.paths import stdlib_dir

PRICING = str(stdlib_dir() / "pricing.rule")


def line_of(path: str, text: str) -> int:
    """The line of a file where ``text`` first appears."""
    lines = Path(path).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def load(body: str, **models: object) -> rulelang.CompiledPolicy:
    return rulelang.open_source(HEAD + body, name="t.rule", models=models)


def test_use_expands_with_the_given_names() -> None:
    policy = load("""
import "pricing"
use margin_floor(out, item.cost, 10%) as floor_10
use discount_cap(out, item.price, item.discount, 50%) as half_off_at_most
use price_band(out, 5, 500) as band
""")
    assert [r.name for r in policy.policy.rules] == ["half_off_at_most"]
    assert [e.name for e in policy.policy.ensures] == ["floor_10", "band_floor", "band_ceiling"]
    capped = policy.decide(facts(price="100.00", cost="10.00", discount="0.75"))
    assert capped.fired == ("half_off_at_most",)
    assert capped.outputs["out"] == Decimal("50.00")
    floored = policy.decide(facts(price="100.00", cost="95.00", discount="0.10"))
    assert floored.fired == ("floor_10",)
    assert floored.outputs["out"] == Decimal("104.5000")
    banded = policy.decide(facts(price="3.00", cost="1.00"))
    assert (banded.fired, banded.outputs["out"]) == (("band_floor",), Decimal(5))


def test_expanded_spans_point_into_the_template_file() -> None:
    policy = load(
        'import "pricing"\nuse margin_floor(out, item.cost, 10%) as floor_10\n'
        "use round_price(out, 0) as whole\n"
    )
    [ensure] = policy.policy.ensures
    [rule] = policy.policy.rules
    assert ensure.span.file.name == rule.span.file.name == PRICING
    floor, rounding = line_of(PRICING, "ensure margin_floor"), line_of(PRICING, "rule round_")
    assert (ensure.line, rule.line) == (floor, rounding)
    trace = policy.decide(facts(price="99.50", cost="95.00"), explain=True).trace
    assert [(f.rule, f.line, f.outcome) for f in trace] == [
        ("whole", rounding, "fired"),
        ("floor_10", floor, "fired"),
    ]


def test_a_template_model_argument_is_called_once() -> None:
    risk = Recorder((0.7, 0.99))
    policy = load(
        """
import "fraud"
model risk(item) -> score
end
use fraud_routing(risk(item), 0.6, 0.85) as fraud
""",
        risk=risk,
    )
    decision = policy.decide(facts())
    assert [r.name for r in policy.policy.rules] == ["fraud_block", "fraud_review"]
    assert (decision.action, decision.review_by, decision.fired) == (
        "review",
        "loss_prevention",
        ("fraud_review",),
    )
    assert len(risk.calls) == 1


def test_templates_in_the_same_file_and_beside_it(tmp_path: Path) -> None:
    (tmp_path / "lib.rule").write_text("""# a local library
template vip_boost(rank: number, vip: bool)
  rule vip_boost
    when vip
    then boost rank by 10%
  end
end
""")
    (tmp_path / "p.rule").write_text(
        HEAD
        + """
import "./lib.rule"
template none_left(stock: int)
  rule none_left "Nothing left"
    when stock == 0
    then block "none left"
  end
end
use none_left(item.stock) as sold_out
use vip_boost(rank, item.vip) as vip
"""
    )
    policy = rulelang.open_policy(tmp_path / "p.rule")
    decision = policy.decide(facts(stock=0, vip=True))
    assert decision.fired == ("sold_out", "vip")
    assert decision.outputs["rank"] == pytest.approx(1.1)
    assert policy.policy.rules[1].span.file.name == str(tmp_path / "lib.rule")


def test_the_policy_hash_covers_the_templates_it_uses(tmp_path: Path) -> None:
    # The log keys decisions by this hash: a changed template is a changed policy.
    text = HEAD + 'import "./lib.rule"\nuse boost(rank, item.vip) as vip\n'
    hashes = []
    for percent in ("10%", "20%", "10%"):
        (tmp_path / "lib.rule").write_text(
            "template boost(rank: number, vip: bool)\n"
            f"  rule boost\n    when vip\n"
            f"    then boost rank by {percent}\n  end\nend\n"
        )
        (tmp_path / "p.rule").write_text(text)
        hashes.append(rulelang.open_policy(tmp_path / "p.rule").policy_hash)
    assert hashes[0] != hashes[1] and hashes[0] == hashes[2]


# ---- errors ---------------------------------------------------------------------------------


def test_an_error_inside_an_expanded_template_names_the_stdlib_file() -> None:
    error = error_of(HEAD + 'import "pricing"\nuse margin_floor(rank, item.cost, 10%) as floor\n')
    report = str(error)
    line = line_of(PRICING, "price >= cost * (1 + margin)")
    assert report.startswith(f"{PRICING}:{line}:5: error[E306]: cannot compare number with money")
    assert underlined(report) == ["price >= cost * (1 + margin)", "cost * (1 + margin)"]
    assert "Traceback" not in report


def test_a_bad_argument_is_underlined_at_the_use_site() -> None:
    error = error_of(HEAD + 'import "pricing"\nuse margin_floor(out, item.cost, "ten") as floor\n')
    use_site = [d for d in error.diagnostics if d.span and d.span.file.name == "t.rule"]
    assert [d.message for d in use_site] == ["`margin` of `margin_floor` expects percent, got text"]
    assert '"ten"' in underlined(str(error))


def test_a_misspelt_field_in_an_argument_is_underlined_where_it_was_written() -> None:
    error = error_of(HEAD + 'import "inventory"\nuse out_of_stock(item.stok) as sold_out\n')
    assert {d.span.file.name for d in error.diagnostics if d.span} == {"t.rule"}
    assert set(underlined(str(error))) == {"item.stok"}
    assert "did you mean `item.stock`?" in str(error)


def test_unknown_template() -> None:
    error = error_of(HEAD + 'import "pricing"\nuse margn_floor(out, item.cost, 10%) as floor\n')
    assert isinstance(error, rulelang.ParseError)
    assert (
        str(error)
        == """\
t.rule:21:1: error[E101]: unknown template `margn_floor`
   |
21 | use margn_floor(out, item.cost, 10%) as floor
   | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
   = help: did you mean `margin_floor`?"""
    )


def test_a_template_not_imported_is_unknown() -> None:
    error = error_of(HEAD + "use margin_floor(out, item.cost, 10%) as floor\n")
    assert [d.code for d in error.diagnostics] == ["E101"]


def test_wrong_arity() -> None:
    error = error_of(
        HEAD + 'import "pricing"\nuse margin_floor(out, item.cost) as floor\n'
        "use price_cap(out, item.price, 3, 4) as cap\n"
    )
    assert [d.message for d in error.diagnostics] == [
        "template `margin_floor` takes 3 arguments, got 2",
        "template `price_cap` takes 2 arguments, got 4",
    ]
    assert [d.help for d in error.diagnostics] == [
        "`margin_floor(price, cost, margin)`",
        "`price_cap(price, cap)`",
    ]
    assert "2 errors" in str(error)


def test_unknown_import_lists_the_standard_library() -> None:
    error = error_of(HEAD + 'import "pricng"\n')
    [diagnostic] = error.diagnostics
    assert diagnostic.message == "cannot find `pricng` to import"
    assert "fraud, inventory, loyalty, pricing" in diagnostic.help
    assert underlined(str(error)) == ['import "pricng"']


def test_an_imported_file_holds_only_templates(tmp_path: Path) -> None:
    (tmp_path / "lib.rule").write_text('rule stray\n  when true\n  then block "x"\nend\n')
    (tmp_path / "p.rule").write_text(HEAD + 'import "./lib.rule"\n')
    with pytest.raises(rulelang.ParseError) as info:
        rulelang.open_policy(tmp_path / "p.rule")
    [diagnostic] = info.value.diagnostics
    assert diagnostic.code == "E104"
    assert diagnostic.span is not None and diagnostic.span.file.name.endswith("lib.rule")


def test_a_template_defined_twice() -> None:
    template = 'template t(x: int)\n  rule t\n    when x == 0\n    then block "x"\n  end\nend\n'
    error = error_of(HEAD + template + template + "use t(item.stock) as t\n")
    assert [d.message for d in error.diagnostics] == ["template `t` is defined twice"]
