"""`rulelang fmt`: the formatter is canonical and keeps meaning and comments.

For every `.rule` file of the repository and for generated policies:
fmt(fmt(x)) == fmt(x), parse(fmt(x)) == parse(x) (nodes compare without spans),
and every comment survives, in order. `rulelang fmt --check` exits 1 on
unformatted files and 0 on formatted ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import HEAD, REPO
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from strategies import policies

import rulelang
from rulelang import nodes as n
from rulelang.cli import main
from rulelang.errors import ParseError
from rulelang.formatter import format_source
from rulelang.source import SourceFile
from rulelang.transformer import parse

FILES = sorted(
    [
        *REPO.glob("examples/*/policy.rule"),
        *REPO.glob("stdlib_rules/*.rule"),
        *REPO.glob("stdlib_rules/tests/*.rule"),
        REPO / "benchmarks" / "policy21.rule",
    ]
)


def fmt(text: str) -> str:
    return format_source(text, "t.rule")


def ast(text: str) -> n.Module:
    return parse(SourceFile("t.rule", text))


def comment_texts(text: str) -> list[str]:
    return [c.rstrip() for _, c in ast(text).comments]


def assert_canonical(text: str) -> str:
    """The formatter's three promises on ``text``; returns the formatted text."""
    once = fmt(text)
    assert fmt(once) == once, "formatting formatted text changed it"
    assert ast(once) == ast(text), "formatting changed the meaning"
    assert comment_texts(once) == comment_texts(text), "formatting lost or moved comments"
    return once


def test_the_repository_files_are_all_here() -> None:
    assert len(FILES) >= 10 and all(p.exists() for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_repository_files(path: Path) -> None:
    assert_canonical(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_a_comment_on_every_line_is_kept_in_place(path: Path) -> None:
    # Formatted text with a comment after every line, and another above it, is
    # already formatted: each comment stays on the line it annotates.
    lines = fmt(path.read_text(encoding="utf-8")).splitlines()
    annotated = [f"{ln}  # after {i}" if ln.strip() else ln for i, ln in enumerate(lines)]
    text = "\n".join(annotated) + "\n"
    assert fmt(text) == text
    above = []
    for i, line in enumerate(lines):
        if line.strip():
            above.append(line[: len(line) - len(line.lstrip())] + f"# above {i}")
        above.append(line)
    text = "\n".join(above) + "\n"
    assert fmt(text) == text


def test_a_reordered_source_still_formats_canonically() -> None:
    source = (REPO / "examples" / "retail" / "policy.rule").read_text(encoding="utf-8")
    squeezed = "\n".join("   " * (i % 4) + ln.strip() for i, ln in enumerate(source.splitlines()))
    assert assert_canonical(squeezed) == fmt(source)


# ---- generated policies ---------------------------------------------------------------------

GENERATED = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@GENERATED
@given(generated=policies())
def test_generated_policies(generated: Any) -> None:
    note(generated.source)
    once = assert_canonical(generated.source)
    rulelang.open_source(once, allow_unbound=True)  # still checks


@st.composite
def commented_policies(draw: Any) -> str:
    """A generated policy with comments above and after random lines."""
    lines = draw(policies()).source.splitlines()
    out = []
    for i, line in enumerate(lines):
        if draw(st.integers(0, 5)) == 0:
            out.append(f"# above {i}")
        trailing = line.strip() and draw(st.integers(0, 3)) == 0
        out.append(f"{line}  # after {i}" if trailing else line)
    return "\n".join(out) + "\n"


@GENERATED
@given(text=commented_policies())
def test_generated_policies_with_comments(text: str) -> None:
    note(text)
    assert_canonical(text)


# ---- the canonical form -----------------------------------------------------------------------


def test_layout_is_normalised() -> None:
    text = (
        HEAD + 'rule   r   "t"\npriority 5 when item.stock>1 and(item.vip)then rank=2,'
        'boost rank by 15%,block "x" if unknown then review "y" by ops end\n'
    )
    assert fmt(text).endswith(
        'rule r "t"\n  priority 5\n  when item.stock > 1 and item.vip\n'
        '  then rank = 2, boost rank by 15%, block "x"\n'
        '  if unknown then review "y" by ops\nend\n'
    )


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("(a + b) * c > 1", "(a + b) * c > 1"),
        ("a + (b * c) > 1", "a + b * c > 1"),
        ("a - (b - c) > 1", "a - (b - c) > 1"),
        ("(a - b) - c > 1", "a - b - c > 1"),
        ("(a or b) and c", "(a or b) and c"),
        ("a or (b and c)", "a or b and c"),
        ("not (a and b)", "not (a and b)"),
        ("(a implies b) implies c", "(a implies b) implies c"),
        ("a implies (b implies c)", "a implies b implies c"),
        ("(x ?? 1) ?? 2 > 0", "(x ?? 1) ?? 2 > 0"),
        ("-(a + b) < 0", "-(a + b) < 0"),
        ("12.50% == 0.10", "12.5% == 0.10"),
        ('s == "say \\"hi\\""', 's == "say \\"hi\\""'),
        ("s in 1 ..< 2 and t in {1,2}", "s in 1 ..< 2 and t in {1, 2}"),
        ("(if a then 1 else 2) > 1", "(if a then 1 else 2) > 1"),
    ],
)
def test_expressions_keep_only_the_parentheses_they_need(written: str, canonical: str) -> None:
    text = fmt(f"rule r\n  when {written}\n  then x = 1\nend\n")
    assert text == f"rule r\n  when {canonical}\n  then x = 1\nend\n"
    assert ast(text) == ast(f"rule r when {written} then x = 1 end")


def test_long_conditions_break_before_each_and() -> None:
    conjuncts = [f"item.field_number_{i} > {i}" for i in range(5)]
    text = fmt(f"rule r\n  when {' and '.join(conjuncts)}\n  then x = 1\nend\n")
    assert text.splitlines()[1:6] == [
        f"  when {conjuncts[0]}",
        *[f"   and {c}" for c in conjuncts[1:]],
    ]
    assert fmt(text) == text


def test_durations_and_test_clauses_are_normalised() -> None:
    text = fmt(
        'model m(text) -> score\n  timeout 2 s\nend\ntest "t"\n  given a.b = 1\n'
        '  given a.c = "x"\n  with m = unknown\n  expect fired r, s\nend\n'
    )
    assert text == (
        'model m(text) -> score\n  timeout 2000 ms\nend\n\ntest "t"\n'
        '  given a.b = 1, a.c = "x"\n  with m = unknown\n  expect fired r, s\nend\n'
    )


def test_one_line_declarations_of_a_kind_stay_together() -> None:
    text = fmt(
        'import "pricing"\nimport "fraud"\noverride a by b\n\n\noverride c by d within 1 .. 2'
    )
    assert text == (
        'import "pricing"\nimport "fraud"\n\noverride a by b\noverride c by d within 1 .. 2\n'
    )


# ---- comments -------------------------------------------------------------------------------


def test_comments_stay_before_and_after_what_they_annotate() -> None:
    text = (
        '# file comment\npolicy p  # the policy\n  title "T"\n  # the version:\n'
        '  version "1"  # bumped on release\nend\n\n# the rule\nrule r  # named r\n'
        "  priority 2  # high\n  when a   # cond\n  then x = 1\nend  # done\n# the end\n"
    )
    assert fmt(text) == text.replace("a   # cond", "a  # cond")


def test_a_hash_inside_a_string_is_not_a_comment() -> None:
    text = 'rule r "not # a comment"\n  when s == "#1"\n  then x = 1\nend\n'
    assert fmt(text) == text
    assert comment_texts(text) == []


def test_a_comment_inside_a_joined_line_is_kept() -> None:
    text = "rule r\n  when a  # first\n   and b  # second\n  then x = 1\nend\n"
    once = assert_canonical(text)
    assert once == "rule r\n  when a and b  # first\n  # second\n  then x = 1\nend\n"


def test_a_syntax_error_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        fmt("rule r when then x = 1 end")


# ---- rulelang fmt ---------------------------------------------------------------------------


def test_fmt_check_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    messy = tmp_path / "messy.rule"
    messy.write_text('policy p version "1" end\nrule r when true then x=1 end\n', encoding="utf-8")
    before = messy.read_text(encoding="utf-8")
    assert main(["fmt", "--check", str(messy)]) == 1
    assert messy.read_text(encoding="utf-8") == before  # --check changes nothing
    assert f"would reformat {messy}" in capsys.readouterr().err
    assert main(["fmt", str(messy)]) == 0
    assert messy.read_text(encoding="utf-8") == fmt(before)
    assert main(["fmt", "--check", str(messy)]) == 0


def test_fmt_check_on_formatted_files_and_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tidy = tmp_path / "tidy.rule"
    tidy.write_text(
        fmt((REPO / "examples" / "retail" / "policy.rule").read_text()), encoding="utf-8"
    )
    assert main(["fmt", "--check", str(tidy)]) == 0
    broken = tmp_path / "broken.rule"
    broken.write_text("rule r when then x = 1 end\n", encoding="utf-8")
    assert main(["fmt", "--check", str(tidy), str(broken)]) == 1
    assert "error[E003]" in capsys.readouterr().err
    assert main(["fmt", "--check", str(tmp_path / "missing.rule")]) == 2
