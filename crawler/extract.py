"""What a page says: decoded HTML, title, main text, publication date, language.

A page lxml cannot read whole (libxml2 stops at 256 nested elements and at a 10 MB text
node: a hostile page nests or pads its text past either, and the rest of the page is
gone) is read by a streaming full-text pass instead, which has no depth limit; that
pass is bounded by :data:`MAX_TEXT_CHARS` and says so in :attr:`PageText.extraction`.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
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
    # How the text was read when not the usual way: ``method`` "full_text" and the parser
    # limit (``reason``) that made it so; ``truncated`` when a bound cut the text;
    # ``main_text_error`` when the article extractor failed on the page.
    extraction: dict[str, Any] = field(default_factory=dict)


# The full-text pass reads at most this much markup and keeps at most this much text:
# more than a crawl downloads (DOWNLOAD_MAXSIZE), so only other callers' input is cut.
MAX_HTML_CHARS = 32 * 1024 * 1024
MAX_TEXT_CHARS = 16 * 1024 * 1024


def _parse(html: str) -> lxml.html.HtmlElement | None:
    return _read_tree(html)[0]


def _read_tree(html: str) -> tuple[lxml.html.HtmlElement | None, str | None]:
    """The parsed page, and the resource limit the parser stopped at, if any (the tree
    then lacks everything after that point)."""
    if not html.strip():
        return None, None
    parser = lxml.html.HTMLParser()
    try:
        root = lxml.html.document_fromstring(html, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        root = None
    limit = next(
        (
            e.message.strip()
            for e in parser.error_log
            if e.type == lxml.etree.ErrorTypes.ERR_RESOURCE_LIMIT
        ),
        None,
    )
    return root, limit


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
    root, limit = _read_tree(html)
    extraction: dict[str, Any] = {}
    if limit is not None:
        read = full_text(html)
        title = (_title(root) if root is not None else "") or read.title
        text = read.text
        extraction = {"method": "full_text", "reason": limit}
        if read.truncated:
            extraction["truncated"] = {
                "max_html_chars": MAX_HTML_CHARS,
                "max_text_chars": MAX_TEXT_CHARS,
            }
    elif root is None:
        return PageText(html, encoding, "", "", "other", None)
    else:
        title = _title(root)
        text = _main_text(root, extraction) or _block_text(root)
    return PageText(
        html=html,
        encoding=encoding,
        title=title,
        text=text,
        language=detect_language(text or title),
        published_at=published_at(root) if root is not None else None,
        extraction=extraction,
    )


def _main_text(root: lxml.html.HtmlElement, extraction: dict[str, Any]) -> str:
    """The article text without navigation and boilerplate (trafilatura, fast mode).

    Works on the tree already parsed here (trafilatura copies it before pruning) with
    options built once: both are measurable per-page costs in the analysis worker. If
    trafilatura fails on the page, the failure goes into ``extraction`` and the caller
    falls back to all block text.
    """
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(root, options=_trafilatura_options())
    except Exception as exc:  # trafilatura raises assorted errors on hostile markup
        extraction["main_text_error"] = f"{type(exc).__name__}: {exc}"[:300]
        return ""
    text = getattr(doc, "text", None) if doc is not None else None
    return tidy(text) if text else ""


@functools.cache
def _trafilatura_options() -> Any:
    from trafilatura.settings import Extractor

    return Extractor(output_format="python", fast=True, comments=True, tables=True)


_SKIPPED = frozenset({"script", "style", "noscript", "template", "title"})


@dataclass
class FullText:
    title: str
    text: str
    truncated: bool  # a bound (MAX_HTML_CHARS, MAX_TEXT_CHARS) cut the page short


class _TextStream(HTMLParser):
    """Text as :func:`_block_text` reads it (blocks on their own lines; script, style,
    template and the like left out), streamed: no tree is built, so nesting costs
    nothing, and reading stops once ``max_chars`` are kept."""

    def __init__(self, max_chars: int) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.room = max_chars
        self.skipping: dict[str, int] = {}
        self.full = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping[tag] = self.skipping.get(tag, 0) + 1
        elif tag in _BLOCK:
            self._keep("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self._keep("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping.get(tag):
            self.skipping[tag] -= 1
        elif tag in _BLOCK:
            self._keep("\n")

    def handle_data(self, data: str) -> None:
        if self.skipping.get("title") and sum(len(t) for t in self.title) < 1000:
            self.title.append(data)
        if not any(self.skipping.values()):
            self._keep(data)

    def _keep(self, text: str) -> None:
        if text == "\n" and self.parts and self.parts[-1].endswith("\n"):
            return  # one line break however many blocks close or open here
        if len(text) > self.room:
            text, self.full = text[: self.room], True
        self.room -= len(text)
        self.parts.append(text)


def full_text(html: str, chunk: int = 1 << 16) -> FullText:
    """All the text of a page, however deeply nested, within the module's bounds."""
    stream = _TextStream(MAX_TEXT_CHARS)
    end = min(len(html), MAX_HTML_CHARS)
    for at in range(0, end, chunk):
        stream.feed(html[at : min(at + chunk, end)])
        if stream.full:
            break
    else:
        stream.close()
    title = _SPACES.sub(" ", "".join(stream.title)).strip()[:1000]
    truncated = stream.full or len(html) > MAX_HTML_CHARS
    return FullText(title, tidy("".join(stream.parts)), truncated)
