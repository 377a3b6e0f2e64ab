"""A pytest plugin: `.rule` files' `test` blocks and invariants as pytest items.

Files named like ``test_*.rule`` or ``*_test.rule`` (ini option ``rulelang_files``)
are collected wherever pytest looks. Each `test` block and each `invariant` is
one item; failures print expected vs got and the decision's trace, or the
shrunk counterexample. Options: ``--rulelang-examples``, ``--rulelang-seed``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rulelang.app import open_policy
from rulelang.errors import RuleError


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "rulelang_files",
        "glob patterns of .rule files to collect",
        type="args",
        default=["test_*.rule", "*_test.rule"],
    )
    group = parser.getgroup("rulelang")
    group.addoption(
        "--rulelang-examples",
        type=int,
        default=200,
        help="generated examples per invariant (default 200)",
    )
    group.addoption("--rulelang-seed", type=int, default=0, help="seed for generated examples")


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix != ".rule":
        return None
    patterns = parent.config.getini("rulelang_files")
    if any(fnmatch.fnmatch(file_path.name, p) for p in patterns):
        item: pytest.Collector = RuleFile.from_parent(parent, path=file_path)
        return item
    return None


class RuleFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            compiled = open_policy(self.path, bindings=False, allow_unbound=True)
        except RuleError as exc:
            yield RuleCheckItem.from_parent(self, name="check", error=exc.render())
            return
        policy = compiled.policy
        for test in policy.tests:
            yield RuleTestItem.from_parent(self, name=test.name, compiled=compiled, test=test)
        for inv in policy.invariants:
            yield InvariantItem.from_parent(
                self, name=f"invariant: {inv.name}", compiled=compiled, invariant=inv
            )


class RuleFailure(Exception):
    """A `.rule` test or invariant failed; the message is the report."""


class _RuleItem(pytest.Item):
    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, RuleFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.path.name}::{self.name}"


class RuleCheckItem(_RuleItem):
    def __init__(self, *, error: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def runtest(self) -> None:
        raise RuleFailure(self.error)


class RuleTestItem(_RuleItem):
    def __init__(self, *, compiled: Any, test: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.compiled, self.test = compiled, test

    def runtest(self) -> None:
        from rulelang.review.testing import render_failure, run_test

        result = run_test(self.compiled, self.test)
        if not result.passed:
            raise RuleFailure(render_failure(result))


class InvariantItem(_RuleItem):
    def __init__(self, *, compiled: Any, invariant: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.compiled, self.invariant = compiled, invariant

    def runtest(self) -> None:
        from rulelang.review.invariants import check_invariant
        from rulelang.review.testing import render_counterexample

        result = check_invariant(
            self.compiled,
            self.invariant,
            examples=self.config.getoption("rulelang_examples"),
            seed_value=self.config.getoption("rulelang_seed"),
        )
        if not result.passed:
            raise RuleFailure(render_counterexample(result))
