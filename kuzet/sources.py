"""Watched sources: the watchlist file format, and adding/updating sources from it or the CLI.

A watchlist is YAML::

    sources:
      - name: tengrinews
        url: https://tengrinews.kz/
        depth: 2
        max_pages: 500
      - name: some-channel
        kind: telegram
        url: https://t.me/s/some_channel
        max_pages: 5            # preview pages to walk back with ?before=

Importing is idempotent: a source is matched by name and updated in place; nothing is
removed. Turning robots.txt off for a source is written to the audit log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from kuzet import audit
from kuzet.models import Source, SourceKind
from kuzet.redact import redact_url
from kuzet.yamlfile import YamlFileError, field_name, line_for, parse, raise_validation

_TELEGRAM = re.compile(r"^(?:https?://)?t\.me/(?:s/)?([A-Za-z0-9_]{4,64})/?$")


class SourceError(ValueError):
    pass


class WatchlistError(YamlFileError):
    pass


class SourceSpec(BaseModel):
    """One source as written in a watchlist or on the command line."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
    kind: Literal["site", "feed", "sitemap", "telegram"] = "site"  # before url: url checks it
    url: str
    depth: int = Field(default=2, ge=0, le=50)
    max_pages: int = Field(default=100, ge=1, le=1_000_000)
    allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)
    render: bool = False
    obey_robots: bool = True
    allow_private: bool = False
    proxy: str | None = None
    login_profile: str | None = None
    enabled: bool = True

    @field_validator("allow", "deny")
    @classmethod
    def _patterns_compile(cls, v: list[str]) -> list[str]:
        for i, p in enumerate(v):
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"pattern {i + 1} does not compile: {exc}") from exc
        return v

    @field_validator("proxy")
    @classmethod
    def _proxy_scheme(cls, v: str | None) -> str | None:
        if v and urlsplit(v).scheme not in ("http", "https", "socks5", "socks5h"):
            raise ValueError("proxy must be http://, https://, socks5:// or socks5h://")
        return v

    @field_validator("url")
    @classmethod
    def _url_fits_kind(cls, v: str, info: ValidationInfo) -> str:
        if info.data.get("kind") == "telegram":
            m = _TELEGRAM.match(v.strip())
            if not m:
                raise ValueError("a telegram source's url is https://t.me/s/<channel>")
            return f"https://t.me/s/{m.group(1)}"
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v

    def columns(self) -> dict[str, Any]:
        return {
            "kind": SourceKind(self.kind),
            "start_url": self.url,
            "max_depth": self.depth,
            "max_pages": self.max_pages,
            "allow": self.allow,
            "deny": self.deny,
            "render": self.render,
            "obey_robots": self.obey_robots,
            "allow_private": self.allow_private,
            "proxy": self.proxy,
            "login_profile": self.login_profile,
            "enabled": self.enabled,
        }


class Watchlist(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[SourceSpec] = Field(min_length=1)


def load_watchlist(path: Path) -> list[SourceSpec]:
    data, lines = parse(path, WatchlistError)
    try:
        sources = Watchlist.model_validate(data).sources
    except ValidationError as exc:
        raise_validation(path, exc, lines, WatchlistError)
        raise
    seen: dict[str, int] = {}
    for i, spec in enumerate(sources):
        if spec.name in seen:
            loc = ("sources", i, "name")
            raise WatchlistError(
                path,
                line_for(loc, lines),
                field_name(loc),
                f"source name {spec.name!r} appears twice (first as sources[{seen[spec.name]}])",
            )
        seen[spec.name] = i
    return sources


@dataclass
class UpsertResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def upsert(
    session: Session, specs: list[SourceSpec], *, actor: str, only_new: bool = False
) -> UpsertResult:
    result = UpsertResult()
    for spec in specs:
        source = session.scalars(select(Source).where(Source.name == spec.name)).first()
        values = spec.columns()
        if source is None:
            session.add(Source(name=spec.name, **values))
            session.flush()
            result.added.append(spec.name)
            changed = values
        else:
            if only_new:
                raise SourceError(f"source {spec.name!r} already exists")
            changed = {k: v for k, v in values.items() if getattr(source, k) != v}
            for k, v in changed.items():
                setattr(source, k, v)
            (result.updated if changed else result.unchanged).append(spec.name)
        if changed.get("obey_robots") is False:
            audit.record(
                session,
                action="source.robots_opt_out",
                object_type="source",
                object_id=spec.name,
                actor=actor,
                details={"url": spec.url},
            )
        if changed:
            audit.record(
                session,
                action="source.saved",
                object_type="source",
                object_id=spec.name,
                actor=actor,
                # A proxy's password stays in the source row, never in the log.
                details={
                    k: str(redact_url(v) if k == "proxy" and v else v) for k, v in changed.items()
                },
            )
    return result
