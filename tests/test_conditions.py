"""Condition trees: every kind of condition, how they combine, and what they explain."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from rules.engine import Document, Engine
from rules.loader import RulePackError, RuleSet, load_rules
from rules.schema import Localized, Rule

PACKS = Path(__file__).resolve().parent.parent / "rules" / "packs"


def rule(match: dict[str, Any], **extra: Any) -> Rule:
    return Rule.model_validate(
        {
            "id": "t.rule",
            "version": 1,
            "title": {"kk": "т", "ru": "т"},
            "author": "test",
            "created": "2026-11-01",
            "violation_type": "online_gambling",
            "legal_norm": {"kk": "н", "ru": "н"},
            "severity": "high",
            "tests": {"match": ["x"]},
            "match": match,
            **extra,
        }
    )


def hits(r: Rule, doc: Document, **kw: Any) -> list[Any]:
    rs = RuleSet(rules=[r], violation_types={"online_gambling": Localized(kk="о", ru="и")}, **kw)
    return Engine(rs, today=date(2026, 11, 22)).evaluate(doc)


def test_weights_min_score_and_threshold() -> None:
    r = rule({"keywords": {"казино": 2, "бонус": 1, "слоты": 1}, "min_score": 3}, threshold=3)
    assert hits(r, Document(text="казино и бонус"))
    assert not hits(r, Document(text="казино, казино, казино"))  # distinct terms count once
    assert not hits(r, Document(text="бонус и слоты"))


def test_all_any_not_and_explanation() -> None:
    r = rule(
        {
            "all": [
                {"any": [{"keywords": ["казино"]}, {"keywords": ["букмекер"]}]},
                {"not": {"keywords": ["полиция", "задержан"]}},
            ]
        }
    )
    found = hits(r, Document(text="Лучшее казино страны"))
    assert len(found) == 1
    ex = found[0].explanation
    assert ex["kind"] == "all" and ex["matched"]
    assert ex["children"][0]["children"][0]["spans"][0]["text"] == "казино"
    assert ex["children"][1] == {
        "kind": "not",
        "matched": True,
        "score": 0.0,
        "children": [ex["children"][1]["children"][0]],
    }
    assert not hits(r, Document(text="Полиция закрыла казино, организаторы задержаны"))


def test_any_needs_min_children() -> None:
    r = rule(
        {"any": [{"keywords": ["а1"]}, {"keywords": ["слоты"]}, {"url": ["*casino*"]}], "min": 2}
    )
    assert not hits(r, Document(url="https://x.kz/", text="слоты"))
    assert hits(r, Document(url="https://casino.example/", text="слоты"))


def test_near_counts_words_between_terms() -> None:
    r = rule({"near": ["закладка", "адрес"], "within": 3})
    assert hits(r, Document(text="Закладки: точный адрес пришлём"))
    assert not hits(r, Document(text="Закладки в книге. Потом, много позже, мы узнали адрес"))


def test_regex_reads_the_text_as_written() -> None:
    r = rule({"regex": [r"\+7\s?7\d{2}\s?\d{3}"]})
    found = hits(r, Document(text="Пишите: +7 701 234 56 78"))
    assert found and found[0].spans[0].text == "+7 701 234"


def test_domain_patterns_and_lists(tmp_path: Path) -> None:
    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "violation_types.yaml").write_text(
        (PACKS / "violation_types.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (packs / "lists").mkdir()
    (packs / "lists" / "casino.txt").write_text(
        "# known casino mirrors\nvulkan-club.com\n0.0.0.0 pinup-kz.top\n*.1xbet-mirror.*\n",
        encoding="utf-8",
    )
    pack = """\
pack: t
rules:
  - id: t.domains
    version: 1
    title: {kk: т, ru: т}
    author: test
    created: 2026-11-01
    violation_type: online_gambling
    legal_norm: {kk: н, ru: н}
    severity: high
    match:
      domain_list: [lists/casino.txt]
      domain: ["*.casino"]
    tests:
      match: ["https://mirror3.vulkan-club.com/"]
      no_match: ["https://tengrinews.kz/"]
"""
    (packs / "t.yaml").write_text(pack, encoding="utf-8")
    rs = load_rules(packs)
    engine = Engine(rs)
    for url in (
        "https://mirror3.vulkan-club.com/x",
        "http://pinup-kz.top/",
        "https://a.1xbet-mirror.net/",
        "https://best.casino/",
    ):
        assert engine.evaluate(Document(url=url)), url
    assert not engine.evaluate(Document(url="https://vulkan-club.com.kz/"))
    fp = rs.rules[0].fingerprint
    with (packs / "lists" / "casino.txt").open("a", encoding="utf-8") as fh:
        fh.write("joycasino.com\n")
    assert load_rules(packs).rules[0].fingerprint != fp  # the list is part of the logic
    with (packs / "lists" / "casino.txt").open("a", encoding="utf-8") as fh:
        fh.write("not a domain\n")
    with pytest.raises(RulePackError, match=r"casino\.txt:6: .*expected one domain per line"):
        load_rules(packs)
    (packs / "t.yaml").write_text(pack.replace("lists/casino.txt", "lists/none.txt"))
    with pytest.raises(RulePackError, match=r"t\.yaml:11: rules\[0\]\.match\.domain_list"):
        load_rules(packs)


def test_lookalike_and_signals_make_a_phishing_rule() -> None:
    r = rule(
        {
            "all": [
                {"lookalike_of": ["kaspi.kz", "egov.kz"]},
                {"signal": ["password_input", "sms_code_input"]},
            ]
        }
    )
    form = '<form action="https://collect.example/p"><input type="password" name="p"></form>'
    found = hits(r, Document(url="https://kaspi-kz.top/login", html=form))
    assert found
    leaves = found[0].explanation["children"]
    assert leaves[0]["evidence"] == [
        {"brand": "kaspi.kz", "fuzzer": "subdomain", "host": "kaspi-kz.top"}
    ]
    assert leaves[1]["evidence"][0]["signal"] == "password_input"
    assert not hits(r, Document(url="https://kaspi.kz/login", html=form))  # the brand itself
    assert not hits(r, Document(url="https://kaspi-kz.top/", html="<p>no form</p>"))


def test_image_hash_distance() -> None:
    r = rule({"image_phash": ["f0f0f0f0f0f0f0f0"], "max_distance": 4})
    assert hits(r, Document(images=[("banner.png", "f0f0f0f0f0f0f0f1")]))
    assert not hits(r, Document(images=[("other.png", "0f0f0f0f0f0f0f0f")]))


def test_paused_and_deprecated_rules_do_not_run() -> None:
    base = {"keywords": ["казино"]}
    doc = Document(text="казино")
    assert not hits(rule(base, disabled_until="2026-12-01"), doc)
    assert hits(rule(base, disabled_until="2026-11-01"), doc)
    assert not hits(rule(base, status="deprecated"), doc)
    assert not hits(rule(base, enabled=False), doc)


def test_a_tree_that_matches_any_page_is_refused() -> None:
    with pytest.raises(ValueError, match="positive condition"):
        rule({"not": {"keywords": ["новости"]}})
    with pytest.raises(ValueError, match="positive condition"):
        rule({"any": [{"not": {"keywords": ["а"]}}, {"keywords": ["б"]}]})


def test_a_real_phishing_list_loads_and_answers() -> None:
    from rules.domains import load_domain_list

    path = Path(__file__).parent / "sample_data" / "blocklists" / "phishing-domains-ACTIVE2.txt"
    domains, digest = load_domain_list(path)
    assert len(domains.domains) > 21_000 and len(digest) == 64
    assert domains.lookup("rztzfuqfqk.duckdns.org") == "rztzfuqfqk.duckdns.org"
    assert domains.lookup("login.rztzfuqfqk.duckdns.org") == "rztzfuqfqk.duckdns.org"
    assert domains.lookup("duckdns.org") is None and domains.lookup("kaspi.kz") is None
