"""Hostile pages against the real workers: the capture worker in real Chromium, the
extraction and the rule analysis. Each page is built to break a worker; every test checks
that the worker recorded what happened and went on."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace

import pytest

from evidence.capture import CaptureOptions, PlaywrightBackend
from evidence.jobs import run_captures
from evidence.store import LocalArtifactStore
from evidence.warc import validate_wacz
from kuzet.models import (
    Capture,
    CaptureStatus,
    Detection,
    FetchStatus,
    Page,
)
from tests.factories import watched_page
from tests.webserver import WebServer, html

PHRASE = "онлайн-казино"
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="200">'
    "<title>Ставки</title>"
    f'<text x="10" y="50" font-size="20">Лучшее {PHRASE} с бонусом</text></svg>'
)
XML = f'<?xml version="1.0"?><offers><offer>Лучшее {PHRASE} с бонусом</offer></offers>'
NO_BODY = (
    f"<p>Лучшее {PHRASE} с бонусом</p>"
    "<script>document.documentElement.removeChild(document.body)</script>"
)
HIDDEN_FIRST = f"<div style='display:none'>{PHRASE}</div><p>Лучшее {PHRASE} с бонусом</p>"
NO_ROOT = f"<p>Лучшее {PHRASE}</p><script>document.documentElement.remove()</script>"


def _typed(media_type: str, body: str):
    return lambda path, h: (200, {"Content-Type": media_type}, body.encode())


ROUTES = {
    "/help.html": html(f"<p>Лучшее {PHRASE}</p>", title="--help"),
    "/output.html": html(f"<p>Лучшее {PHRASE}</p>", title="-o /tmp/x"),
    "/after.html": html(f"<p>Лучшее {PHRASE}</p>", title="Келесі бет"),
    "/image.svg": _typed("image/svg+xml", SVG),
    "/offers.xml": _typed("application/xml", XML),
    "/no-body.html": html(NO_BODY),
    "/no-root.html": html(NO_ROOT),
    "/hidden-first.html": html(HIDDEN_FIRST),
}


@pytest.fixture(scope="module")
def site():
    with WebServer(ROUTES) as server:
        yield server


def queue(db, url: str, passage: str = PHRASE) -> int:
    """A capture of a page flagged on ``passage``, the way the analysis queues one; its
    source allows private addresses (the test site is on 127.0.0.1)."""
    with db.session() as s:
        page = watched_page(s, url, source="hostile")
        span = {"scope": "text", "start": 0, "end": len(passage), "text": passage}
        s.add(
            Detection(
                page_id=page.id,
                rule_id="gambling.casino.ru",
                rule_version=1,
                rule_fingerprint="f" * 64,
                violation_type="online_gambling",
                legal_norm={"ru": "норма"},
                severity="high",
                score=1.0,
                spans=[{**span, "term": "казино"}],
            )
        )
        cap = Capture(page_id=page.id, url=url)
        s.add(cap)
        s.flush()
        return cap.id


def _pages_jsonl(settings, cap: Capture) -> list[dict]:
    data = LocalArtifactStore(settings.evidence_dir).open_bytes(cap.artifact("wacz").sha256)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [json.loads(line) for line in z.read("pages/pages.jsonl").splitlines()]


def test_titles_that_look_like_options_are_captured_and_the_worker_goes_on(
    settings, db, site, chromium, tmp_path
) -> None:
    ids = [queue(db, site.url + p) for p in ("/help.html", "/output.html", "/after.html")]
    summary = run_captures(replace(settings, capture_concurrency=1), db, ids)
    assert (summary.succeeded, summary.failed) == (3, 0)
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        caps = [s.get(Capture, i) for i in ids]
        assert [c.status for c in caps] == [CaptureStatus.SUCCEEDED] * 3
        titles = [c.meta["title"] for c in caps]
        assert titles == ["--help", "-o /tmp/x", "Келесі бет"]
        for cap, title in zip(caps, titles, strict=True):
            _, page = _pages_jsonl(settings, cap)
            assert (page["url"], page["title"]) == (cap.url, title)
            assert not [n for n in cap.meta["notes"] if "WACZ" in n]
            path = tmp_path / f"{cap.id}.wacz"
            path.write_bytes(store.open_bytes(cap.artifact("wacz").sha256))
            assert validate_wacz(path)[0]


@pytest.mark.parametrize(
    ("path", "outlined"),
    [
        ("/image.svg", True),
        ("/offers.xml", True),  # shown through the browser's XML viewer
        ("/no-body.html", False),
        ("/hidden-first.html", True),  # the shown copy is outlined, not the hidden one
    ],
)
def test_documents_without_a_body_are_captured(settings, db, site, chromium, path, outlined):
    cid = queue(db, site.url + path)
    summary = run_captures(settings, db, [cid])
    assert summary.succeeded == 1, summary
    store = LocalArtifactStore(settings.evidence_dir)
    with db.session() as s:
        cap = s.get(Capture, cid)
        assert cap.status == CaptureStatus.SUCCEEDED, cap.error
        assert store.open_bytes(cap.artifact("screenshot_full").sha256).startswith(b"\x89PNG")
        assert cap.meta["page_height"] > 0
        assert cap.meta["highlight"] == {"passages": [PHRASE], "found": [outlined]}
        if outlined:
            assert cap.artifact("screenshot_highlighted") is not None


def test_a_document_without_even_a_root_element_is_captured(settings, db, site, chromium):
    cid = queue(db, site.url + "/no-root.html")
    after = queue(db, site.url + "/after.html")
    summary = run_captures(replace(settings, capture_concurrency=1), db, [cid, after])
    assert (summary.succeeded, summary.failed) == (2, 0)
    with db.session() as s:
        cap = s.get(Capture, cid)
        assert cap.status == CaptureStatus.SUCCEEDED, cap.error
        assert cap.meta["page_height"] == 0  # nothing left to measure, and so recorded
        assert cap.meta["highlight"] == {"passages": [PHRASE], "found": [False]}
        assert cap.artifact("wacz") is not None
        assert s.get(Capture, after).status == CaptureStatus.SUCCEEDED


class _ExitingLibrary(PlaywrightBackend):
    """The real backend, with library code that ends in ``SystemExit`` on one page (as a
    command-line entry point called in-process does on an argument it refuses)."""

    async def capture(self, url, options=None):
        out = await super().capture(url, options or CaptureOptions())
        if url.endswith("/help.html"):
            raise SystemExit(2)
        return out


class _UnstorableOutput(PlaywrightBackend):
    """The real backend, whose output for one page cannot be written to the manifest."""

    async def capture(self, url, options=None):
        out = await super().capture(url, options or CaptureOptions())
        if url.endswith("/help.html"):
            out.metadata["unserialisable"] = {1, 2}
        return out


@pytest.mark.parametrize(
    ("backend", "reason"),
    [(_ExitingLibrary, "SystemExit"), (_UnstorableOutput, "could not store")],
)
def test_any_failure_of_a_capture_is_recorded_and_the_worker_goes_on(
    settings, db, site, chromium, backend, reason
) -> None:
    bad = queue(db, site.url + "/help.html")
    after = queue(db, site.url + "/after.html")
    one = replace(settings, capture_concurrency=1)
    summary = run_captures(one, db, [bad, after], backend_factory=backend)
    assert (summary.succeeded, summary.failed) == (1, 1)
    with db.session() as s:
        cap = s.get(Capture, bad)
        assert cap.status == CaptureStatus.FAILED and reason in cap.error
        assert s.get(Capture, after).status == CaptureStatus.SUCCEEDED


def _stored_page(db, url: str, html_text: str) -> int:
    import zlib

    from kuzet.models import AnalysisStatus, PageBody
    from tests.crawl_helpers import seed_run

    with db.session() as s:
        sid, rid = seed_run(s, url)
        page = Page(
            source_id=sid,
            crawl_run_id=rid,
            url=url,
            fetch_status=FetchStatus.OK,
            http_status=200,
            charset="utf-8",
            content_sha256="0" * 64,
            analysis_status=AnalysisStatus.PENDING,
        )
        page.body = PageBody(data=zlib.compress(html_text.encode()))
        s.add(page)
        s.flush()
        return page.id


PROMO = "Онлайн-казино: бонус на первый депозит, фриспины и джекпот!"


def test_a_phrase_nested_5000_elements_deep_is_flagged(settings, db) -> None:
    from sqlalchemy import select

    from rules.analyze import Analyzer
    from rules.loader import load_rules

    deep = "<div>" * 5000 + f"<p>{PROMO}</p>" + "</div>" * 5000
    html_text = f"<html><head><title>Жаңалықтар</title></head><body>{deep}</body></html>"
    pid = _stored_page(db, "http://127.0.0.1:1/deep.html", html_text)
    summary = Analyzer(db, load_rules(settings.rules_dir)).drain()
    assert (summary.pages, summary.failed, summary.captures) == (1, 0, 1)
    with db.session() as s:
        page = s.get(Page, pid)
        assert PROMO in page.text
        assert page.meta["extraction"]["method"] == "full_text"
        rules = s.scalars(select(Detection.rule_id).where(Detection.page_id == pid)).all()
        assert "gambling.casino-promo.ru" in rules


CATASTROPHIC_PACK = """\
pack: hostile
rules:
  - id: hostile.backtracking
    version: 1
    title: {kk: Қайталау, ru: Повтор}
    violation_type: online_gambling
    legal_norm: {kk: "норма", ru: "норма"}
    severity: high
    match:
      regex: ['(a+)+$']
    tests:
      match: ["baaa"]
    author: analyst
    created: 2026-11-01
  - id: hostile.phone
    version: 1
    title: {kk: Телефон, ru: Телефон}
    violation_type: online_gambling
    legal_norm: {kk: "норма", ru: "норма"}
    severity: high
    match:
      all:
        - regex: ['\\+7\\s?7\\d{2}\\s?\\d{3}']
        - keywords: [казино]
    tests:
      match: ["казино: +7 777 123"]
    author: analyst
    created: 2026-11-01
  - id: hostile.either
    version: 1
    title: {kk: Не, ru: Или}
    violation_type: online_gambling
    legal_norm: {kk: "норма", ru: "норма"}
    severity: high
    match:
      any:
        - regex: ['(a+)+$']
        - keywords: [казино]
    tests:
      match: ["казино"]
    author: analyst
    created: 2026-11-01
"""


def test_a_catastrophic_rule_regex_is_stopped_recorded_and_the_other_rules_hit(
    settings, db, tmp_path
) -> None:
    import shutil

    from sqlalchemy import select

    from rules.analyze import Analyzer
    from rules.loader import load_rules

    packs = tmp_path / "packs"
    shutil.copytree(settings.rules_dir, packs)
    (packs / "hostile.yaml").write_text(CATASTROPHIC_PACK, "utf-8")
    text = f"{PROMO} Звоните: +7 777 123 45 67. " + "a" * 5000 + "!"
    pid = _stored_page(db, "http://127.0.0.1:1/aaa.html", f"<title>Бонус</title><p>{text}</p>")
    summary = Analyzer(db, load_rules(packs)).drain()
    assert (summary.pages, summary.failed, summary.regex_timeouts) == (1, 0, 1)
    with db.session() as s:
        page = s.get(Page, pid)
        assert page.meta["regex_timeouts"] == [
            {
                "pattern": "(a+)+$",
                "scope": "text",
                "rules": ["hostile.backtracking", "hostile.either"],
            }
        ]
        found = {d.rule_id: d for d in s.scalars(select(Detection).where(Detection.page_id == pid))}
        assert {"gambling.casino-promo.ru", "hostile.phone", "hostile.either"} <= set(found)
        assert "hostile.backtracking" not in found
        # A rule that hit all the same says, in its explanation, what it could not read.
        regex_branch = found["hostile.either"].explanation["children"][0]
        assert regex_branch["timed_out"] == [{"pattern": "(a+)+$", "scope": "text"}]


# The kinds of patterns analysts write (structured things: phones, promo codes, handles,
# wallets, links, Cyrillic words) read the same under the time-limited engine as under
# the stdlib ``re`` they were written against.
ANALYST_PATTERNS = [
    r"\+7\s?7\d{2}\s?\d{3}",
    r"\bказино\b",
    r"промо\s*код\s*[:\-]?\s*[a-zа-я0-9]+",
    r"(?:t\.me|telegram\.me)/[a-z0-9_]+",
    r"bc1[a-z0-9]{25,39}",
    r"\b[13][a-km-zA-HJ-NP-Z1-9]{25,34}\b",
    r"https?://[^\s\"'<>]+",
    r"[\u0400-\u04ff]+",
    r"\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}",
    r"(?m)^\s*бонус",
    r"(?<=\d)\s(?=\d)",
    r"[әғқңөұүһі]+",
]


def test_rule_regexes_match_as_they_did_under_re() -> None:
    import re
    from pathlib import Path

    from rules.loader import load_rules
    from rules.matchers import compile_regex

    packs = Path(__file__).resolve().parent.parent / "rules" / "packs"
    texts = [PROMO, SVG, XML, "Промокод: WIN2026 — t.me/Casino_KZ, +7 777 123 45 67"]
    for rule in load_rules(packs).rules:
        texts += [e if isinstance(e, str) else e.text for e in rule.tests.match]
        texts += [e if isinstance(e, str) else e.text for e in rule.tests.no_match]
    samples = Path(__file__).resolve().parent / "sample_data"
    texts += [p.read_text("utf-8", "replace") for p in sorted(samples.rglob("*.html"))]
    compared = 0
    for pattern in ANALYST_PATTERNS:
        stdlib, ours = re.compile(pattern, re.IGNORECASE), compile_regex(pattern)
        for text in texts:
            expected = [m.span() for m in stdlib.finditer(text)]
            assert [m.span() for m in ours.finditer(text)] == expected, (pattern, text[:80])
            compared += bool(expected)
    assert compared > 30  # the patterns did find things to compare


def test_a_password_form_nested_5000_elements_deep_still_shows_its_signals() -> None:
    from rules.signals import read_signals

    form = '<form action="https://collect.example/x"><input type="password" name="p"></form>'
    deep = "<html><body>" + "<div>" * 5000 + form + "</div>" * 5000 + "</body></html>"
    found = {hit.signal for hit in read_signals(deep, "https://bank.kz/login")}
    assert found == {"password_input", "cross_domain_form"}
