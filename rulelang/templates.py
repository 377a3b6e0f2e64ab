"""Stage 3: AST -> AST with ``import`` resolved and every ``use`` expanded.

``import "pricing"`` reads ``stdlib_rules/pricing.rule``; ``import "./lib.rule"``
reads a file beside the importing one. A ``use`` copies the template's rules and
constraints, substituting arguments for parameters. The copies keep their spans
in the template file; the arguments keep theirs at the use site.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rulelang import nodes as n
from rulelang.errors import Diagnostic, ParseError, did_you_mean
from rulelang.paths import stdlib_dir
from rulelang.source import SourceFile
from rulelang.transformer import parse


@dataclass(frozen=True, slots=True)
class Expanded:
    """A module with templates applied, and each use with its template (for checks)."""

    module: n.Module
    uses: tuple[tuple[n.Use, n.Template], ...]


def expand(module: n.Module, library: Path | None = None) -> Expanded:
    """Resolve imports and expand uses; raise ParseError listing every problem.

    ``library`` is where `import "NAME"` looks (default: the standard library).
    """
    problems: list[Diagnostic] = []
    templates = _collect_templates(module, problems, set(), library or stdlib_dir())
    items: list[n.Item] = []
    uses: list[tuple[n.Use, n.Template]] = []
    for item in module.items:
        if isinstance(item, (n.Import, n.Template)):
            continue
        if isinstance(item, n.Use):
            template = templates.get(item.template)
            if template is None:
                problems.append(
                    Diagnostic(
                        "E101",
                        f"unknown template `{item.template}`",
                        item.span,
                        did_you_mean(item.template, templates),
                    )
                )
                continue
            expanded = _apply(item, template, problems)
            items.extend(expanded)
            uses.append((item, template))
            continue
        items.append(item)
    if problems:
        raise ParseError(problems)
    return Expanded(dataclasses.replace(module, items=tuple(items)), tuple(uses))


def _collect_templates(
    module: n.Module, problems: list[Diagnostic], seen: set[str], library: Path
) -> dict[str, n.Template]:
    found: dict[str, n.Template] = {}
    for item in module.items:
        if isinstance(item, n.Template):
            _add(found, item, problems)
        elif isinstance(item, n.Import):
            for template in _import(item, problems, seen, library).values():
                _add(found, template, problems)
    return found


def _add(found: dict[str, n.Template], template: n.Template, problems: list[Diagnostic]) -> None:
    if template.name in found:
        problems.append(
            Diagnostic(
                "E102",
                f"template `{template.name}` is defined twice",
                template.span,
                "rename one of them",
            )
        )
    found[template.name] = template


def _import(
    item: n.Import, problems: list[Diagnostic], seen: set[str], library: Path
) -> dict[str, n.Template]:
    path = resolve_import(item.path, item.span.file.name, library)
    if path is None:
        problems.append(
            Diagnostic(
                "E103",
                f"cannot find `{item.path}` to import",
                item.span,
                f"standard library files: {', '.join(stdlib_names(library))}",
            )
        )
        return {}
    key = str(path.resolve())
    if key in seen:
        return {}
    seen.add(key)
    try:
        imported = parse(SourceFile.read(path))
    except ParseError as exc:
        problems.extend(exc.diagnostics)
        return {}
    for other in imported.items:
        if not isinstance(other, (n.Template, n.Import)):
            problems.append(
                Diagnostic(
                    "E104",
                    "an imported file may hold only templates and imports",
                    other.span,
                    f"imported by {item.span.file.name}",
                )
            )
    return _collect_templates(imported, problems, seen, library)


def resolve_import(name: str, importer: str, library: Path | None = None) -> Path | None:
    """A stdlib name (``pricing``, in ``library``) or a path relative to the importing file."""
    if "/" not in name and not name.endswith(".rule"):
        candidate = (library or stdlib_dir()) / f"{name}.rule"
        return candidate if candidate.exists() else None
    candidate = Path(importer).parent / name
    return candidate if candidate.exists() else None


def stdlib_names(library: Path | None = None) -> list[str]:
    return sorted(p.stem for p in (library or stdlib_dir()).glob("*.rule"))


def _apply(use: n.Use, template: n.Template, problems: list[Diagnostic]) -> list[n.Item]:
    if len(use.args) != len(template.params):
        names = ", ".join(p.name for p in template.params)
        problems.append(
            Diagnostic(
                "E105",
                f"template `{template.name}` takes "
                f"{len(template.params)} arguments, got {len(use.args)}",
                use.span,
                f"`{template.name}({names})`",
            )
        )
        return []
    mapping = {p.name: a for p, a in zip(template.params, use.args, strict=True)}
    single = len(template.body) == 1
    out: list[n.Item] = []
    for item in template.body:
        name = use.alias if single else f"{use.alias}_{item.name}"
        body = _substitute(item, mapping, problems)
        out.append(dataclasses.replace(body, name=name))
    return out


def _substitute(node: Any, mapping: dict[str, n.Expr], problems: list[Diagnostic]) -> Any:
    if isinstance(node, n.Name) and node.parts[0] in mapping:
        return _replace_name(node, mapping[node.parts[0]], problems)
    if isinstance(node, tuple):
        return tuple(_substitute(x, mapping, problems) for x in node)
    if not dataclasses.is_dataclass(node) or isinstance(node, type):
        return node
    changes = {}
    for f in dataclasses.fields(node):
        if f.name in ("span", "name_span"):
            continue
        value = getattr(node, f.name)
        new = _substitute(value, mapping, problems)
        if new is not value:
            changes[f.name] = new
    return dataclasses.replace(node, **changes) if changes else node


def _replace_name(node: n.Name, arg: n.Expr, problems: list[Diagnostic]) -> n.Expr:
    if len(node.parts) == 1:
        return arg
    if isinstance(arg, n.Name):
        return n.Name(arg.parts + node.parts[1:], arg.span)
    problems.append(
        Diagnostic(
            "E106",
            f"`{node.dotted}` needs a facts name as argument",
            arg.span,
            "pass a facts block name here",
        )
    )
    return node
