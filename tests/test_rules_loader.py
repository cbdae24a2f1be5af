from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rules.loader import RulePackError, load_rules

PACKS = Path(__file__).resolve().parent.parent / "rules" / "packs"

GOOD_RULE = """\
pack: test
rules:
  - id: test.casino
    version: 1
    title: {kk: Казино, ru: Казино}
    violation_type: online_gambling
    legal_norm: {kk: "норма", ru: "норма"}
    severity: high
    match:
      keywords: [казино, фриспин*]
      min_score: 2
    tests:
      match: ["казино и фриспины"]
    author: analyst
    created: 2026-11-01
"""


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    d = tmp_path / "packs"
    d.mkdir()
    shutil.copy(PACKS / "violation_types.yaml", d)
    return d


def write(d: Path, name: str, text: str) -> Path:
    p = d / name
    p.write_text(text, encoding="utf-8")
    return p


def test_starter_packs_load_and_cover_every_category() -> None:
    rs = load_rules(PACKS)
    types = {r.violation_type for r in rs.rules}
    assert types == set(rs.violation_types)
    for rule in rs.rules:
        assert rule.legal_norm.kk and rule.legal_norm.ru
        assert rule.tests.match, rule.id
        # every category has a Kazakh and a Russian rule
    for vt in types:
        ids = {r.id for r in rs.rules if r.violation_type == vt}
        assert any(i.endswith(".kk") for i in ids) and any(i.endswith(".ru") for i in ids), vt


def test_defaults_are_merged_into_rules(pack_dir: Path) -> None:
    write(
        pack_dir,
        "a.yaml",
        GOOD_RULE.replace("    violation_type: online_gambling\n", "").replace(
            "pack: test\n", "pack: test\ndefaults:\n  violation_type: online_gambling\n"
        ),
    )
    rs = load_rules(pack_dir)
    assert rs.rules[0].violation_type == "online_gambling"


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        (
            GOOD_RULE.replace("    severity: high\n", "    severity: high\n    colour: red\n"),
            9,
            "rules[0].colour",
            "unknown field",
        ),
        (
            GOOD_RULE.replace(
                'legal_norm: {kk: "норма", ru: "норма"}', 'legal_norm: {kk: "норма"}'
            ),
            7,
            "rules[0].legal_norm.ru",
            "Field required",
        ),
        (
            GOOD_RULE.replace('    legal_norm: {kk: "норма", ru: "норма"}\n', ""),
            3,
            "rules[0].legal_norm",
            "Field required",
        ),
        (
            GOOD_RULE.replace("keywords: [казино, фриспин*]", "regex: ['(unclosed']"),
            10,
            "rules[0].match.regex",
            "does not compile",
        ),
        (
            GOOD_RULE.replace("violation_type: online_gambling", "violation_type: casino"),
            6,
            "rules[0].violation_type",
            "unknown violation type 'casino'",
        ),
        (
            GOOD_RULE.replace("severity: high", "severity: urgent"),
            8,
            "rules[0].severity",
            "Input should be",
        ),
        (
            GOOD_RULE.replace("    version: 1\n", "    version: 1\n    version: 2\n"),
            5,
            "rules[0].version",
            "duplicate key",
        ),
        (
            GOOD_RULE.replace("keywords: [казино, фриспин*]", "keywords: [казино, фриспин*"),
            11,
            "",
            "invalid YAML",
        ),
    ],
)
def test_errors_name_file_line_and_field(
    pack_dir: Path, text: str, line: int, field: str, message: str
) -> None:
    path = write(pack_dir, "bad.yaml", text)
    with pytest.raises(RulePackError) as info:
        load_rules(pack_dir)
    err = info.value
    assert err.path == path
    assert err.line == line, str(err)
    assert err.field == field, str(err)
    assert message in err.message
    assert str(err).startswith(f"{path}:{line}: ")


def test_duplicate_rule_id_across_packs_names_the_second(pack_dir: Path) -> None:
    write(pack_dir, "a.yaml", GOOD_RULE)
    second = write(pack_dir, "b.yaml", GOOD_RULE.replace("pack: test", "pack: other"))
    with pytest.raises(RulePackError, match=r"duplicate rule id 'test\.casino'") as info:
        load_rules(pack_dir)
    assert info.value.path == second and info.value.line == 3


def test_one_bad_pack_yields_no_rule_set_at_all(pack_dir: Path) -> None:
    write(pack_dir, "a.yaml", GOOD_RULE)
    write(
        pack_dir,
        "z.yaml",
        GOOD_RULE.replace("pack: test", "pack: z")
        .replace("test.casino", "z.casino")
        .replace("severity: high", "severity: ?"),
    )
    with pytest.raises(RulePackError):
        load_rules(pack_dir)


def test_missing_catalog_and_empty_dir(tmp_path: Path) -> None:
    with pytest.raises(RulePackError, match="violation-type catalog is missing"):
        load_rules(tmp_path)
    shutil.copy(PACKS / "violation_types.yaml", tmp_path)
    with pytest.raises(RulePackError, match="no rule packs"):
        load_rules(tmp_path)


def test_fingerprint_changes_with_logic_not_with_title(pack_dir: Path) -> None:
    write(pack_dir, "a.yaml", GOOD_RULE)
    fp = load_rules(pack_dir).rules[0].fingerprint
    write(pack_dir, "a.yaml", GOOD_RULE.replace("{kk: Казино, ru: Казино}", "{kk: Ойын, ru: Игра}"))
    assert load_rules(pack_dir).rules[0].fingerprint == fp
    write(pack_dir, "a.yaml", GOOD_RULE.replace("min_score: 2", "min_score: 1"))
    assert load_rules(pack_dir).rules[0].fingerprint != fp
