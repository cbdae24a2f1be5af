"""Title and readable text of an HTML page."""

from __future__ import annotations

import re

import lxml.etree
import lxml.html

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


def extract(html: str) -> tuple[str, str]:
    """(title, text); text keeps one line per block element so words never run together."""
    if not html.strip():
        return "", ""
    try:
        root = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return "", ""
    title_el = root.find(".//title")
    title = _SPACES.sub(" ", title_el.text_content()).strip() if title_el is not None else ""
    lxml.etree.strip_elements(
        root, "script", "style", "noscript", "template", "title", with_tail=False
    )
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK:
            el.tail = "\n" + (el.tail or "")
            if el.tag.lower() != "br":
                el.text = "\n" + (el.text or "")
        elif el.tag.__class__ is not str:  # comments, processing instructions
            el.text = ""
    body = root.find("body")
    text = (body if body is not None else root).text_content()
    text = _NEWLINES.sub("\n", _SPACES.sub(" ", text)).strip()
    return title, text
