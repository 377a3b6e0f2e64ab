"""Reviewing policies like code: `test` blocks, invariants, coverage, static review,
diffs between versions, and the pytest plugin. Each returns data; ``rulelang.cli``
prints it."""
