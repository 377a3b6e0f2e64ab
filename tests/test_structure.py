"""Every stage covers the whole language: each grammar rule has a transformer method,
and each IR expression and statement a handler in both back-ends. Derived from the
code (the grammar and the IR's type unions), not from a hand-written list."""

from __future__ import annotations

import typing

from rulelang import codegen, interpreter, ir
from rulelang.parser import _lark as lark_parser
from rulelang.transformer import AstBuilder


def grammar_rules() -> set[str]:
    """The tree nodes the grammar builds: an alternative's alias (``-> name``) or its
    rule's name; inlined rules (``_x``, ``?x``) build none."""
    names = set()
    for rule in lark_parser().rules:
        name = str(rule.alias or rule.origin.name)
        if rule.alias or not (name.startswith("_") or rule.options.expand1):
            names.add(name)
    return names


def test_every_grammar_rule_has_a_transformer_method() -> None:
    missing = sorted(name for name in grammar_rules() if not hasattr(AstBuilder, name))
    assert grammar_rules() and not missing, missing


def test_every_ir_expression_has_a_handler_in_both_back_ends() -> None:
    kinds = typing.get_args(ir.Expr)
    assert len(kinds) > 5
    for kind in kinds:
        assert kind in interpreter._EVAL, kind
        assert hasattr(codegen.CodeGen, "gen_" + kind.__name__.lower()), kind


def test_every_ir_statement_has_a_handler_in_both_back_ends() -> None:
    kinds = typing.get_args(ir.Statement)
    assert len(kinds) == 3
    for kind in kinds:
        assert kind in interpreter._EXECUTE, kind
        assert hasattr(codegen.CodeGen, "gen_" + kind.__name__.lower()), kind
