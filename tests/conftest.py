"""Shared helpers and fixtures of the language-core tests.

Helpers are plain functions (tests import them: ``from conftest import ...``);
Hypothesis strategies live in ``strategies.py``. Golden files are compared with
``assert_golden``; ``RULELANG_UPDATE_GOLDENS=1 pytest tests/`` rewrites them.

The tests test this checkout: the session stops if ``rulelang`` is imported from
anywhere else, and a test that needs a real process runs ``run_cli`` (``python -m
rulelang`` with this checkout first on ``PYTHONPATH``), never a console script found on
``PATH``. Hypothesis runs the ``dev`` profile (few examples) unless ``CI`` is set or
``--hypothesis-profile=ci`` is given; ``.ci/run`` sets ``CI=1``.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, settings

import rulelang
from rulelang.errors import RuleError

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
EXAMPLES = REPO / "examples"
RETAIL = EXAMPLES / "retail" / "policy.rule"
GOLDEN = TESTS / "golden"
UPDATE_GOLDENS = os.environ.get("RULELANG_UPDATE_GOLDENS") == "1"
# The decision-log tests run against this PostgreSQL server too, when one answers.
PG_URL = os.environ.get("RULELANG_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _checkout_or_exit() -> None:
    """Stop the session unless ``rulelang`` is this repository's package."""
    found = Path(rulelang.__file__).resolve().parent
    if found != REPO / "rulelang":
        pytest.exit(
            f"the tests must test this checkout ({REPO / 'rulelang'}), but rulelang was "
            f"imported from {found}: run `pip install -e .` in {REPO}, or pytest from its venv",
            returncode=4,
        )


_checkout_or_exit()


def checkout_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python that must import this checkout's ``rulelang``."""
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **extra}


def run_python(
    *args: str | os.PathLike[str],
    cwd: str | os.PathLike[str],
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run this interpreter on ``args`` in ``cwd`` (a tmp dir), importing this checkout."""
    return subprocess.run(
        [sys.executable, *(os.fspath(a) for a in args)],
        cwd=cwd,
        env=checkout_env(**(env or {})),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_cli(
    *args: str | os.PathLike[str],
    cwd: str | os.PathLike[str],
    input: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``python -m rulelang ARGS`` in a real process, from this checkout, in ``cwd``."""
    return run_python("-m", "rulelang", *args, cwd=cwd, input=input, timeout=timeout)


# The decision record's keys, in the documented order (docs/reference.md).
RECORD_KEYS = (
    "id",
    "policy",
    "version",
    "policy_hash",
    "action",
    "outputs",
    "reasons",
    "review_by",
    "fired",
    "trace",
    "models",
    "error",
)

# A small policy head most tests build on: one facts block of every field kind.
HEAD = """\
policy p
  version "1"
end

facts item
  price: money in 0 .. 1000
  cost: money in 0 .. 1000
  stock: int in 0 .. 100
  category: text in {"bags", "shoes"}
  score: number in 0 .. 10
  discount: percent
  vip: bool
  ltv: money in 0 .. 100000 optional
end

decision
  out: money = item.price
  rank: number = 1.0
end
"""

ITEM = {
    "price": "100.00",
    "cost": "50.00",
    "stock": 5,
    "category": "bags",
    "score": 1.0,
    "discount": "0.10",
    "vip": False,
}


def facts(**changes: Any) -> dict[str, dict[str, Any]]:
    """Valid facts for ``HEAD``, with some fields changed."""
    return {"item": {**ITEM, **changes}}


def assert_golden(path: Path, actual: str) -> None:
    """Compare with a golden file; RULELANG_UPDATE_GOLDENS=1 rewrites it instead."""
    if UPDATE_GOLDENS:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path}: run with RULELANG_UPDATE_GOLDENS=1"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{path.name} differs from its golden file"


def error_of(text: str, name: str = "t.rule", **kwargs: Any) -> RuleError:
    """The error that loading ``text`` raises (fails the test if it loads)."""
    with pytest.raises(RuleError) as info:
        rulelang.open_source(text, name=name, allow_unbound=True, **kwargs)
    return info.value


def underlined(report: str) -> list[str]:
    """The source text under each caret line of a rendered report, in order."""
    lines = report.splitlines()
    found = []
    for above, line in itertools.pairwise(lines):
        caret = re.fullmatch(r"\s*\|\s(\s*)(\^+)", line)
        source = re.fullmatch(r"(\s*\d+) \| (.*)", above)
        if caret and source:
            gutter = len(source.group(1))
            start = len(line) - len(caret.group(2)) - gutter - 3
            found.append(source.group(2)[start : start + len(caret.group(2))])
    return found


class Recorder:
    """A stand-in model: a fixed answer (or a function of the arguments), counting calls."""

    def __init__(
        self, answer: Any = None, fn: Callable[..., Any] | None = None, version: str = "test-1"
    ) -> None:
        self.answer = answer
        self.fn = fn
        self.version = version
        self.calls: list[tuple[Any, ...]] = []
        self.batches: list[int] = []

    def predict(self, args: tuple[Any, ...]) -> Any:
        self.calls.append(args)
        return self.fn(*args) if self.fn is not None else self.answer

    def predict_batch(self, rows: Any) -> list[Any]:
        self.batches.append(len(rows))
        return [self.predict(r) for r in rows]


def retail_models(fraud: Any = (0.1, 0.95), similarity: Any = 0.0) -> dict[str, Any]:
    """Plain-Python stand-ins for the retail example's models (fixed answers)."""
    return {
        "fraud_risk": Recorder(fraud, version="2026-11-01"),
        "similarity": Recorder(similarity, version="sim-1"),
    }


def retail_facts(**item: Any) -> dict[str, dict[str, Any]]:
    base = {
        "sku": "BAG-1",
        "category": "bags",
        "description": "black leather tote",
        "base_price": "1000.00",
        "cost": "400.00",
        "stock": 12,
        "new_collection": False,
    }
    return {
        "item": {**base, **item},
        "customer": {"tier": "standard"},
        "order": {"discount": "0.10", "channel": "web"},
    }


@pytest.fixture
def retail() -> rulelang.CompiledPolicy:
    return rulelang.open_policy(RETAIL, models=retail_models())


def exact(value: Any) -> Any:
    """A value with its type, for comparisons that must not equate 1 and 1.0 or Decimal."""
    if isinstance(value, Mapping):
        return {k: exact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [exact(v) for v in value]
    if isinstance(value, float) and value != value:
        return ("float", "nan")
    if isinstance(value, (bool, int, float, Decimal, str)) or value is None:
        return (type(value).__name__, value)
    return value


# Hypothesis profiles. `ci` is Hypothesis's own CI profile (100 examples, derandomised, no
# deadline, no example database): what CI has always run. `dev` runs a fifth of the
# examples for a quick local run. `--hypothesis-profile=NAME` overrides the choice.
CI_EXAMPLES = 100
settings.register_profile("ci", settings.get_profile("ci"), max_examples=CI_EXAMPLES)
settings.register_profile("dev", max_examples=20)
# `pytest --hypothesis-profile=debug`: replay and generate without shrinking, one bug.
settings.register_profile(
    "debug",
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    report_multiple_bugs=False,
    print_blob=True,
)
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")
settings.load_profile("ci" if IN_CI else "dev")


def examples(ci: int) -> int:
    """A test's example count, ``ci`` under the ``ci`` profile, scaled with the profile.

    For a test that needs more (or fewer) examples than the profile's default:
    ``@settings(max_examples=examples(300))`` runs 300 in CI and 60 under ``dev``.
    """
    current = settings()  # the loaded profile's values
    return max(1, ci * current.max_examples // CI_EXAMPLES)


@pytest.fixture(scope="session")
def pg_down() -> str | None:
    """None when the PostgreSQL server answers, else why not."""
    try:
        import psycopg

        psycopg.connect(PG_URL, connect_timeout=3).close()
    except Exception as exc:
        return f"no PostgreSQL server at {PG_URL} ({exc}); set RULELANG_TEST_PG_URL"
    return None


@pytest.fixture(params=["sqlite", "postgres"])
def log_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh decision log: a SQLite file, then a PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield str(tmp_path / "log.sqlite")
        return
    reason = request.getfixturevalue("pg_down")
    if reason:
        pytest.skip(reason)
    schema = f"rl_test_{uuid.uuid4().hex[:12]}"
    yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}schema={schema}"
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
