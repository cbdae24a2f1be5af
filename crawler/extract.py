"""What a page says: decoded HTML, title, main text, publication date, language."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import lxml.etree
import lxml.html

from crawler.encoding import decode

_BLOCK = {
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "td",
    "th",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "main",
    "form",
    "label",
    "button",
    "blockquote",
    "pre",
    "dd",
    "dt",
    "option",
    "figcaption",
}
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_NEWLINES = re.compile(r"\s*\n\s*")
_KAZAKH = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
# Letters of the 2021 Kazakh Latin alphabet that English/Russian-Latin text lacks.
_KAZAKH_LATIN = frozenset("áǵńóúúıÁǴŃÓÚÝİ")
_DATE_META = (
    "article:published_time",
    "og:published_time",
    "datePublished",
    "pubdate",
    "publishdate",
    "date",
    "dc.date",
    "dc.date.issued",
    "sailthru.date",
)


@dataclass
class PageText:
    html: str
    encoding: str
    title: str
    text: str
    language: str  # "kk", "ru" or "other"
    published_at: datetime | None


def _parse(html: str) -> lxml.html.HtmlElement | None:
    if not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return None


def _title(root: lxml.html.HtmlElement) -> str:
    el = root.find(".//title")
    title = _SPACES.sub(" ", el.text_content()).strip() if el is not None else ""
    if not title:
        og = root.xpath('//meta[@property="og:title"]/@content')
        title = _SPACES.sub(" ", og[0]).strip() if og else ""
    return title


def _block_text(root: lxml.html.HtmlElement) -> str:
    root = lxml.html.fromstring(lxml.html.tostring(root))  # work on a copy
    lxml.etree.strip_elements(
        root, "script", "style", "noscript", "template", "title", with_tail=False
    )
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK:
            el.tail = "\n" + (el.tail or "")
            if el.tag.lower() != "br":
                el.text = "\n" + (el.text or "")
        elif not isinstance(el.tag, str):  # comments, processing instructions
            el.text = ""
    body = root.find("body")
    text = (body if body is not None else root).text_content()
    return tidy(text)


def tidy(text: str) -> str:
    """Whitespace as a reader sees it: single spaces, one newline between blocks.

    Stored page text is what officers read and what offsets point into; it is also what
    the rules scan, and single spacing lets phrases match without a slow fold.
    """
    return _NEWLINES.sub("\n", _SPACES.sub(" ", text)).strip()


_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> str:
    """'kk', 'ru' or 'other' from the letters used (Kazakh-only letters decide kk)."""
    sample = text[:20000]
    cyr = len(_CYRILLIC.findall(sample))
    latin = len(_LATIN.findall(sample))
    if cyr >= latin and cyr:
        kazakh = sum(sample.count(c) for c in _KAZAKH)
        # Kazakh text runs at ~5-8 % Kazakh-only letters; quotes in Russian text stay below 1 %.
        return "kk" if kazakh / cyr >= 0.01 else "ru"
    kazakh_latin = sum(sample.count(c) for c in _KAZAKH_LATIN)
    if latin and kazakh_latin / (latin + kazakh_latin) >= 0.02:
        return "kk"
    return "other"


def parse_date(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        m = re.match(r"(\d{4})-(\d{2})-(\d{2})", value)
        if not m:
            return None
        dt = datetime(int(m[1]), int(m[2]), int(m[3]))
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def published_at(root: lxml.html.HtmlElement) -> datetime | None:
    """Publication date from page metadata: meta tags, JSON-LD, then <time datetime>."""
    for meta in root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key in {k.lower() for k in _DATE_META}:
            dt = parse_date(meta.get("content") or "")
            if dt:
                return dt
    for script in root.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            data = json.loads(script)
        except ValueError:
            continue
        for obj in data if isinstance(data, list) else [data]:
            if isinstance(obj, dict) and isinstance(obj.get("datePublished"), str):
                dt = parse_date(obj["datePublished"])
                if dt:
                    return dt
    for value in root.xpath("//time/@datetime"):
        dt = parse_date(value)
        if dt:
            return dt
    return None


def understand(body: bytes, declared_charset: str | None = None) -> PageText:
    """Decode and read a page: the rules run on ``title`` + ``text``, ``html`` is kept too."""
    html, encoding = decode(body, declared_charset)
    root = _parse(html)
    if root is None:
        return PageText(html, encoding, "", "", "other", None)
    title = _title(root)
    text = _main_text(root) or _block_text(root)
    return PageText(
        html=html,
        encoding=encoding,
        title=title,
        text=text,
        language=detect_language(text or title),
        published_at=published_at(root),
    )


def _main_text(root: lxml.html.HtmlElement) -> str:
    """The article text without navigation and boilerplate (trafilatura, fast mode).

    Works on the tree already parsed here (trafilatura copies it before pruning) with
    options built once: both are measurable per-page costs in the analysis worker.
    """
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(root, options=_trafilatura_options())
    except Exception:  # trafilatura raises assorted errors on hostile markup
        return ""
    text = getattr(doc, "text", None) if doc is not None else None
    return tidy(text) if text else ""


@functools.cache
def _trafilatura_options() -> Any:
    from trafilatura.settings import Extractor

    return Extractor(output_format="python", fast=True, comments=True, tables=True)
