"""Load and validate rule packs, all or nothing.

Errors name the file, line and field (``gambling.yaml:12: rules[1].legal_norm.kk: ...``).
A directory with any invalid pack yields no rule set at all, so nothing is ever
evaluated with a half-loaded pack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kuzet.yamlfile import Loc, YamlFileError, field_name, line_for, parse, raise_validation
from rules.domains import DomainListError, DomainSet, load_domain_list
from rules.schema import DomainCondition, Localized, Pack, Rule, ViolationTypes

VIOLATION_TYPES_FILE = "violation_types.yaml"


class RulePackError(YamlFileError):
    """An invalid rule file; ``str()`` is the one message shown to the user."""


@dataclass
class RuleSet:
    rules: list[Rule]
    violation_types: dict[str, Localized]
    sources: dict[str, Path] = field(default_factory=dict)
    domain_lists: dict[str, DomainSet] = field(default_factory=dict)

    @property
    def enabled(self) -> list[Rule]:
        return [r for r in self.rules if r.enabled]

    def by_id(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


def _parse(path: Path) -> tuple[Any, dict[Loc, int]]:
    return parse(path, RulePackError)


def _raise_validation(path: Path, exc: ValidationError, lines: dict[Loc, int]) -> None:
    raise_validation(path, exc, lines, RulePackError)


def load_violation_types(path: Path) -> dict[str, Localized]:
    data, lines = _parse(path)
    try:
        return ViolationTypes.model_validate(data).violation_types
    except ValidationError as exc:
        _raise_validation(path, exc, lines)
        raise  # unreachable


def load_pack(path: Path, violation_types: dict[str, Localized]) -> Pack:
    return _read_pack(path, violation_types)[0]


def _read_pack(path: Path, violation_types: dict[str, Localized]) -> tuple[Pack, dict[Loc, int]]:
    """A validated pack and the line of every key in its file (for later errors)."""
    data, lines = _parse(path)
    if not isinstance(data, dict):
        raise RulePackError(
            path, 1, "", "a pack must be a mapping with 'pack' and 'rules'", code="rules.not_a_pack"
        )
    defaults = data.get("defaults") or {}
    raw_rules = data.get("rules") if isinstance(data.get("rules"), list) else []
    if isinstance(defaults, dict) and isinstance(data.get("rules"), list):
        data["rules"] = [
            {**defaults, **rule} if isinstance(rule, dict) else rule for rule in data["rules"]
        ]
    try:
        pack = Pack.model_validate(data)
    except ValidationError as exc:
        _raise_validation(path, exc, lines)
        raise
    for i, rule in enumerate(pack.rules):
        if rule.violation_type not in violation_types:
            loc: Loc = ("rules", i, "violation_type")
            known = ", ".join(sorted(violation_types))
            # Point at the rule's own field, or at the default it inherited.
            own = isinstance(raw_rules[i], dict) and "violation_type" in raw_rules[i]
            line = line_for(loc if own else ("defaults", "violation_type"), lines)
            raise RulePackError(
                path,
                line,
                field_name(loc),
                f"unknown violation type {rule.violation_type!r} (known: {known})",
                code="rules.unknown_violation_type",
                value=rule.violation_type,
                known=known,
            )
    return pack, lines


def _load_lists(
    path: Path, lines: dict[Loc, int], pack: Pack, cache: dict[str, tuple[DomainSet, str]]
) -> None:
    """Read every domain-list file a pack's rules name (relative to the pack)."""
    for i, rule in enumerate(pack.rules):
        digests: dict[str, str] = {}
        for node in rule.nodes():
            if not isinstance(node, DomainCondition):
                continue
            resolved = []
            for name in node.domain_list:
                file = (path.parent / name).resolve()
                key = str(file)
                if key not in cache:
                    if not file.is_file():
                        loc: Loc = ("rules", i, "match")
                        raise RulePackError(
                            path, line_for(loc, lines), f"rules[{i}].match.domain_list",
                            f"domain list {name!r} not found (looked for {file})",
                            code="rules.domain_list_missing", name=name, file=file,
                        )  # fmt: skip
                    try:
                        cache[key] = load_domain_list(file)
                    except DomainListError as exc:
                        message = str(exc).split(": ", 2)[-1]
                        raise RulePackError(exc.path, exc.line, "", message) from exc
                resolved.append(key)
                digests[name] = cache[key][1]
            node._resolved = resolved
        rule.file_digests = digests


def load_pack_set(path: Path, violation_types: dict[str, Localized]) -> tuple[str, RuleSet]:
    """One pack file on its own (with its domain lists) as a rule set: for backtests."""
    pack, lines = _read_pack(path, violation_types)
    lists: dict[str, tuple[DomainSet, str]] = {}
    _load_lists(path, lines, pack, lists)
    return pack.pack, _rule_set(
        pack.rules, violation_types, {r.id: path for r in pack.rules}, lists
    )


def _rule_set(
    rules: list[Rule],
    violation_types: dict[str, Localized],
    sources: dict[str, Path],
    lists: dict[str, tuple[DomainSet, str]],
) -> RuleSet:
    domain_lists = {key: domains for key, (domains, _digest) in lists.items()}
    return RuleSet(rules, violation_types, sources, domain_lists)


def load_rules(directory: Path, only: Sequence[str] | None = None) -> RuleSet:
    """Every ``*.yaml`` pack in ``directory``; raises :class:`RulePackError` on the first error."""
    directory = Path(directory)
    vt_path = directory / VIOLATION_TYPES_FILE
    if not vt_path.is_file():
        raise RulePackError(
            vt_path, None, "", "the violation-type catalog is missing", code="rules.no_catalog"
        )
    violation_types = load_violation_types(vt_path)
    rules: list[Rule] = []
    sources: dict[str, Path] = {}
    lists: dict[str, tuple[DomainSet, str]] = {}
    paths = sorted(p for p in directory.glob("*.yaml") if p.name != VIOLATION_TYPES_FILE)
    if not paths:
        raise RulePackError(
            directory, None, "", "no rule packs (*.yaml) found", code="rules.no_packs"
        )
    for path in paths:
        pack, lines = _read_pack(path, violation_types)
        if only and pack.pack not in only:
            continue
        _load_lists(path, lines, pack, lists)
        for idx, rule in enumerate(pack.rules):
            if rule.id in sources:
                raise RulePackError(
                    path,
                    line_for(("rules", idx, "id"), lines),
                    f"rules[{idx}].id",
                    f"duplicate rule id {rule.id!r} (also in {sources[rule.id]})",
                    code="rules.duplicate_id",
                    id=rule.id,
                    other=sources[rule.id],
                )
            sources[rule.id] = path
            rules.append(rule)
    return _rule_set(rules, violation_types, sources, lists)
