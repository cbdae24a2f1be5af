"""Bound crawler traps: calendars, session IDs, endlessly nested or repeated paths.

Where traps live — query strings (calendars, endless pagination, session IDs) and
date-shaped paths (/events/2024/05/17/) — a URL is reduced to a *shape* (query values
dropped and keys sorted; date segments → 0), and a crawl follows at most ``per_shape``
URLs of one shape. Plain paths, including numeric article IDs (/news/123456), are never
shape-limited: the source's page limit bounds them. Hard limits catch the rest.
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

_DIGITS = re.compile(r"\d+")
_DATE_PATH = re.compile(r"/(?:19|20)\d\d[/-](?:0?[1-9]|1[0-2])(?:[/-]|$)")


class TrapGuard:
    def __init__(
        self,
        *,
        per_shape: int = 200,
        max_url_length: int = 1000,
        max_path_segments: int = 12,
        max_query_params: int = 8,
        max_segment_repeats: int = 2,
    ) -> None:
        self.per_shape = per_shape
        self.max_url_length = max_url_length
        self.max_path_segments = max_path_segments
        self.max_query_params = max_query_params
        self.max_segment_repeats = max_segment_repeats
        self._shapes: Counter[str] = Counter()

    @staticmethod
    def shape(url: str) -> str | None:
        """The trap-prone shape of ``url``, or None when it has none."""
        parts = urlsplit(url)
        dated = bool(_DATE_PATH.search(parts.path))
        if not parts.query and not dated:
            return None
        keys = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
        path = _DIGITS.sub("0", parts.path) if dated else parts.path
        return f"{parts.netloc}{path}?{'&'.join(keys)}"

    def reason(self, url: str) -> str | None:
        """Why ``url`` looks like a trap, or None to follow it (and count its shape)."""
        if len(url) > self.max_url_length:
            return "url too long"
        parts = urlsplit(url)
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) > self.max_path_segments:
            return "path too deep"
        if segments and max(Counter(segments).values()) > self.max_segment_repeats:
            return "repeated path segment"
        if len(parse_qsl(parts.query, keep_blank_values=True)) > self.max_query_params:
            return "too many query parameters"
        shape = self.shape(url)
        if shape is None:
            return None
        if self._shapes[shape] >= self.per_shape:
            return "too many URLs of one shape"
        self._shapes[shape] += 1
        return None
