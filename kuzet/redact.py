"""Credentials out of everything kuzet shows, logs or stores besides the setting itself.

A proxy (``socks5://user:pass@host:1080``) or a Redis server
(``redis://kuzet:pass@host:6379/0``) is configured with its password in the URL. The URL
is kept as given only where it is configured (the source row, the environment); wherever
it is displayed, logged, written into capture metadata or a manifest, or quoted in an
error message, it goes through :func:`redact_url` first: the password becomes ``***``,
the user name, host and port stay (they say which account and which route were used).

:func:`redact_text` does the same to free text (an error message that quotes a URL), and
:class:`RedactingFilter` to every log record passing a handler.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

MASK = "***"

# scheme://user:password@ — the password part, in free text. A password with "@" in it
# must be percent-encoded in a URL, so the first "@" ends it.
_USERINFO = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s/@:]*:)(?P<pw>[^\s/@]+)@")
_SECRET_PARAMS = frozenset({"password", "pass", "passwd", "token", "secret"})


def redact_url(url: str | None) -> str | None:
    """``url`` with its password (in the user part or a ``?password=`` parameter) masked;
    anything that does not parse as a URL is masked by :func:`redact_text`."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # e.g. a port that is not a number
        return redact_text(url)
    netloc = parts.netloc
    if password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{MASK}@{hostport}"
    query = parts.query
    if query and any(k.lower() in _SECRET_PARAMS for k, _ in parse_qsl(query)):
        pairs = [
            (k, MASK if k.lower() in _SECRET_PARAMS else v)
            for k, v in parse_qsl(query, keep_blank_values=True)
        ]
        query = urlencode(pairs, safe="*", quote_via=quote)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def browser_proxy(url: str) -> dict[str, str]:
    """Playwright's proxy option for ``url``: the credentials as ``username`` and
    ``password`` (Chromium ignores them in the server URL and fails the proxy's 407)."""
    parts = urlsplit(url)
    server = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    option = {"server": server}
    if parts.username is not None:
        option["username"] = unquote(parts.username)
    if parts.password is not None:
        option["password"] = unquote(parts.password)
    return option


def redact_text(text: str) -> str:
    """Free text with the password of every ``scheme://user:password@`` in it masked."""
    return _USERINFO.sub(lambda m: f"{m['head']}{MASK}@", text)


_FORMATTER = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Masks URL passwords in every record a handler emits (the message with its
    arguments, and the traceback), whoever logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: left to the handler
            return True
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # The traceback as the handler would format it (it keeps this text).
            record.exc_text = redact_text(_FORMATTER.formatException(record.exc_info))
        return True


def install(handlers: list[logging.Handler] | None = None) -> None:
    """Add one :class:`RedactingFilter` to each handler (the root logger's by default)."""
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


class LogRedaction:
    """Scrapy extension: the crawl process's log handlers mask URL passwords."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> LogRedaction:
        install()
        return cls()
