"""Typed configuration, loaded once from the environment.

Every component receives a :class:`Settings` instance; nothing reads ``os.environ``
on its own, so tests can build settings explicitly.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kuzet.custody import CustodyFiles

DEFAULT_CHROMIUM = "/usr/lib/chromium/chromium"
LANGUAGES = ("kk", "ru", "en")
# KUZET_CHROMIUM_SANDBOX: decided from the host (auto), or forced (evidence/chromium.py).
CHROMIUM_SANDBOX_MODES = ("auto", "on", "off")


# deploy/kuzet.env.example ships this placeholder; kuzet refuses to run with it.
EXAMPLE_SECRET_KEY = "change-me-to-a-long-random-string"
MIN_SECRET_KEY = 32


class ConfigError(ValueError):
    """A setting kuzet refuses to run with; the message is in the installation's language."""


def _list(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    chromium_path: str = DEFAULT_CHROMIUM
    chromium_sandbox: str = "auto"
    rules_dir: Path = field(
        default_factory=lambda: Path(__file__).resolve().parent.parent / "rules" / "packs"
    )
    language: str = "kk"
    authority: str = ""
    capture_concurrency: int = 2
    capture_timeout_s: float = 30.0
    # Full-page screenshots stop at this height (the cut is recorded in the metadata).
    capture_max_height: int = 20_000
    capture_pdf: bool = False  # also print the page to PDF
    # Hosts every capture may reach though private (host, or host:port; kuzet.netguard),
    # besides a source's own host when the source allows private addresses.
    capture_allow_private: tuple[str, ...] = ()
    # RFC 3161 time-stamping authority for manifests, and its root certificate(s) (PEM).
    tsa_url: str | None = None
    tsa_ca: Path | None = None
    # Outbound proxy for every source without its own (http://, https://, socks5://).
    proxy: str | None = None
    # After a notice is sent: first re-check of its URLs (the law gives six hours), then
    # every so often until each is removed.
    recheck_after_h: float = 6.0
    recheck_every_h: float = 6.0
    # A scheduled run missed by up to this much (scheduler down) still runs, once.
    misfire_grace_s: int = 3600
    # Alerts: categories the first head hears about at once (seed 003), and where to.
    urgent_types: tuple[str, ...] = ("suicide_promotion", "extremism_terrorism")
    smtp_url: str | None = None  # smtp://host:port (plain; a local relay)
    alert_from: str = "kuzet@localhost"
    alert_to: tuple[str, ...] = ()
    alert_webhook: str | None = None
    alert_digest_min: int = 0  # 0: each alert at once; N: one message every N minutes
    # Distributed crawling: the Redis server holding the shared request queue and
    # duplicate filter (redis://host:6379/0). Unset: each crawl runs in one process.
    redis_url: str | None = None
    # A crawl worker silent this long is taken for dead; its requests are crawled again.
    crawl_worker_ttl_s: int = 30
    # Review UI: the session signing key (KUZET_SECRET_KEY; unset: a file in KUZET_HOME),
    # the reverse proxies whose X-Forwarded-For/-Proto are believed (addresses or CIDRs),
    # and the bearer token /metrics asks of callers that are not on this machine.
    session_key: str | None = field(default=None, repr=False)
    trusted_proxies: tuple[str, ...] = ()
    metrics_token: str | None = field(default=None, repr=False)
    # Custody log: its Ed25519 signing key, kept outside the database (default
    # $KUZET_HOME/custody.key), and the entries between automatic signed checkpoints.
    custody_key_file: Path | None = None
    custody_checkpoint_every: int = 1000

    @property
    def evidence_dir(self) -> Path:
        return self.home / "evidence"

    @property
    def browser_profile_dir(self) -> Path:
        return self.home / "browser"

    @property
    def profiles_dir(self) -> Path:
        """Saved logins (Playwright storage state), one JSON file per profile name."""
        return self.home / "profiles"

    def __post_init__(self) -> None:
        # The custody log signs with this store's key wherever its database is opened.
        from kuzet import custody

        custody.register(self.database_url, self.custody_files)

    @property
    def custody_files(self) -> CustodyFiles:
        from kuzet.custody import CustodyFiles

        return CustodyFiles(
            key_file=self.custody_key_file or self.home / "custody.key",
            dir=self.home / "custody",
            checkpoint_every=self.custody_checkpoint_every,
        )

    def ensure_home(self) -> Path:
        """KUZET_HOME, created 0700 (it holds the database, keys and evidence)."""
        from kuzet.secretfile import private_dir

        return private_dir(self.home)

    def secret_key(self) -> str:
        """The web session signing key: KUZET_SECRET_KEY, or a file created once (0600).

        Raises :class:`ConfigError` for the example key or one shorter than
        :data:`MIN_SECRET_KEY` characters."""
        from kuzet.i18n import t
        from kuzet.secretfile import read_or_create

        key = self.session_key
        if key is None:
            self.ensure_home()
            made = read_or_create(
                self.home / "secret_key", lambda: secrets.token_urlsafe(48).encode()
            )
            key = made.decode().strip()
        if key == EXAMPLE_SECRET_KEY or len(key) < MIN_SECRET_KEY:
            raise ConfigError(t("config.secret_key_weak", self.language, n=MIN_SECRET_KEY))
        return key

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("KUZET_HOME") or "./var").resolve()
        db_url = env.get("KUZET_DATABASE_URL") or f"sqlite:///{home / 'kuzet.db'}"
        lang = env.get("KUZET_LANG", "kk")
        if lang not in LANGUAGES:
            raise ValueError(f"KUZET_LANG must be one of {', '.join(LANGUAGES)}, not {lang!r}")
        sandbox = env.get("KUZET_CHROMIUM_SANDBOX") or "auto"
        if sandbox not in CHROMIUM_SANDBOX_MODES:
            from kuzet.i18n import t

            modes = ", ".join(CHROMIUM_SANDBOX_MODES)
            raise ConfigError(
                t("config.chromium_sandbox_invalid", lang, modes=modes, value=sandbox)
            )
        kwargs: dict[str, object] = {}
        if env.get("KUZET_RULES_DIR"):
            kwargs["rules_dir"] = Path(env["KUZET_RULES_DIR"]).resolve()
        return cls(
            home=home,
            database_url=db_url,
            chromium_path=env.get("KUZET_CHROMIUM", DEFAULT_CHROMIUM),
            chromium_sandbox=sandbox,
            language=lang,
            authority=env.get("KUZET_AUTHORITY", ""),
            capture_concurrency=int(env.get("KUZET_CAPTURE_CONCURRENCY", "2")),
            capture_timeout_s=float(env.get("KUZET_CAPTURE_TIMEOUT", "30")),
            capture_max_height=int(env.get("KUZET_CAPTURE_MAX_HEIGHT", "20000")),
            capture_pdf=env.get("KUZET_CAPTURE_PDF", "") in ("1", "true", "yes"),
            capture_allow_private=_list(env.get("KUZET_CAPTURE_ALLOW_PRIVATE", "")),
            tsa_url=env.get("KUZET_TSA_URL") or None,
            tsa_ca=Path(env["KUZET_TSA_CA"]).resolve() if env.get("KUZET_TSA_CA") else None,
            proxy=env.get("KUZET_PROXY") or None,
            recheck_after_h=float(env.get("KUZET_RECHECK_AFTER_H", "6")),
            recheck_every_h=float(env.get("KUZET_RECHECK_EVERY_H", "6")),
            misfire_grace_s=int(env.get("KUZET_MISFIRE_GRACE_S", "3600")),
            urgent_types=_list(
                env.get("KUZET_URGENT_TYPES", "suicide_promotion,extremism_terrorism")
            ),
            smtp_url=env.get("KUZET_SMTP_URL") or None,
            alert_from=env.get("KUZET_ALERT_FROM") or "kuzet@localhost",
            alert_to=_list(env.get("KUZET_ALERT_TO", "")),
            alert_webhook=env.get("KUZET_ALERT_WEBHOOK") or None,
            alert_digest_min=int(env.get("KUZET_ALERT_DIGEST_MIN", "0")),
            redis_url=env.get("KUZET_REDIS_URL") or None,
            crawl_worker_ttl_s=int(env.get("KUZET_CRAWL_WORKER_TTL_S", "30")),
            session_key=env.get("KUZET_SECRET_KEY") or None,
            trusted_proxies=_list(env.get("KUZET_TRUSTED_PROXIES", "")),
            metrics_token=env.get("KUZET_METRICS_TOKEN") or None,
            custody_key_file=(
                Path(env["KUZET_CUSTODY_KEY_FILE"]).resolve()
                if env.get("KUZET_CUSTODY_KEY_FILE")
                else None
            ),
            custody_checkpoint_every=int(env.get("KUZET_CUSTODY_CHECKPOINT_EVERY", "1000")),
            **kwargs,  # type: ignore[arg-type]
        )

    def to_env(self) -> dict[str, str]:
        """The environment a child process needs to see the same settings."""
        return {
            "KUZET_HOME": str(self.home),
            "KUZET_DATABASE_URL": self.database_url,
            "KUZET_CHROMIUM": self.chromium_path,
            "KUZET_CHROMIUM_SANDBOX": self.chromium_sandbox,
            "KUZET_RULES_DIR": str(self.rules_dir),
            "KUZET_LANG": self.language,
            "KUZET_AUTHORITY": self.authority,
            "KUZET_PROXY": self.proxy or "",
            "KUZET_CAPTURE_CONCURRENCY": str(self.capture_concurrency),
            "KUZET_CAPTURE_TIMEOUT": str(self.capture_timeout_s),
            "KUZET_CAPTURE_MAX_HEIGHT": str(self.capture_max_height),
            "KUZET_CAPTURE_PDF": "1" if self.capture_pdf else "",
            "KUZET_CAPTURE_ALLOW_PRIVATE": ",".join(self.capture_allow_private),
            "KUZET_TSA_URL": self.tsa_url or "",
            "KUZET_TSA_CA": str(self.tsa_ca) if self.tsa_ca else "",
            "KUZET_RECHECK_AFTER_H": str(self.recheck_after_h),
            "KUZET_RECHECK_EVERY_H": str(self.recheck_every_h),
            "KUZET_MISFIRE_GRACE_S": str(self.misfire_grace_s),
            "KUZET_URGENT_TYPES": ",".join(self.urgent_types),
            "KUZET_SMTP_URL": self.smtp_url or "",
            "KUZET_ALERT_FROM": self.alert_from,
            "KUZET_ALERT_TO": ",".join(self.alert_to),
            "KUZET_ALERT_WEBHOOK": self.alert_webhook or "",
            "KUZET_ALERT_DIGEST_MIN": str(self.alert_digest_min),
            "KUZET_REDIS_URL": self.redis_url or "",
            "KUZET_CRAWL_WORKER_TTL_S": str(self.crawl_worker_ttl_s),
            "KUZET_SECRET_KEY": self.session_key or "",
            "KUZET_TRUSTED_PROXIES": ",".join(self.trusted_proxies),
            "KUZET_METRICS_TOKEN": self.metrics_token or "",
            "KUZET_CUSTODY_KEY_FILE": str(self.custody_key_file or ""),
            "KUZET_CUSTODY_CHECKPOINT_EVERY": str(self.custody_checkpoint_every),
        }
