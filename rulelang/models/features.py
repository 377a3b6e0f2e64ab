"""Facts to feature vectors: the mapping that tabular adapters share.

Input: the runtime's argument tuple (one dict per facts-block parameter, or a plain
value for a scalar parameter) and a *feature mapping* ``{feature: path}``.
Output: one float64 row per call (NaN where a value is missing or a category was
never seen) and the names of the features that lie outside what training saw.

A path names where a feature's value comes from, resolved against the declared
parameters of the model:

* ``customer.tier``: field ``tier`` of the parameter whose type is facts block
  ``customer`` (the first such parameter);
* ``$2.tier``: field ``tier`` of the second argument (for a model that takes the
  same facts block twice);
* ``$1``: the first argument itself (a scalar parameter such as ``money``).

What training saw (feature kinds, categorical levels, numeric ranges, whether values
were missing) lives in a small JSON *sidecar* next to the model file; see
:class:`Sidecar`. Only numpy is needed here.
"""

from __future__ import annotations

import difflib
import json
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rulelang.models.base import ModelSignature

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

SIDECAR_FORMAT = "rulelang-features/1"
KINDS = ("numeric", "bool", "categorical")
NUMERIC_TYPES = frozenset({"number", "int", "money", "percent", "score"})
NAN = float("nan")
_NUMBER_TYPES = frozenset({float, int, Decimal, bool})


class FitError(ValueError):
    """A model's files, feature mapping and declaration do not fit; lists every problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


class BadInput(ValueError):
    """An argument the adapter cannot turn into features; the adapter answers None."""


@dataclass(frozen=True, slots=True)
class Feature:
    """One model input as training saw it.

    ``kind`` is numeric, bool or categorical. Numeric features record the range
    ``low .. high`` seen in training; categorical ones their ``levels`` (the
    integer code of a level is its index). ``missing_seen`` says whether training
    data had missing values for it (then a missing value is in distribution).
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    levels: tuple[str, ...] = ()
    missing_seen: bool = False
    _codes: dict[str, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_codes", {lv: float(i) for i, lv in enumerate(self.levels)})

    @classmethod
    def numeric(cls, name: str, values: Iterable[Any]) -> Feature:
        """Describe a numeric training column (None/NaN count as missing)."""
        floats = [_to_float(v) for v in values]
        present = [v for v in floats if not math.isnan(v)]
        if not present:
            raise ValueError(f"feature {name!r} has no values")
        missing = len(present) < len(floats)
        return cls(name, "numeric", min(present), max(present), missing_seen=missing)

    @classmethod
    def boolean(cls, name: str, values: Iterable[Any]) -> Feature:
        """Describe a boolean training column."""
        return cls(name, "bool", missing_seen=any(v is None for v in values))

    @classmethod
    def categorical(cls, name: str, levels: Sequence[str], values: Iterable[Any] = ()) -> Feature:
        """Describe a categorical column; ``levels`` fixes the codes (index = code)."""
        if len(set(levels)) != len(levels):
            raise ValueError(f"feature {name!r} has duplicate levels")
        return cls(
            name, "categorical", levels=tuple(levels), missing_seen=any(v is None for v in values)
        )

    def codes(self, values: Iterable[Any]) -> list[float]:
        """Encode a training column the way predictions will be encoded."""
        return [self.encode(v)[0] for v in values]

    def encode(self, value: Any) -> tuple[float, bool]:
        """``(model value, in distribution)``; raises :class:`BadInput`."""
        if value is None:
            return NAN, self.missing_seen
        if self.kind == "categorical":
            return self._encode_level(value)
        if self.kind == "bool":
            return _encode_bool(value), True
        x = _to_float(value)
        if math.isnan(x):
            return NAN, self.missing_seen
        return x, self._inside(x)

    def _encode_level(self, value: Any) -> tuple[float, bool]:
        code = self._codes.get(value if type(value) is str else str(value))
        return (NAN, False) if code is None else (code, True)

    def _inside(self, x: float) -> bool:
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        return low <= x <= high

    def widened(self, tolerance: float) -> Feature:
        """The same feature with its range widened by ``tolerance`` × its width."""
        if self.kind != "numeric" or tolerance <= 0 or self.low is None or self.high is None:
            return self
        pad = (self.high - self.low) * tolerance
        return replace(self, low=self.low - pad, high=self.high + pad)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.kind == "numeric":
            out |= {"low": self.low, "high": self.high}
        if self.kind == "categorical":
            out["levels"] = list(self.levels)
        out["missing_seen"] = self.missing_seen
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Feature:
        kind = str(data["kind"])
        if kind not in KINDS:
            raise ValueError(f"feature {data.get('name')!r}: unknown kind {kind!r}")
        return cls(
            name=str(data["name"]),
            kind=kind,
            low=_optional_float(data.get("low")),
            high=_optional_float(data.get("high")),
            levels=tuple(str(v) for v in data.get("levels", ())),
            missing_seen=bool(data.get("missing_seen", False)),
        )


def _to_float(value: Any) -> float:
    if type(value) in _NUMBER_TYPES or isinstance(value, numbers.Real):  # Real: numpy scalars
        return float(value)
    if value is None:
        return NAN
    raise BadInput(f"{value!r} is not a number")


def _encode_bool(value: Any) -> float:
    if isinstance(value, bool) or value in (0, 1):
        return float(value)
    raise BadInput(f"{value!r} is not a bool")


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True, slots=True)
class Sidecar:
    """The JSON file beside a model: its features in model order, version, mapping.

    ``mapping`` is the default feature mapping (``models.yaml`` may replace it);
    ``info`` holds free-form facts about training (rows, seed, objective, metric).
    """

    features: tuple[Feature, ...]
    version: str
    mapping: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SIDECAR_FORMAT,
            "version": self.version,
            "features": [f.to_json() for f in self.features],
            "mapping": dict(self.mapping),
            "info": dict(self.info),
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Sidecar:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != SIDECAR_FORMAT:
            raise ValueError(f"{path}: not a {SIDECAR_FORMAT} sidecar")
        return cls(
            features=tuple(Feature.from_json(f) for f in data["features"]),
            version=str(data["version"]),
            mapping={str(k): str(v) for k, v in data.get("mapping", {}).items()},
            info=dict(data.get("info", {})),
        )


def sidecar_path(model_path: str | Path) -> Path:
    """Where the sidecar of a model file lives by default: same stem, ``.json``."""
    return Path(model_path).with_suffix(".json")


# --------------------------------------------------------------------------- paths


@dataclass(frozen=True, slots=True)
class Source:
    """Where one feature's value is read: argument index and field (None: the argument)."""

    feature: Feature
    arg: int
    field: str | None
    path: str


def resolve_path(path: str, params: Sequence[str]) -> tuple[int, str | None]:
    """Resolve ``block.field``, ``$N.field`` or ``$N`` to (argument index, field)."""
    head, dot, fld = path.partition(".")
    if dot and not fld:
        raise ValueError(f"path `{path}` has no field after the dot")
    if head.startswith("$"):
        return _resolve_position(path, head, params), (fld or None)
    if not dot:
        raise ValueError(f"path `{path}` must be `block.field`, `$N.field` or `$N`")
    indexes = [i for i, p in enumerate(params) if p == head]
    if not indexes:
        raise ValueError(
            f"path `{path}`: `{head}` is not a parameter of the model "
            f"(parameters: {', '.join(params) or 'none'}){_hint(head, params)}"
        )
    return indexes[0], fld


def _resolve_position(path: str, head: str, params: Sequence[str]) -> int:
    digits = head[1:]
    if not digits.isdigit() or not 1 <= int(digits) <= len(params):
        raise ValueError(f"path `{path}`: the model has {len(params)} parameter(s)")
    return int(digits) - 1


def _hint(name: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(set(options)), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def mapping_problems(
    features: Sequence[Feature],
    mapping: Mapping[str, str],
    params: Sequence[str],
    facts_fields: Mapping[str, Mapping[str, str]] | None = None,
) -> list[str]:
    """Every way ``mapping`` fails to fit the model's features and declared parameters.

    With ``facts_fields`` (facts block → {field: type}) the fields are checked too:
    they must exist, and a numeric feature must read a numeric field.
    """
    names = [f.name for f in features]
    problems = [
        f"feature `{n}` of the model has no path in the feature mapping"
        for n in names
        if n not in mapping
    ]
    problems += [
        f"feature mapping names `{n}`, which the model does not have{_hint(n, names)}"
        for n in mapping
        if n not in names
    ]
    for feat in features:
        if feat.name in mapping:
            problems += _path_problems(feat, mapping[feat.name], params, facts_fields)
    return problems


def _path_problems(
    feat: Feature,
    path: str,
    params: Sequence[str],
    facts_fields: Mapping[str, Mapping[str, str]] | None,
) -> list[str]:
    try:
        arg, fld = resolve_path(path, params)
    except ValueError as exc:
        return [f"feature `{feat.name}`: {exc}"]
    block = params[arg]
    if facts_fields is None:
        return []
    if block not in facts_fields:
        if fld is None:
            return _type_problems(feat, path, block)
        return [
            f"feature `{feat.name}`: path `{path}`: parameter {arg + 1} is `{block}`, "
            "not a facts block, so it has no fields"
        ]
    if fld is None:
        return [
            f"feature `{feat.name}`: path `{path}` names the whole facts block `{block}`; "
            "name one of its fields"
        ]
    fields = facts_fields[block]
    if fld not in fields:
        return [
            f"feature `{feat.name}`: path `{path}`: facts block `{block}` has no field "
            f"`{fld}`{_hint(fld, fields)}"
        ]
    return _type_problems(feat, path, fields[fld])


def _type_problems(feat: Feature, path: str, type_name: str) -> list[str]:
    words = type_name.replace("{", " ").split()
    base = next((w for w in words if w in NUMERIC_TYPES | {"text", "bool"}), type_name)
    if feat.kind == "numeric" and base in {"text", "bool"}:
        return [f"feature `{feat.name}` is numeric but `{path}` is {type_name}"]
    if feat.kind == "bool" and base not in {"bool", *NUMERIC_TYPES}:
        return [f"feature `{feat.name}` is bool but `{path}` is {type_name}"]
    return []


def fit_problems(
    features: Sequence[Feature],
    mapping: Mapping[str, str],
    params: Sequence[str],
    signature: ModelSignature | None = None,
) -> list[str]:
    """Mapping problems, against a declaration (a ModelSignature) when one is given."""
    if signature is None:
        return mapping_problems(features, mapping, params)
    if tuple(signature.params) != tuple(params):
        return [
            f"the model is built for parameters ({', '.join(params)}) "
            f"but is declared with ({', '.join(signature.params)})"
        ]
    return mapping_problems(features, mapping, params, signature.facts_fields or None)


def fitted_map(
    card: Sidecar,
    features: Mapping[str, str] | None,
    params: Sequence[str],
    signature: ModelSignature | None,
    problems: Sequence[str] = (),
    tolerance: float = 0.0,
) -> FeatureMap:
    """The feature map of a model whose sidecar is ``card``: ``features`` (default: the
    sidecar's own mapping) checked against the parameters and the declaration. Raises
    FitError listing the adapter's own ``problems`` and every misfit, all at once."""
    mapping = card.mapping if features is None else dict(features)
    found = [*problems, *fit_problems(card.features, mapping, params, signature)]
    if found:
        raise FitError(found)
    return FeatureMap.build(card.features, mapping, params, tolerance)


# --------------------------------------------------------------------------- encoding


@dataclass(frozen=True, slots=True)
class FeatureMap:
    """A resolved feature mapping: turns argument tuples into model rows."""

    sources: tuple[Source, ...]
    params: tuple[str, ...]

    @classmethod
    def build(
        cls,
        features: Sequence[Feature],
        mapping: Mapping[str, str],
        params: Sequence[str],
        tolerance: float = 0.0,
    ) -> FeatureMap:
        """Resolve ``mapping`` for ``features`` (in model order); FitError lists problems."""
        problems = mapping_problems(features, mapping, params)
        if problems:
            raise FitError(problems)
        sources = []
        for feat in features:
            arg, fld = resolve_path(mapping[feat.name], params)
            sources.append(Source(feat.widened(tolerance), arg, fld, mapping[feat.name]))
        return cls(tuple(sources), tuple(params))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.feature.name for s in self.sources)

    def encode(self, args: Sequence[Any]) -> tuple[list[float], list[str]]:
        """One row and the names of out-of-distribution features; raises BadInput."""
        self._check_arity(args)
        row: list[float] = []
        outside: list[str] = []
        for src in self.sources:
            try:
                value, inside = src.feature.encode(self._read(src, args))
            except BadInput as exc:
                raise BadInput(f"feature `{src.feature.name}` ({src.path}): {exc}") from None
            row.append(value)
            if not inside:
                outside.append(src.feature.name)
        return row, outside

    def encode_many(
        self, rows: Sequence[Sequence[Any]]
    ) -> tuple[npt.NDArray[np.float64], list[list[str]], list[str | None]]:
        """A 2-D array of the good rows, their out-of-distribution names, per-row errors.

        ``errors[i]`` is None for a row that encoded; the array holds only those
        rows, in order.
        """
        import numpy as np

        good: list[list[float]] = []
        outside: list[list[str]] = []
        errors: list[str | None] = []
        for args in rows:
            try:
                row, out = self.encode(args)
            except BadInput as exc:
                errors.append(str(exc))
                continue
            good.append(row)
            outside.append(out)
            errors.append(None)
        matrix = np.array(good, dtype=np.float64).reshape(len(good), len(self.sources))
        return matrix, outside, errors

    def raw_values(self, args: Sequence[Any]) -> dict[str, Any]:
        """The argument values each feature reads, before encoding, by feature name."""
        self._check_arity(args)
        return {s.feature.name: self._read(s, args) for s in self.sources}

    def _check_arity(self, args: Sequence[Any]) -> None:
        if len(args) != len(self.params):
            raise BadInput(f"the model takes {len(self.params)} argument(s), got {len(args)}")

    def _read(self, src: Source, args: Sequence[Any]) -> Any:
        arg = args[src.arg]
        if src.field is None:
            return arg
        if not isinstance(arg, Mapping):
            raise BadInput(
                f"argument {src.arg + 1} is not a mapping of fields: {type(arg).__name__}"
            )
        return arg.get(src.field)

    @property
    def mapping(self) -> dict[str, str]:
        """The feature mapping this was built from."""
        return {s.feature.name: s.path for s in self.sources}

    def fit_problems(self, signature: ModelSignature) -> list[str]:
        """How the mapping fails to fit a declaration (a ModelSignature)."""
        return fit_problems([s.feature for s in self.sources], self.mapping, self.params, signature)
