"""No distributed crawl on a Redis server anyone on the network can write to.

Whoever writes to the request queue decides what every crawl worker fetches, so the
scheduler (:func:`crawler.distributed.start_runs`) and every crawl worker (its Redis
scheduler) check the server first (:func:`check_redis`):

- a connection *without* credentials sends ``PING``; if the server answers, it accepts
  anyone who can reach it;
- such a server on another host is refused (:class:`RedisExposedError`, naming the URL
  without its password); on this host (a loopback address or a Unix socket) it is
  allowed with a warning: only local processes reach it (the tests' server);
- a server that asks for a password (``requirepass``, or an ACL whose ``default`` user
  is off: see ``deploy/redis/``) is fine, and kuzet's URL carries the credentials.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import socket
from typing import Any
from urllib.parse import urlsplit

from kuzet.i18n import t
from kuzet.redact import redact_url

logger = logging.getLogger(__name__)


class RedisExposedError(RuntimeError):
    """The Redis server accepts unauthenticated clients and is not on this host."""

    def __init__(self, url: str) -> None:
        self.url = redact_url(url) or ""
        super().__init__(self.localized("en"))

    def localized(self, lang: str) -> str:
        return t("redis.exposed", lang, url=self.url)


class Verdict(enum.Enum):
    PROTECTED = "protected"  # asks for credentials
    LOCAL_OPEN = "local_open"  # open, but only to this host: allowed with a warning
    EXPOSED = "exposed"  # open to the network: refused


def decide(local: bool, answers_without_auth: bool) -> Verdict:
    if not answers_without_auth:
        return Verdict.PROTECTED
    return Verdict.LOCAL_OPEN if local else Verdict.EXPOSED


def is_local(url: str) -> bool:
    """A Unix socket, or a host whose every address is a loopback one."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return True
    host = parts.hostname or "localhost"
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        return False  # unknown here: not taken for local
    return bool(addresses) and all(_loopback(a) for a in addresses)


def _loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def without_credentials(url: str) -> str:
    """``url`` without user, password or ``?password=``."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = "&".join(
        p
        for p in parts.query.split("&")
        if p and p.split("=", 1)[0] not in ("password", "username")
    )
    return parts._replace(netloc=netloc, query=query).geturl()


def answers_without_auth(url: str) -> bool:
    """Whether the server at ``url`` answers ``PING`` to a client with no credentials.
    A server that cannot be reached raises redis-py's ``ConnectionError``."""
    import redis

    client: Any = redis.Redis.from_url(without_credentials(url), socket_timeout=5)
    try:
        return bool(client.ping())
    except (redis.AuthenticationError, redis.exceptions.NoPermissionError):
        return False
    except redis.ResponseError as exc:  # NOAUTH on servers that say it so
        if "NOAUTH" in str(exc) or "NOPERM" in str(exc):
            return False
        raise
    finally:
        client.close()


def check_redis(url: str, lang: str = "en") -> Verdict:
    """Refuse (:class:`RedisExposedError`) a Redis that anyone on the network may use."""
    verdict = decide(is_local(url), answers_without_auth(url))
    if verdict is Verdict.EXPOSED:
        raise RedisExposedError(url)
    if verdict is Verdict.LOCAL_OPEN:
        logger.warning("%(message)s", {"message": t("redis.local_open", lang, url=redact_url(url))})
    return verdict
