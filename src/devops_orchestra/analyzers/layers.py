"""Layering rules from the `architecture:` section of devops_orchestra.yaml, read on their own.

The rest of that file belongs to other agents; only this section is read here, tolerantly: anything
malformed becomes a warning naming the file and line, and the analysis goes on without the rules.

    architecture:
      layers:              # highest first: a layer may import the layers below it, never those above
        api: [src/shop/api]              # paths (directories or files) relative to the analysed directory
        services: shop.services          # or dotted Python module prefixes
        domain: [src/shop/domain]
      forbid:              # more rules, beyond the order
        - {from: domain, to: services}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

CONFIG_NAMES = ("devops_orchestra.yaml", "devops_orchestra.yml")


@dataclass
class LayerRules:
    """The layers of the code, highest first, and the imports between them that are forbidden."""

    source: str  # the config file, relative to the analysed directory
    layers: list[tuple[str, list[str]]] = field(default_factory=list)  # (name, patterns), highest first
    forbidden: set[tuple[str, str]] = field(default_factory=set)  # (from layer, to layer)

    def layer_of(self, path: str, module: str) -> str | None:
        """The layer a file (by path or dotted module name) belongs to, or None."""
        for name, patterns in self.layers:
            for pattern in patterns:
                p = pattern.strip("/")
                if path == p or path.startswith(p + "/") or module == pattern or module.startswith(pattern + "."):
                    return name
        return None

    def violation(self, source: str, target: str) -> str | None:
        """Why an import from layer source into layer target breaks the rules, or None."""
        if source == target:
            return None
        if (source, target) in self.forbidden:
            return f"the rule in {self.source} forbids {source} importing {target}"
        order = [name for name, _ in self.layers]
        if order.index(target) < order.index(source):
            return f"{target} is a higher layer than {source} in {self.source}"
        return None


def load_rules(base: Path) -> tuple[LayerRules | None, list[str]]:
    """The layering rules in base's devops_orchestra.yaml, if it has any; warnings for what is malformed."""
    for name in CONFIG_NAMES:
        path = base / name
        if path.is_file():
            break
    else:
        return None, []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{name}: could not read it ({exc}); layering rules not checked"]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return None, [f"{name}:{line}: not valid YAML ({getattr(exc, 'problem', exc)}); layering rules not checked"]
    section = data.get("architecture") if isinstance(data, dict) else None
    if section is None:
        return None, []
    where = f"{name}: architecture"
    if not isinstance(section, dict):
        return None, [f"{where} should be a mapping with `layers` (and optionally `forbid`); rules not checked"]
    rules = LayerRules(source=name)
    warnings: list[str] = []
    layers = section.get("layers") or {}
    items = layers.items() if isinstance(layers, dict) else [
        next(iter(d.items())) for d in layers if isinstance(d, dict) and len(d) == 1
    ] if isinstance(layers, list) else []
    for layer, patterns in items:
        values = [patterns] if isinstance(patterns, str) else patterns if isinstance(patterns, list) else None
        if not values or not all(isinstance(v, str) and v.strip() for v in values):
            warnings.append(f"{where}.layers.{layer}: give a path or a list of paths/modules; layer ignored")
            continue
        rules.layers.append((str(layer), values))
    if layers and not rules.layers:
        warnings.append(f"{where}.layers: expected a mapping of layer name to paths, highest layer first")
    names = {n for n, _ in rules.layers}
    for rule in section.get("forbid") or []:
        pair = (rule.get("from"), rule.get("to")) if isinstance(rule, dict) else (None, None)
        if pair[0] in names and pair[1] in names:
            rules.forbidden.add((str(pair[0]), str(pair[1])))
        else:
            warnings.append(f"{where}.forbid: {rule!r} should be {{from: LAYER, to: LAYER}} with layers named in "
                            f"`layers` ({', '.join(sorted(names)) or 'none'}); rule ignored")
    return (rules if rules.layers else None), warnings
