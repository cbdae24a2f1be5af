"""WARC and WACZ of a page load: every request and response the browser made.

The browser hands over decoded bodies (no transfer or content encoding left), so the
response records carry the headers as received minus ``Content-Encoding`` and
``Transfer-Encoding``, with a ``Content-Length`` that matches the body stored; the
original values are kept as ``X-Kuzet-Original-*`` headers. This is how browser-based
archiving tools record a page load too.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

_DROP = {"content-encoding", "transfer-encoding", "content-length"}


@dataclass
class Exchange:
    """One request and its response, as the browser saw them."""

    url: str
    method: str = "GET"
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: bytes | None = None
    status: int | None = None
    status_text: str = ""
    response_headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    http_version: str = "HTTP/1.1"
    ip: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _http_version(protocol: str | None) -> str:
    p = (protocol or "").lower()
    return {"h2": "HTTP/2", "h3": "HTTP/3", "http/1.0": "HTTP/1.0"}.get(p, "HTTP/1.1")


def build_warc(exchanges: Sequence[Exchange], *, software: str, info: dict[str, str]) -> bytes:
    """A gzipped WARC 1.1: a warcinfo record, then request/response pairs (in order)."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="WARC/1.1")
    fields = {"software": software, "format": "WARC File Format 1.1", **info}
    writer.write_record(writer.create_warcinfo_record("capture.warc.gz", fields))
    for ex in exchanges:
        if ex.status is None or ex.url.startswith("data:"):
            continue  # no response to record (failed or blocked request)
        when = ex.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        path = ex.url.split("://", 1)[-1].partition("/")[2]
        req_headers = StatusAndHeaders(
            f"{ex.method} /{path} {ex.http_version}",
            list(ex.request_headers.items()),
            is_http_request=True,
        )
        request = writer.create_warc_record(
            ex.url,
            "request",
            payload=io.BytesIO(ex.request_body or b""),
            http_headers=req_headers,
            warc_headers_dict={"WARC-Date": when},
        )
        body = ex.body or b""
        headers = [(k, v) for k, v in ex.response_headers.items() if k.lower() not in _DROP]
        for k, v in ex.response_headers.items():
            if k.lower() in _DROP:
                headers.append((f"X-Kuzet-Original-{k}", v))
        headers.append(("Content-Length", str(len(body))))
        resp_headers = StatusAndHeaders(
            f"{ex.status} {ex.status_text or 'OK'}", headers, protocol=ex.http_version
        )
        warc_headers = {"WARC-Date": when}
        if ex.ip:
            warc_headers["WARC-IP-Address"] = ex.ip
        response = writer.create_warc_record(
            ex.url,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=resp_headers,
            warc_headers_dict=warc_headers,
        )
        request.rec_headers.add_header("WARC-Concurrent-To", response.rec_headers["WARC-Record-ID"])
        writer.write_record(response)
        writer.write_record(request)
    return out.getvalue()


def check_warc(data: bytes) -> list[str]:
    """What is wrong inside a WARC (empty when sound): records that do not parse, and
    records whose recorded block or payload digest does not match their content, each
    named by type and target URI."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    problems: list[str] = []
    records = ArchiveIterator(io.BytesIO(data), check_digests=True)
    try:
        for n, record in enumerate(records, 1):
            record.content_stream().read()
            found = record.digest_checker.problems
            if found:
                uri = record.rec_headers.get_header("WARC-Target-URI") or "-"
                problems += [f"record {n} ({record.rec_type} {uri}): {p}" for p in found]
    except ArchiveLoadFailed as exc:
        reason = str(exc).strip().splitlines()[0].removeprefix("ERROR: ")
        where = f" after {records.offset} bytes" if records.offset > 0 else ""
        problems.append(f"unreadable{where}: {reason}")
    return problems


def build_wacz(warc: bytes, *, url: str, at: datetime, title: str) -> bytes:
    """A WACZ package of one capture's WARC, its index and its one page.

    Built through the package's functions, never its command line: ``url`` and ``title``
    come from the page, and a value such as ``--help`` must stay a value.
    """
    from wacz.main import create_wacz

    ts = at.strftime("%Y%m%d%H%M%S")
    with tempfile.TemporaryDirectory(prefix="kuzet-wacz-") as tmp:
        d = Path(tmp)
        (d / "capture.warc.gz").write_bytes(warc)
        pages = [
            {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"},
            {
                "id": "main",
                "url": url,
                "ts": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "title": title or url,
                "seed": True,
            },
        ]
        (d / "pages.jsonl").write_text(
            "\n".join(json.dumps(p, ensure_ascii=False) for p in pages) + "\n", "utf-8"
        )
        out = d / "capture.wacz"
        request = _create_request(
            output=str(out),
            inputs=[str(d / "capture.warc.gz")],
            pages=str(d / "pages.jsonl"),
            copy_pages=True,  # as written: the indexer would put the URL in the title's place
            url=url,
            ts=ts,
            title=title or url,
        )
        with contextlib.redirect_stdout(io.StringIO()) as said:
            code = _call(create_wacz, request)
        if code not in (0, None) or not out.is_file():
            raise RuntimeError(f"WACZ not created: {said.getvalue().strip()[-300:]}")
        return out.read_bytes()


def _create_request(**given: Any) -> argparse.Namespace:
    """What ``wacz create`` would have parsed from its arguments: every option it reads,
    at its default unless given."""
    options: dict[str, Any] = {
        "file": False,
        "extra_pages": None,
        "text": False,
        "detect_pages": False,
        "copy_pages": False,
        "hash_type": None,
        "log_directory": None,
        "split_seeds": False,
        "date": None,
        "desc": None,
        "signing_url": None,
        "signing_token": None,
    }
    return argparse.Namespace(**{**options, **given})


def _call(func: Callable[[argparse.Namespace], Any], request: argparse.Namespace) -> Any:
    """Run a ``wacz`` command function; a ``SystemExit`` from inside it is an error like
    any other, never the end of the calling worker."""
    try:
        return func(request)
    except SystemExit as exc:
        raise RuntimeError(f"wacz exited with {exc.code}") from exc


def validate_wacz(path: Path) -> tuple[bool, str]:
    """Whether a WACZ file passes the format's validator, and what it said."""
    from wacz.main import validate_wacz as wacz_validate

    request = argparse.Namespace(file=str(path), verify_auth=False, verifier_url=None)
    with contextlib.redirect_stdout(io.StringIO()) as said:
        try:
            code = _call(wacz_validate, request)
        except Exception as exc:  # a broken zip raises instead of answering
            return False, f"{type(exc).__name__}: {exc}"
    return code == 0, said.getvalue().strip()


__all__ = [
    "Exchange",
    "_http_version",
    "build_wacz",
    "build_warc",
    "check_warc",
    "validate_wacz",
]
