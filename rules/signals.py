"""Page signals read from the HTML: what a phishing page asks for and where it sends it.

- ``password_input``: an ``<input type=password>`` or a field named/labelled as one;
- ``card_number_input``: a card number, CVV/CVC or expiry field;
- ``sms_code_input``: a one-time/SMS code field;
- ``cross_domain_form``: a form that posts to another registered domain.

Each signal comes with the element that shows it, for the explanation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html

_PASSWORD = re.compile(r"pass(word|wd)?|парол|құпия\s*сөз|pin\b|пин", re.I)
_CARD = re.compile(r"card.?(num|no)|cc-?(number|num|csc|exp)|cvv|cvc|карт|номер\s*карт|срок", re.I)
_SMS = re.compile(r"one-time-code|otp|sms|смс|код\s*(из|подтвер)|растау\s*код", re.I)


@dataclass(frozen=True)
class SignalHit:
    signal: str
    element: str  # a short description: <input name="pass" type="password">

    def as_dict(self) -> dict[str, str]:
        return {"signal": self.signal, "element": self.element}


def _describe(el: lxml.html.HtmlElement) -> str:
    attrs = " ".join(
        f'{k}="{v[:40]}"'
        for k, v in el.attrib.items()
        if k in ("type", "name", "id", "autocomplete", "placeholder", "action", "method")
    )
    return f"<{el.tag} {attrs}>" if attrs else f"<{el.tag}>"


def _registered(host: str) -> str:
    from rules.lookalike import split

    return split(host).registered if host else ""


# Every tag but the ones signals read: dropped when nesting beat the parser's depth limit.
_OTHER_TAGS = re.compile(r"</?(?!(?:form|input|textarea|label)\b)[a-zA-Z][^>]*>")


def _parse(html: str) -> lxml.html.HtmlElement | None:
    """The page's tree. libxml2 stops at a fixed nesting depth and drops the rest, so a page
    could hide its password field 5,000 elements deep: when the parser hit a resource limit,
    the page is read again with every other tag removed (the fields and forms, flat)."""
    for attempt in (html, None):
        markup = attempt if attempt is not None else _OTHER_TAGS.sub(" ", html)
        parser = lxml.html.HTMLParser()
        try:
            root = lxml.html.document_fromstring(markup, parser=parser)
        except (lxml.etree.ParserError, ValueError):
            return None
        if not any(e.type == lxml.etree.ErrorTypes.ERR_RESOURCE_LIMIT for e in parser.error_log):
            return root
    return root


def read_signals(html: str, page_url: str) -> list[SignalHit]:
    """Every signal the page shows (one hit per signal kind and element)."""
    if not html or "<" not in html:
        return []
    root = _parse(html)
    if root is None:
        return []
    hits: list[SignalHit] = []
    for el in root.iter("input", "textarea"):
        kind = (el.get("type") or "text").lower()
        if kind in ("hidden", "submit", "button", "checkbox", "radio", "image", "reset"):
            continue
        words = " ".join(
            el.get(a, "") for a in ("name", "id", "autocomplete", "placeholder", "aria-label")
        )
        if kind == "password" or _PASSWORD.search(words):
            hits.append(SignalHit("password_input", _describe(el)))
        if _CARD.search(words):
            hits.append(SignalHit("card_number_input", _describe(el)))
        if _SMS.search(words):
            hits.append(SignalHit("sms_code_input", _describe(el)))
    page_domain = _registered(urlsplit(page_url).hostname or "")
    for form in root.iter("form"):
        action = (form.get("action") or "").strip()
        if not action or action.startswith(("#", "javascript:")):
            continue
        target = urlsplit(urljoin(page_url or "", action))
        if target.scheme in ("http", "https") and target.hostname:
            other = _registered(target.hostname)
            if page_domain and other and other != page_domain:
                hits.append(SignalHit("cross_domain_form", _describe(form)))
    return hits
