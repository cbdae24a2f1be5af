"""The rule-pack format, as pydantic models.

A pack file holds ``pack`` (its name), optional ``defaults`` merged into each rule, and
``rules``. Violation types are a catalog of their own (``violation_types.yaml``) so that
Form 2 field 1 is data the analysts edit, never code.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

Severity = Literal["low", "medium", "high", "critical"]
Scope = Literal["url", "title", "text", "html"]
SEVERITY_ORDER = {"low": 1, "medium": 2, "high": 3, "critical": 4}


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"regex does not compile: {exc}") from exc
    return pattern


Pattern = Annotated[str, AfterValidator(_compiles)]


class Localized(BaseModel):
    """Text in Kazakh and Russian (English optional)."""

    model_config = ConfigDict(extra="forbid")

    kk: str = Field(min_length=1)
    ru: str = Field(min_length=1)
    en: str | None = None

    def get(self, lang: str) -> str:
        return getattr(self, lang, None) or self.kk


class RuleTests(BaseModel):
    model_config = ConfigDict(extra="forbid")

    match: list[str] = Field(min_length=1)
    no_match: list[str] = Field(default_factory=list)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    version: int = Field(ge=1)
    title: Localized
    description: str = ""
    violation_type: str = Field(min_length=1)
    legal_norm: Localized
    severity: Severity
    scope: list[Scope] = Field(default_factory=lambda: ["title", "text"], min_length=1)
    keywords: list[str] = Field(default_factory=list)
    regex: list[Pattern] = Field(default_factory=list)
    min_matches: int = Field(default=1, ge=1)
    enabled: bool = True
    tests: RuleTests

    @field_validator("keywords")
    @classmethod
    def _keywords_not_blank(cls, v: list[str]) -> list[str]:
        for i, kw in enumerate(v):
            if not kw.strip(" *"):
                raise ValueError(f"keyword {i + 1} is blank")
        return v

    @model_validator(mode="after")
    def _has_condition(self) -> Rule:
        if not self.keywords and not self.regex:
            raise ValueError("a rule needs keywords and/or regex")
        if self.min_matches > len(self.keywords) + len(self.regex):
            raise ValueError("min_matches is larger than the number of keywords and regexes")
        return self

    @property
    def fingerprint(self) -> str:
        """Hash of the match logic only: the same fingerprint means the same hits."""
        logic = {
            "keywords": self.keywords,
            "regex": self.regex,
            "scope": sorted(self.scope),
            "min_matches": self.min_matches,
        }
        return hashlib.sha256(
            json.dumps(logic, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()


class Pack(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pack: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    description: str = ""
    defaults: dict[str, Any] = Field(default_factory=dict)
    rules: list[Rule] = Field(min_length=1)


class ViolationTypes(BaseModel):
    model_config = ConfigDict(extra="forbid")

    violation_types: dict[str, Localized] = Field(min_length=1)
