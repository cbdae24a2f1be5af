from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.encoding import decode
from crawler.extract import detect_language, understand

ENCODINGS = Path(__file__).resolve().parent / "sample_data" / "encodings"
TRUTH = {
    "windows-1251-russian": "cp1251", "KOI8-R": "koi8-r", "IBM866": "cp866",
    "iso-8859-5-russian": "iso8859-5", "MacCyrillic": "mac-cyrillic",
}  # fmt: skip
SAMPLES = sorted(p for p in ENCODINGS.rglob("*") if p.is_file() and p.suffix in (".xml", ".html"))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("declared", [None, "windows-1251", "koi8-r", "utf-8"])
def test_real_cyrillic_samples_decode_right_even_when_the_declaration_lies(
    path: Path, declared
) -> None:
    body = path.read_bytes()
    text, encoding = decode(body, declared)
    assert encoding == TRUTH[path.parent.name]
    assert text == body.decode(TRUTH[path.parent.name])
    m = re.search(r"Expect:\s*(\S+)", text)
    if m:  # the feeds carry their own ground truth
        assert m.group(1).lower().replace("windows-", "cp").replace("ibm", "cp").replace(
            "-", ""
        ) in (encoding.replace("-", ""), "maccyrillic")


def test_utf8_wins_over_a_wrong_declaration_and_bom_wins_over_all() -> None:
    text = "Қазақстан — онлайн-казино".encode()
    assert decode(text, "windows-1251") == ("Қазақстан — онлайн-казино", "utf-8")
    assert decode(b"\xef\xbb\xbf" + text, "koi8-r")[0] == "Қазақстан — онлайн-казино"
    meta_lies = b'<meta charset="utf-8"><p>' + "Новости казино".encode("cp1251") + b"</p>"
    assert decode(meta_lies) == ('<meta charset="utf-8"><p>Новости казино</p>', "cp1251")


def test_language() -> None:
    assert detect_language("Астанада жаңа саябақ ашылды, тұрғындар қуанышты.") == "kk"
    assert detect_language("В Алматы открыли новый каток «Медеу».") == "ru"
    assert detect_language("Qazaqstan Respýblıkasy Úkimeti jańa zań jobasyn usyndy.") == "kk"
    assert detect_language("The government presented a new bill.") == "other"


def test_understand_reads_title_main_text_date_language() -> None:
    html = """<html><head><meta charset="windows-1251"><title>Жаңа саябақ</title>
    <meta property="article:published_time" content="2026-11-20T15:10:00+05:00"></head>
    <body><nav>Басты бет | Экономика | Спорт</nav><article><h1>Астанада жаңа саябақ ашылды</h1>
    <p>Елорданың сол жағалауында көлемі 12 гектар болатын жаңа саябақ ашылды. Мұнда балалар алаңы,
    велосипед жолдары және 3 мыңнан астам ағаш отырғызылған.</p>
    <p>Қала әкімдігінің хабарлауынша, саябақ құрылысына жергілікті бюджеттен қаржы бөлінген.</p>
    </article><footer>© 2026</footer></body></html>"""
    page = understand(html.encode("utf-8"), "windows-1251")  # header lies: body is UTF-8
    assert page.encoding == "utf-8" and page.title == "Жаңа саябақ" and page.language == "kk"
    assert page.published_at.isoformat() == "2026-11-20T10:10:00+00:00"
    assert "12 гектар" in page.text and "Басты бет" not in page.text  # navigation dropped


PROMO = "Онлайн-казино: бонус на первый депозит, фриспины и джекпот!"


def _nested(depth: int, inner: str) -> str:
    return (
        "<html><head><title>Жаңалықтар</title></head><body><p>Кіріспе мәтін.</p>"
        + "<div>" * depth
        + f"<p>{inner}</p>"
        + "</div>" * depth
        + "<p>Соңғы абзац.</p><script>var hidden = 'скрипт';</script></body></html>"
    )


@pytest.mark.parametrize("depth", [300, 5000, 50_000])
def test_text_nested_past_the_parser_limit_is_read_all_the_same(depth: int) -> None:
    page = understand(_nested(depth, PROMO).encode())
    assert PROMO in page.text
    assert "Кіріспе мәтін." in page.text and "Соңғы абзац." in page.text  # all of it
    assert "скрипт" not in page.text  # still text only
    assert page.title == "Жаңалықтар"
    assert page.extraction["method"] == "full_text"
    assert "depth" in page.extraction["reason"] and "truncated" not in page.extraction


def test_text_after_a_text_node_too_big_for_the_parser_is_read() -> None:
    html = f"<html><body><p>{'а' * 10_000_001}</p><p>{PROMO}</p></body></html>"
    page = understand(html.encode())
    assert page.text.endswith(PROMO)
    assert page.extraction["method"] == "full_text" and "truncated" not in page.extraction


def test_the_full_text_bound_is_recorded_when_it_cuts(monkeypatch) -> None:
    import crawler.extract

    monkeypatch.setattr(crawler.extract, "MAX_TEXT_CHARS", 20)
    page = understand(_nested(400, PROMO).encode())
    assert len(page.text) <= 20 and page.text.startswith("Кіріспе мәтін.\nОнл")
    assert page.extraction["truncated"] == {
        "max_html_chars": crawler.extract.MAX_HTML_CHARS,
        "max_text_chars": 20,
    }


def test_ordinary_pages_are_read_the_usual_way() -> None:
    page = understand(_nested(20, PROMO).encode())
    assert PROMO in page.text and page.extraction == {}
