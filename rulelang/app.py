"""The one way in: a `.rule` file (or its text) -> a checked, compiled, bound policy.

Every caller goes through ``open_policy`` or ``open_source``: the command line's
``check``, ``run``, ``test``, ``diff`` and ``explain``, the review commands, the
pytest plugin and the Python API. Flags and defaults live here once.

Where the bindings come from, for every caller:

1. ``models``: Python objects or callables, by model name. They win over a file.
2. ``bindings``: a ``models.yaml`` path (the command line's ``--models PATH``).
   ``None`` means the ``models.yaml`` beside the policy, if there is one and the
   policy declares models; ``False`` means no file at all.

A declared model that neither binds is an error (E401) unless ``allow_unbound``:
then it never answers, as in `test` blocks without `with`. Every binding problem
is reported at once, in one ``ModelBindingFailed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from rulelang import ir
from rulelang.errors import NoSuchFile
from rulelang.models.base import Model, ModelSignature
from rulelang.program import CompiledPolicy, compile_file, signatures
from rulelang.source import SourceFile

BINDINGS_FILE = "models.yaml"

Bindings = str | Path | Literal[False] | None


def open_policy(
    path: str | Path,
    *,
    models: Mapping[str, Any] | None = None,
    bindings: Bindings = None,
    allow_unbound: bool = False,
    strict_fields: bool = False,
) -> CompiledPolicy:
    """Check, compile and bind a `.rule` file. Raises one RuleError with every problem,
    ``NoSuchFile`` (a ``UsageError`` and a ``FileNotFoundError``) when it is missing."""
    source = read_source(path)
    policy = compile_file(source)
    found = bindings_file(Path(path), bindings, policy)
    return bind(
        policy,
        models,
        found,
        allow_unbound=allow_unbound,
        strict_fields=strict_fields,
        source_text=source.text,
    )


load = open_policy  # the name LANGUAGE.md's Python API uses: the same function


def open_source(
    text: str,
    name: str = "<string>",
    *,
    models: Mapping[str, Any] | None = None,
    bindings: Bindings = False,
    allow_unbound: bool = False,
    strict_fields: bool = False,
) -> CompiledPolicy:
    """Like ``open_policy``, from text (a logged policy, a test). Text has no directory,
    so no bindings file is looked for unless ``bindings`` names one."""
    policy = compile_file(SourceFile(name, text))
    found = Path(bindings) if bindings else None
    return bind(
        policy,
        models,
        found,
        allow_unbound=allow_unbound,
        strict_fields=strict_fields,
        source_text=text,
    )


def read_source(path: str | Path) -> SourceFile:
    """A policy's text, or ``NoSuchFile``."""
    if not Path(path).is_file():
        raise NoSuchFile(f"no such file: {path}")
    return SourceFile.read(path)


def bindings_file(policy_path: Path, bindings: Bindings, policy: ir.Policy) -> Path | None:
    """The one rule for where the bindings file is (see the module docstring)."""
    if bindings is False:
        return None
    if bindings is not None:
        if not Path(bindings).is_file():
            raise NoSuchFile(f"no such bindings file: {bindings}")
        return Path(bindings)
    beside = policy_path.parent / BINDINGS_FILE
    return beside if policy.models and beside.is_file() else None


def bind(
    policy: ir.Policy,
    models: Mapping[str, Any] | None,
    file: Path | None,
    *,
    allow_unbound: bool = False,
    strict_fields: bool = False,
    source_text: str = "",
) -> CompiledPolicy:
    """Bind a checked policy: Python ``models`` first, the rest from ``file``."""
    given = dict(models or {})
    from_file = (
        bind_file(file, signatures(policy), skip=given, require_all=not (allow_unbound or given))
        if file
        else {}
    )
    return CompiledPolicy(
        policy,
        {**from_file, **given},
        allow_unbound=allow_unbound,
        strict_fields=strict_fields,
        source_text=source_text,
    )


def bind_file(
    path: Path,
    wanted: Mapping[str, ModelSignature],
    *,
    skip: Mapping[str, Any] | None = None,
    require_all: bool = True,
) -> dict[str, Model]:
    """Build the models a models.yaml binds, checked against ``wanted``. Models named in
    ``skip`` (bound in Python) are neither built nor checked: Python's binding wins."""
    from rulelang.models.registry import load_models_yaml

    skip = skip or {}
    rest = {name: sig for name, sig in wanted.items() if name not in skip}
    return load_models_yaml(path, rest, require_all=require_all, ignore=frozenset(skip))


def open_pair(
    old: str | Path, new: str | Path, *, bindings: Bindings = False
) -> tuple[CompiledPolicy, CompiledPolicy]:
    """Two versions of a policy, for a diff. With a bindings file (``None``: the one
    beside ``old``), one instance per model serves both, so both get the same answers;
    with ``bindings=False`` nothing is bound and no model answers."""
    sources = read_source(old), read_source(new)
    policies = compile_file(sources[0]), compile_file(sources[1])
    if bindings is False:
        unbound = (
            bind(p, {}, None, allow_unbound=True, source_text=src.text)
            for p, src in zip(policies, sources, strict=True)
        )
        return next(unbound), next(unbound)
    file = bindings_file(Path(old), bindings, policies[0]) or bindings_file(
        Path(new), bindings, policies[1]
    )
    if file is None:
        raise NoSuchFile(f"no {BINDINGS_FILE} beside {old} or {new}")
    shared = bind_file(
        file, {**signatures(policies[0]), **signatures(policies[1])}, require_all=False
    )
    bound = (
        bind(
            p,
            {m.name: shared[m.name] for m in p.models if m.name in shared},
            None,
            source_text=src.text,
        )
        for p, src in zip(policies, sources, strict=True)
    )
    return next(bound), next(bound)
