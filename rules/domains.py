"""Domain lists and patterns: is this host (or a parent of it) listed?

A list file has one domain per line (``#`` starts a comment; hosts-file lines such as
``0.0.0.0 bad.example`` and URLs are accepted, their host is taken). ``example.kz`` covers
its subdomains; a line with ``*`` is a wildcard pattern (inline ``domain:`` patterns in a
rule also take ``?``). A million lines load in
about a second: plain domains go into one set, checked by walking up the host's labels.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

_HOST = re.compile(r"(?:(?!-)[a-z0-9_-]{1,63}(?<!-)\.)+(?!-)[a-z0-9-]{1,63}(?<!-)")


class DomainListError(ValueError):
    def __init__(self, path: Path, line: int, message: str) -> None:
        self.path, self.line = path, line
        super().__init__(f"{path}:{line}: {message}")


def normalize_host(value: str) -> str:
    value = value.strip().lower()
    if "://" in value:
        value = urlsplit(value).hostname or ""
    value = re.split(r"[/?#]", value, maxsplit=1)[0].rstrip(".")
    try:
        return value.encode("idna").decode("ascii") if not value.isascii() else value
    except UnicodeError:
        return value


@dataclass
class DomainSet:
    """Domains (covering subdomains) and wildcard patterns."""

    domains: set[str] = field(default_factory=set)
    patterns: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)
    source: dict[str, str] = field(default_factory=dict)  # entry → where it came from

    def add(self, entry: str, origin: str = "") -> None:
        if any(c in entry for c in "*?["):
            self.patterns.append((entry, re.compile(fnmatch.translate(entry))))
        else:
            self.domains.add(entry)
        if origin:
            self.source.setdefault(entry, origin)

    def lookup(self, host: str) -> str | None:
        """The entry that lists ``host``, or None."""
        host = normalize_host(host)
        if not host:
            return None
        labels = host.split(".")
        for i in range(len(labels)):
            candidate = ".".join(labels[i:])
            if candidate in self.domains:
                return candidate
        for entry, regex in self.patterns:
            if regex.match(host):
                return entry
        return None


def load_domain_list(path: Path) -> tuple[DomainSet, str]:
    """A list file as a :class:`DomainSet` and the SHA-256 of its bytes."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DomainListError(path, 0, f"cannot read: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DomainListError(path, line, "not UTF-8 text") from exc
    out = DomainSet()
    domains = out.domains
    valid = _HOST.fullmatch
    add = domains.add
    for n, line in enumerate(text.lower().splitlines(), 1):
        entry = line.split("#", 1)[0].strip() if "#" in line else line.strip()
        if not entry:
            continue
        if valid(entry):  # the common case: a plain domain per line
            add(entry.rstrip("."))
            continue
        parts = entry.split()
        if len(parts) == 2 and parts[0] in ("0.0.0.0", "127.0.0.1", "::"):
            entry = parts[1]  # hosts-file format
        elif len(parts) != 1:
            raise DomainListError(path, n, f"expected one domain per line, got {line.strip()!r}")
        if "*" in entry:  # in list files only * is a wildcard (? ends a URL's path)
            out.add(entry)
            continue
        host = normalize_host(entry)
        if not host or not valid(host):
            raise DomainListError(path, n, f"not a domain name: {entry!r}")
        domains.add(host)
    return out, hashlib.sha256(raw).hexdigest()
