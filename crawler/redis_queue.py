"""The shared request queue of distributed crawls (see :mod:`crawler.distributed`).

Entries are JSON (:mod:`crawler.serializers`), whatever a worker's settings say: a pickle
from Redis would run code in the worker. An entry that does not decode to a request of a
kuzet crawl (garbage, a pickle, a request naming a callback, class or run kuzet does not
queue) is refused: taken out of the queue and of the worker's in-flight hash, kept for
inspection in ``kuzet:rejected`` (the last :data:`REJECTED_KEEP`), logged and counted
(``kuzet/distributed/rejected``); the worker goes on with the next entry.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from scrapy.utils.request import request_from_dict
from scrapy_redis.queue import PriorityQueue

from crawler import serializers
from crawler.serializers import QueuedRequestError

logger = logging.getLogger(__name__)

REJECTED_KEY = "kuzet:rejected"
REJECTED_KEEP = 100
# What a queued request may name: the crawl worker spider's own relays, and the source
# spider methods those relay to (``meta["kuzet_cb"]``, ``meta["kuzet_eb"]``).
CALLBACKS = frozenset({"dispatch", "parse"})
ERRBACKS = frozenset({"dispatch_error"})
SOURCE_CALLBACKS = frozenset({"parse"})
SOURCE_ERRBACKS = frozenset({"on_error"})

# Scores and members are kept as Redis returns them (strings), so what goes back is
# exactly what was popped. An in-flight entry is "<score> <request>", under the SHA-1 of the
# request (the lease token).
_POP = """
local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #r == 0 then return false end
redis.call('ZREM', KEYS[1], r[1])
redis.call('HSET', KEYS[2], redis.sha1hex(r[1]), r[2] .. ' ' .. r[1])
return r[1]
"""

# KEYS: the run's seen set, request queue; ARGV: fingerprint, seen set TTL, score,
# request, '1' to push even if seen. The check and the push are one step: a worker dying
# between them would leave a request marked seen that no one will ever fetch.
_PUSH = """
local added = redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if added == 0 and ARGV[5] ~= '1' then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1
"""

# KEYS: in-flight hash, rejected list; ARGV: lease token, entry, how many to keep.
_REJECT = """
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
return 1
"""


def check_request(obj: dict[str, Any]) -> None:
    """Refuse a decoded entry that names what kuzet never queues."""
    if obj.get("callback") not in (None, *CALLBACKS):
        raise QueuedRequestError(f"callback {str(obj['callback'])[:60]!r} not allowed")
    if obj.get("errback") not in (None, *ERRBACKS):
        raise QueuedRequestError(f"errback {str(obj['errback'])[:60]!r} not allowed")
    meta = obj.get("meta") or {}
    if meta.get("kuzet_cb", "parse") not in SOURCE_CALLBACKS:
        raise QueuedRequestError(f"source callback {str(meta['kuzet_cb'])[:60]!r} not allowed")
    if meta.get("kuzet_eb", "on_error") not in SOURCE_ERRBACKS:
        raise QueuedRequestError(f"source errback {str(meta['kuzet_eb'])[:60]!r} not allowed")
    run = meta.get("kuzet_run")
    if run is not None and (type(run) is not int or run < 1):
        raise QueuedRequestError(f"run {str(run)[:20]!r} is not a run id")
    depth = meta.get("depth", 0)
    if type(depth) is not int or depth < 0:
        raise QueuedRequestError(f"depth {str(depth)[:20]!r} is not a depth")


class ReliableQueue(PriorityQueue):
    """scrapy-redis's priority queue, popping into the worker's in-flight hash atomically.

    The popped request carries its lease token (``meta["kuzet_lease"]``, the SHA-1 of its
    encoded form, as the hash's field) for the spider to let go of when it is done.
    """

    def __init__(self, server: Any, spider: Any, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializers)  # never pickle
        self._pop = server.register_script(_POP)
        self._push = server.register_script(_PUSH)
        self._reject = server.register_script(_REJECT)

    def pop(self, timeout: int = 0) -> Any:
        inflight = self.spider.worker.inflight
        while True:
            data = self._pop(keys=[self.key, inflight])
            if not data:
                return None
            lease = hashlib.sha1(data).hexdigest()  # the field _POP set
            try:
                request = self._decode_request(data)
            except (QueuedRequestError, TypeError, ValueError, KeyError, AttributeError) as exc:
                self._refuse(data, lease, exc)
                continue
            request.meta["kuzet_lease"] = lease
            return request

    def _encode_request(self, request: Any) -> bytes:
        """A request's JSON form; meta values that are not data (objects of this process,
        such as a browser page) stay behind, logged: another worker could not use them."""
        local = [k for k, v in request.meta.items() if not serializers.encodable(v)]
        if local:
            logger.warning(
                "%(request)s queued without meta %(keys)s (not data)",
                {"request": request, "keys": local},
            )
            for key in local:
                del request.meta[key]
        return super()._encode_request(request)  # type: ignore[no-any-return]

    def _decode_request(self, encoded_request: bytes) -> Any:
        obj = serializers.loads(encoded_request)
        check_request(obj)
        return request_from_dict(obj, spider=self.spider)

    def _refuse(self, data: bytes, lease: str, exc: Exception) -> None:
        self._reject(
            keys=[self.spider.worker.inflight, REJECTED_KEY], args=[lease, data, REJECTED_KEEP]
        )
        crawler = getattr(self.spider, "crawler", None)
        if crawler is not None and crawler.stats is not None:
            crawler.stats.inc_value("kuzet/distributed/rejected")
        logger.error(
            "Queue entry refused (%(error)s), moved to %(key)s: %(head)r",
            {"error": exc, "key": REJECTED_KEY, "head": data[:80]},
        )

    def push_unseen(
        self, request: Any, seen_key: str, fingerprint: str, ttl_s: int, *, force: bool = False
    ) -> bool:
        """Mark ``fingerprint`` seen in ``seen_key`` (for ``ttl_s``) and push ``request``,
        unless it was seen already (then False) and not ``force``."""
        data = self._encode_request(request)
        args = [fingerprint, ttl_s, -request.priority, data, "1" if force else "0"]
        return bool(self._push(keys=[seen_key, self.key], args=args))
