"""The encoding of queued requests in Redis: JSON, never pickle.

scrapy-redis's default serializer is pickle: anyone who can write to the queue would run
code in every crawl worker that pops the entry. This module is the ``SCHEDULER_SERIALIZER``
of distributed crawls (scrapy-redis calls ``dumps`` on the dict of
:meth:`scrapy.Request.to_dict` and ``loads`` on what it pops). Decoding builds nothing but
``dict``, ``list``, ``str``, numbers, ``bool``, ``None``, ``bytes`` and ``tuple``.

JSON has no bytes (bodies, header names and values), no tuples and string keys only;
those travel as one-key objects: ``{"$b": "<base64>"}``, ``{"$t": [...]}`` and
``{"$d": [[key, value], ...]}`` (a dict with a key that is not a string, or that starts
with ``$``, so a meta key can never pass for a tag).

:func:`loads` raises :class:`QueuedRequestError` for anything that is not such an encoded
request: the queue drops and counts it (:class:`crawler.distributed.ReliableQueue`).
"""

from __future__ import annotations

import binascii
import json
from base64 import b64decode, b64encode
from typing import Any

# Bigger than any request a crawl queues (GETs with a few headers); bounds a worker's
# memory against a hostile entry.
MAX_ENCODED_BYTES = 1 << 20

# What Request.to_dict writes (scrapy 2.19), and nothing else.
REQUEST_KEYS = frozenset(
    {
        "url", "callback", "errback", "headers", "body", "cookies", "meta", "encoding",
        "flags", "cb_kwargs", "dont_filter", "method", "priority", "_class",
    }
)  # fmt: skip
# request_from_dict imports the class an entry names: only these, never any other import.
REQUEST_CLASSES = frozenset(
    {"scrapy.http.request.form.FormRequest", "scrapy.http.request.json_request.JsonRequest"}
)


class QueuedRequestError(ValueError):
    """A queue entry that is not an encoded request (garbage, pickle, a forged shape)."""


def _encode(value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray):
        return {"$b": b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, list):
        return [_encode(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return {"$t": [_encode(v, f"{path}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: _encode(v, f"{path}.{k}") for k, v in value.items()}
        return {"$d": [[_encode(k, path), _encode(v, f"{path}.{k!r}")] for k, v in value.items()]}
    raise TypeError(f"a queued request cannot carry {path} = {type(value).__name__}")


def encodable(value: Any) -> bool:
    """Whether :func:`dumps` can carry ``value``."""
    try:
        _encode(value, "value")
    except TypeError:
        return False
    return True


def dumps(obj: dict[str, Any]) -> bytes:
    """The JSON form of a request dict; TypeError names the value JSON cannot carry."""
    return json.dumps(_encode(obj, "request"), separators=(",", ":")).encode("utf-8")


def _tagged(obj: dict[str, Any]) -> Any:
    """json's object hook: a tagged object back to its value, a plain one as it is."""
    tags = [k for k in obj if k.startswith("$")]
    if not tags:
        return obj
    if len(obj) != 1:
        raise QueuedRequestError(f"a tagged object has other keys: {sorted(obj)[:5]}")
    tag, value = next(iter(obj.items()))
    if tag == "$b" and isinstance(value, str):
        try:
            return b64decode(value, validate=True)
        except binascii.Error as exc:
            raise QueuedRequestError(f"bytes not in base64: {exc}") from exc
    if tag == "$t" and isinstance(value, list):
        return tuple(value)
    if tag == "$d" and isinstance(value, list):
        if not all(isinstance(p, list) and len(p) == 2 for p in value):
            raise QueuedRequestError("a dict's items are not pairs")
        try:
            return {k: v for k, v in value}
        except TypeError as exc:  # a key that cannot be one (a list, a dict)
            raise QueuedRequestError(f"a dict key is not hashable: {exc}") from exc
    raise QueuedRequestError(f"unknown tag {tag!r}")


def loads(data: bytes | str) -> dict[str, Any]:
    """The request dict encoded in ``data``; :class:`QueuedRequestError` if it is not one."""
    if len(data) > MAX_ENCODED_BYTES:
        raise QueuedRequestError(f"entry of {len(data)} bytes (at most {MAX_ENCODED_BYTES})")
    try:
        obj = json.loads(data, object_hook=_tagged)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise QueuedRequestError(f"not JSON: {exc}") from exc
    except RecursionError as exc:
        raise QueuedRequestError("nested too deep") from exc
    if not isinstance(obj, dict):
        raise QueuedRequestError(f"a {type(obj).__name__}, not a request")
    unknown = set(obj) - REQUEST_KEYS
    if unknown:
        raise QueuedRequestError(f"unknown request fields: {sorted(map(str, unknown))[:5]}")
    if "_class" in obj and obj["_class"] not in REQUEST_CLASSES:
        raise QueuedRequestError(f"request class {str(obj['_class'])[:80]!r} not allowed")
    if not isinstance(obj.get("url"), str):
        raise QueuedRequestError("no URL")
    if not isinstance(obj.get("meta", {}), dict):
        raise QueuedRequestError("meta is not a mapping")
    return obj
