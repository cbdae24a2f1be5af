"""The rule-pack format, as pydantic models.

A pack file holds ``pack`` (its name), optional ``defaults`` merged into each rule, and
``rules``. Violation types are a catalog of their own (``violation_types.yaml``) so that
Form 2 field 1 is data the analysts edit, never code.

A rule's ``match`` is a tree of conditions. Leaves find evidence and score it; ``all``,
``any`` (with ``min``) and ``not`` combine them; the rule fires when the tree matches and
its score reaches the rule's ``threshold``::

    match:
      all:
        - keywords: {онлайн-казино: 2, слоты: 1, фриспин*: 1}
          min_score: 2
        - not:
            keywords: [полиция, задержан]
    threshold: 3

Every leaf reads one or more ``scope`` s of the page: url, domain, title, text, html,
image (defaults per kind below).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    field_validator,
    model_validator,
)

from kuzet.yamlfile import CodedValueError

Severity = Literal["low", "medium", "high", "critical"]
Status = Literal["experimental", "test", "stable", "deprecated"]
Scope = Literal["url", "domain", "title", "text", "html", "image"]
SEVERITY_ORDER = {"low": 1, "medium": 2, "high": 3, "critical": 4}
TEXT_SCOPES: tuple[Scope, ...] = ("title", "text")
Signal = Literal["password_input", "card_number_input", "sms_code_input", "cross_domain_form"]
Fuzzer = Literal[
    "homoglyph",
    "digit-swap",
    "omission",
    "insertion",
    "repetition",
    "transposition",
    "hyphenation",
    "tld-swap",
    "subdomain",
    "punycode",
]
FUZZERS: tuple[str, ...] = Fuzzer.__args__  # type: ignore[attr-defined]


def _compiles(pattern: str) -> str:
    import regex

    from rules.matchers import compile_regex  # compiled as the engine will run it

    try:
        compile_regex(pattern)
    except regex.error as exc:
        raise CodedValueError(
            "file.bad_regex", f"regex does not compile: {exc}", error=str(exc)
        ) from exc
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


class _Leaf(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight: float = Field(default=1.0, gt=0, description="score this condition adds")


def _terms(value: Any) -> Any:
    """Keywords as a list (weight 1 each) or a mapping term → weight."""
    if isinstance(value, list):
        return {str(t): 1.0 for t in value}
    return value


class KeywordsCondition(BaseModel):
    """Words and phrases (normalised, inflected, Latin-spelled; see rules.matchers).

    Score: the summed weights of the distinct terms found; matches at ``min_score``.
    """

    model_config = ConfigDict(extra="forbid")

    keywords: Annotated[dict[str, float], Field(min_length=1)]
    scope: list[Scope] = Field(default_factory=lambda: list(TEXT_SCOPES), min_length=1)
    min_score: float = Field(default=1.0, gt=0)

    _normalise = field_validator("keywords", mode="before")(_terms)

    @field_validator("keywords")
    @classmethod
    def _valid_terms(cls, v: dict[str, float]) -> dict[str, float]:
        for term, weight in v.items():
            if not term.strip(" *="):
                raise ValueError(f"keyword {term!r} is blank")
            if weight <= 0:
                raise ValueError(f"keyword {term!r}: weight must be positive")
        return v


class NearCondition(_Leaf):
    """All ``near`` terms within ``within`` words of each other (any order)."""

    near: list[str] = Field(min_length=2)
    within: int = Field(default=5, ge=1, le=100)
    scope: list[Scope] = Field(default_factory=lambda: list(TEXT_SCOPES), min_length=1)


class RegexCondition(BaseModel):
    """Regular expressions on the text as written (case-insensitive, not folded)."""

    model_config = ConfigDict(extra="forbid")

    regex: Annotated[dict[Pattern, float], Field(min_length=1)]
    scope: list[Scope] = Field(default_factory=lambda: list(TEXT_SCOPES), min_length=1)
    min_score: float = Field(default=1.0, gt=0)

    _normalise = field_validator("regex", mode="before")(_terms)


class UrlCondition(_Leaf):
    """Wildcard patterns (``*`` any run, ``?`` one character) on the page URL."""

    url: list[str] = Field(min_length=1)


class DomainCondition(_Leaf):
    """The page's host against wildcard patterns and domain-list files (one domain per
    line, ``#`` comments; paths relative to the pack). ``example.kz`` also covers its
    subdomains; ``*.bet``/``vulkan*.*`` are patterns."""

    domain: list[str] = Field(default_factory=list)
    domain_list: list[str] = Field(default_factory=list)
    # The list files as the loader found them (absolute paths), keys of RuleSet.domain_lists.
    _resolved: list[str] = PrivateAttr(default_factory=list)

    @property
    def resolved_lists(self) -> list[str]:
        return self._resolved

    @model_validator(mode="after")
    def _something(self) -> DomainCondition:
        if not self.domain and not self.domain_list:
            raise ValueError("give domain patterns and/or domain_list files")
        return self


class LookalikeCondition(_Leaf):
    """The page's registered domain imitates one of ``lookalike_of`` (a brand's own
    domains never match)."""

    lookalike_of: list[str] = Field(min_length=1)
    fuzzers: list[Fuzzer] = Field(default_factory=lambda: list(FUZZERS), min_length=1)


class SignalCondition(_Leaf):
    """Page signals read from the HTML: inputs asking for secrets, forms posting away."""

    signal: list[Signal] = Field(min_length=1)
    min: int = Field(default=1, ge=1)


class ImageCondition(_Leaf):
    """Images on the page near known ones (perceptual hash, Hamming distance)."""

    image_phash: list[str] = Field(min_length=1)
    max_distance: int = Field(default=8, ge=0, le=32)

    @field_validator("image_phash")
    @classmethod
    def _hex(cls, v: list[str]) -> list[str]:
        for h in v:
            if not re.fullmatch(r"[0-9a-fA-F]{16}", h):
                raise ValueError(f"{h!r} is not a 64-bit perceptual hash (16 hex digits)")
        return [h.lower() for h in v]


class AllCondition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    all: list[Condition] = Field(min_length=1)


class AnyCondition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    any: list[Condition] = Field(min_length=1)
    min: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _reachable(self) -> AnyCondition:
        if self.min > len(self.any):
            raise ValueError(f"min is {self.min} but there are only {len(self.any)} conditions")
        return self


class NotCondition(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    not_: Condition = Field(alias="not")


LEAF_KINDS = {
    "keywords": KeywordsCondition,
    "near": NearCondition,
    "regex": RegexCondition,
    "url": UrlCondition,
    "domain": DomainCondition,
    "domain_list": DomainCondition,
    "lookalike_of": LookalikeCondition,
    "signal": SignalCondition,
    "image_phash": ImageCondition,
}
KINDS = {**LEAF_KINDS, "all": AllCondition, "any": AnyCondition, "not": NotCondition}


def _kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        for key, cls in KINDS.items():
            if isinstance(value, cls):
                return f"§{key}"
        return None
    if isinstance(value, dict):
        for key in KINDS:
            if key in value:
                return f"§{'domain' if key == 'domain_list' else key}"
    return None


Condition = Annotated[
    Annotated[KeywordsCondition, Tag("§keywords")]
    | Annotated[NearCondition, Tag("§near")]
    | Annotated[RegexCondition, Tag("§regex")]
    | Annotated[UrlCondition, Tag("§url")]
    | Annotated[DomainCondition, Tag("§domain")]
    | Annotated[LookalikeCondition, Tag("§lookalike_of")]
    | Annotated[SignalCondition, Tag("§signal")]
    | Annotated[ImageCondition, Tag("§image_phash")]
    | Annotated[AllCondition, Tag("§all")]
    | Annotated[AnyCondition, Tag("§any")]
    | Annotated[NotCondition, Tag("§not")],
    Discriminator(
        _kind,
        custom_error_type="unknown_condition",
        custom_error_message=(
            "a condition needs one of: " + ", ".join(k for k in KINDS if k != "domain_list")
        ),
    ),
]
AllCondition.model_rebuild()
AnyCondition.model_rebuild()
NotCondition.model_rebuild()


def walk(cond: Any) -> list[Any]:
    """Every node of a condition tree, depth first."""
    out = [cond]
    if isinstance(cond, AllCondition):
        for c in cond.all:
            out += walk(c)
    elif isinstance(cond, AnyCondition):
        for c in cond.any:
            out += walk(c)
    elif isinstance(cond, NotCondition):
        out += walk(cond.not_)
    return out


def can_match_on_nothing(cond: Any) -> bool:
    """Whether the tree would match a page with no evidence at all (e.g. a bare ``not``)."""
    if isinstance(cond, NotCondition):
        return True
    if isinstance(cond, AllCondition):
        return all(can_match_on_nothing(c) for c in cond.all)
    if isinstance(cond, AnyCondition):
        return sum(can_match_on_nothing(c) for c in cond.any) >= cond.min
    return False


class ExamplePage(BaseModel):
    """An inline example written as a page, for rules a plain string cannot exercise
    (images, or a URL and a text that differ): ``{url, title, text, html, images}``,
    ``images`` being perceptual hashes."""

    model_config = ConfigDict(extra="forbid")

    url: str = ""
    title: str = ""
    text: str = ""
    html: str = ""
    images: list[str] = Field(default_factory=list)

    @field_validator("images")
    @classmethod
    def _hex(cls, v: list[str]) -> list[str]:
        for h in v:
            if not re.fullmatch(r"[0-9a-fA-F]{16}", h):
                raise ValueError(f"{h!r} is not a 64-bit perceptual hash (16 hex digits)")
        return [h.lower() for h in v]


Example = str | ExamplePage


class RuleTests(BaseModel):
    model_config = ConfigDict(extra="forbid")

    match: list[Example] = Field(min_length=1)
    no_match: list[Example] = Field(default_factory=list)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    version: int = Field(ge=1)
    status: Status = "experimental"
    title: Localized
    description: str = ""
    author: str = Field(min_length=1)
    created: date
    modified: date | None = None
    violation_type: str = Field(min_length=1)
    legal_norm: Localized
    severity: Severity
    confidence: float = Field(default=0.5, ge=0, le=1)
    references: list[str] = Field(default_factory=list)
    false_positives: list[str] = Field(default_factory=list)
    enabled: bool = True
    disabled_until: date | None = None
    match: Condition
    threshold: float = Field(default=0, ge=0)
    tests: RuleTests
    # Content hashes of the files the logic reads (domain lists), set by the loader.
    file_digests: dict[str, str] = Field(default_factory=dict, exclude=True)

    @model_validator(mode="after")
    def _sane(self) -> Rule:
        if can_match_on_nothing(self.match):
            raise ValueError("the match tree needs a positive condition (it matches any page)")
        if self.modified and self.modified < self.created:
            raise ValueError("modified is earlier than created")
        return self

    def active(self, today: date) -> bool:
        """Enabled, not deprecated, and not paused (``disabled_until`` in the future)."""
        if not self.enabled or self.status == "deprecated":
            return False
        return self.disabled_until is None or self.disabled_until <= today

    @property
    def fingerprint(self) -> str:
        """Hash of the match logic only (tree, threshold, contents of the files it reads):
        the same fingerprint means the same hits."""
        logic = {
            "match": self.match.model_dump(mode="json", by_alias=True, exclude_defaults=False),
            "threshold": self.threshold,
            "files": self.file_digests,
        }
        return hashlib.sha256(
            json.dumps(logic, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()

    def nodes(self) -> list[Any]:
        return walk(self.match)

    @property
    def keywords(self) -> list[str]:
        """Every keyword and proximity term the rule uses."""
        out: list[str] = []
        for node in self.nodes():
            if isinstance(node, KeywordsCondition):
                out += list(node.keywords)
            elif isinstance(node, NearCondition):
                out += node.near
        return out


class Pack(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pack: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    description: str = ""
    defaults: dict[str, Any] = Field(default_factory=dict)
    rules: list[Rule] = Field(min_length=1)


class ViolationTypes(BaseModel):
    model_config = ConfigDict(extra="forbid")

    violation_types: dict[str, Localized] = Field(min_length=1)
