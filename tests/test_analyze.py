from __future__ import annotations

import zlib

import pytest
from sqlalchemy import select

from kuzet.models import (
    AnalysisStatus,
    Capture,
    CaptureStatus,
    Detection,
    FetchStatus,
    Page,
    PageBody,
)
from rules.analyze import Analyzer
from rules.loader import load_rules
from tests.crawl_helpers import seed_run
from tests.workers import all_at_once

CASINO = "<title>Бонусы</title><p>Онлайн-казино: бонус на первый депозит, фриспины и джекпот!</p>"
BOTH = (
    "<title>Vulkan</title><p>Онлайн-казино: бонус на первый депозит, фриспины и джекпот! "
    "Бірінші депозитке бонус, ұтысты шығару, промокод.</p>"
)
NEWS = "<html lang=ru><title>Новости</title><p>Полиция закрыла онлайн-казино в Алматы.</p></html>"


def add_page(s, sid, rid, url, html, *, charset="utf-8", encoding="utf-8", body=True):
    page = Page(
        source_id=sid,
        crawl_run_id=rid,
        url=url,
        fetch_status=FetchStatus.OK,
        http_status=200,
        charset=charset,
        content_sha256=str(hash(url)).ljust(64, "0")[:64],
        analysis_status=AnalysisStatus.PENDING,
    )
    if body:
        page.body = PageBody(data=zlib.compress(html.encode(encoding)))
    s.add(page)
    s.flush()
    return page.id


def test_flagged_pages_get_detections_and_one_capture(settings, db) -> None:
    with db.session() as s:
        sid, rid = seed_run(s)
        casino = add_page(s, sid, rid, "http://127.0.0.1:1/c", CASINO)
        both = add_page(s, sid, rid, "http://127.0.0.1:1/v", BOTH)
        news = add_page(s, sid, rid, "http://127.0.0.1:1/n", NEWS)
    summary = Analyzer(db, load_rules(settings.rules_dir)).drain()
    assert summary.pages == 3 and summary.failed == 0 and summary.captures == 2
    with db.session() as s:
        det = s.scalars(
            select(Detection).where(Detection.page_id == casino, Detection.rule_id.endswith(".ru"))
        ).one()
        assert det.rule_id == "gambling.casino-promo.ru" and det.violation_type == "online_gambling"
        assert det.capture_id is not None
        assert (
            det.legal_norm["kk"]
            and det.violation_type_title["ru"]
            and len(det.rule_fingerprint) == 64
        )
        assert {"онлайн-казино", "фриспин*", "джекпот"} <= {sp["term"] for sp in det.spans}
        page = s.get(Page, casino)
        for sp in det.spans:
            source = page.text if sp["scope"] == "text" else page.title
            assert source[sp["start"] : sp["end"]] == sp["text"]
        assert page.analysis_status == AnalysisStatus.DONE and page.language == "ru"
        two = s.scalars(select(Detection).where(Detection.page_id == both)).all()
        assert {d.rule_id for d in two} == {"gambling.casino-promo.ru", "gambling.casino-promo.kk"}
        assert len({d.capture_id for d in two}) == 1
        cap = s.get(Capture, two[0].capture_id)
        assert cap.status == CaptureStatus.QUEUED and cap.url == "http://127.0.0.1:1/v"
        assert s.scalars(select(Detection).where(Detection.page_id == news)).all() == []
        assert s.get(Page, news).title == "Новости"
    assert Analyzer(db, load_rules(settings.rules_dir)).drain().pages == 0  # nothing twice


def test_lying_charset_is_decoded_right_and_flagged(settings, db) -> None:
    with db.session() as s:
        sid, rid = seed_run(s)
        pid = add_page(
            s,
            sid,
            rid,
            "http://127.0.0.1:1/k",
            CASINO.replace("Бонусы", "Бонусы недели"),
            charset="windows-1251",
            encoding="koi8-r",
        )
    Analyzer(db, load_rules(settings.rules_dir)).drain()
    with db.session() as s:
        page = s.get(Page, pid)
        assert page.encoding == "koi8-r" and page.title == "Бонусы недели"
        assert s.scalars(select(Detection).where(Detection.page_id == pid)).all()


def test_a_page_that_cannot_be_analysed_is_marked_failed(settings, db) -> None:
    with db.session() as s:
        sid, rid = seed_run(s)
        pid = add_page(s, sid, rid, "http://127.0.0.1:1/x", "", body=False)
    summary = Analyzer(db, load_rules(settings.rules_dir)).drain()
    assert summary.failed == 1
    with db.session() as s:
        page = s.get(Page, pid)
        assert (
            page.analysis_status == AnalysisStatus.FAILED
            and "no stored body" in page.analysis_error
        )


def test_detection_keeps_its_explanation(settings, db) -> None:
    with db.session() as s:
        sid, rid = seed_run(s)
        casino = add_page(s, sid, rid, "http://127.0.0.1:1/c", CASINO)
    Analyzer(db, load_rules(settings.rules_dir)).drain()
    with db.session() as s:
        det = s.scalars(
            select(Detection).where(Detection.page_id == casino, Detection.rule_id.endswith(".ru"))
        ).one()
        assert det.explanation["kind"] == "keywords" and det.explanation["matched"]
        assert "джекпот" in det.explanation["terms"]


def test_a_broken_reload_keeps_the_previous_rules(settings, db, tmp_path) -> None:
    import shutil

    packs = tmp_path / "packs"
    shutil.copytree(settings.rules_dir, packs)
    analyzer = Analyzer(db, load_rules(packs), rules_dir=packs)
    before = len(analyzer.ruleset.rules)
    gambling = packs / "gambling.yaml"
    gambling.write_text(gambling.read_text(encoding="utf-8") + "  - id: [broken\n")
    assert analyzer.reload_if_changed() is False
    assert "gambling.yaml" in (analyzer.reload_error or "")
    assert len(analyzer.ruleset.rules) == before
    with db.session() as s:
        sid, rid = seed_run(s)
        add_page(s, sid, rid, "http://127.0.0.1:1/c", CASINO)
    assert analyzer.drain().detections >= 1  # still analysing with the previous rules
    (packs / "drugs.yaml").unlink()
    shutil.copy(settings.rules_dir / "gambling.yaml", gambling)
    assert analyzer.reload_if_changed() is True
    assert analyzer.reload_error is None
    assert not any(r.violation_type == "drug_sales" for r in analyzer.ruleset.rules)


@pytest.mark.both_databases
def test_concurrent_analysers_record_each_page_once(settings, db) -> None:
    # Analysers on several hosts drain the same table: each flagged page gets one set of
    # detections and one capture, however their batches interleave.
    with db.session() as s:
        sid, rid = seed_run(s)
        for i in range(40):
            add_page(s, sid, rid, f"http://127.0.0.1:1/{i}", CASINO if i % 2 else NEWS)
    rules = load_rules(settings.rules_dir)
    analysers = [Analyzer(db, rules, batch_size=4) for _ in range(3)]
    totals = all_at_once([lambda a=a: a.drain().pages for a in analysers])
    assert sum(totals) == 40  # every page read by exactly one analyser
    with db.session() as s:
        captures = s.scalars(select(Capture.page_id)).all()
        assert len(captures) == 20 and len(set(captures)) == 20
        ru = s.scalars(
            select(Detection.page_id).where(Detection.rule_id == "gambling.casino-promo.ru")
        ).all()
        assert len(ru) == 20 and len(set(ru)) == 20
        assert set(s.scalars(select(Page.analysis_status))) == {AnalysisStatus.DONE}
