"""What the browser exchanged with the network during one page load, and its TLS facts.

Recorded through the DevTools protocol (Chromium's own view): every request with its
headers, every response with status, headers, remote IP, protocol and body, redirect hops
included. Bodies are fetched as each load finishes, while the browser still holds them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from playwright.async_api import CDPSession

from evidence.warc import Exchange, _http_version

logger = logging.getLogger(__name__)


class NetworkRecorder:
    def __init__(self, cdp: CDPSession) -> None:
        self.cdp = cdp
        self.exchanges: list[Exchange] = []
        self._current: dict[str, Exchange] = {}
        self._hops: dict[str, list[dict[str, Any]]] = {}
        self._security: dict[str, dict[str, Any]] = {}
        self._bodies: list[asyncio.Task[None]] = []
        self.main_request: str | None = None
        self.failed: list[dict[str, str]] = []

    async def start(self) -> None:
        self.cdp.on("Network.requestWillBeSent", self._on_request)
        self.cdp.on("Network.responseReceived", self._on_response)
        self.cdp.on("Network.loadingFinished", self._on_finished)
        self.cdp.on("Network.loadingFailed", self._on_failed)
        await self.cdp.send(
            "Network.enable",
            {"maxTotalBufferSize": 200_000_000, "maxResourceBufferSize": 50_000_000},
        )

    # ------------------------------------------------------------------ events

    def _on_request(self, ev: dict[str, Any]) -> None:
        rid = ev["requestId"]
        redirect = ev.get("redirectResponse")
        previous = self._current.get(rid)
        if redirect and previous is not None:
            self._fill(previous, redirect)
            headers = {k.lower(): v for k, v in redirect.get("headers", {}).items()}
            self._hop(rid, previous, headers.get("location"))
        req = ev.get("request", {})
        ex = Exchange(
            url=req.get("url", ""),
            method=req.get("method", "GET"),
            request_headers=dict(req.get("headers", {})),
            request_body=(req.get("postData") or "").encode() or None,
            at=datetime.now(UTC),
        )
        self.exchanges.append(ex)
        self._current[rid] = ex
        if self.main_request is None and ev.get("type") == "Document":
            self.main_request = rid

    def _on_response(self, ev: dict[str, Any]) -> None:
        ex = self._current.get(ev["requestId"])
        if ex is not None:
            resp = ev.get("response", {})
            self._fill(ex, resp)
            if resp.get("securityDetails"):
                self._security[ev["requestId"]] = resp["securityDetails"]

    def _on_finished(self, ev: dict[str, Any]) -> None:
        rid = ev["requestId"]
        ex = self._current.get(rid)
        if ex is not None and ex.status is not None:
            self._bodies.append(asyncio.ensure_future(self._body(rid, ex)))

    def _on_failed(self, ev: dict[str, Any]) -> None:
        ex = self._current.get(ev["requestId"])
        if ex is not None:
            self.failed.append({"url": ex.url, "error": ev.get("errorText", "")})

    @staticmethod
    def _fill(ex: Exchange, resp: dict[str, Any]) -> None:
        ex.status = resp.get("status")
        ex.status_text = resp.get("statusText", "")
        ex.response_headers = dict(resp.get("headers", {}))
        ex.http_version = _http_version(resp.get("protocol"))
        ex.ip = resp.get("remoteIPAddress")

    def _hop(self, rid: str, ex: Exchange, location: str | None) -> None:
        if rid == self.main_request:
            self._hops.setdefault(rid, []).append(
                {"url": ex.url, "status": ex.status, "location": location}
            )

    async def _body(self, rid: str, ex: Exchange) -> None:
        try:
            got = await self.cdp.send("Network.getResponseBody", {"requestId": rid})
        except Exception as exc:  # evicted or not kept (e.g. a 204): recorded empty
            logger.debug("No body for %(url)s: %(exc)s", {"url": ex.url, "exc": exc})
            return
        body = got.get("body", "")
        ex.body = base64.b64decode(body) if got.get("base64Encoded") else body.encode("utf-8")

    # ----------------------------------------------------------------- results

    async def finish(self, timeout_s: float) -> None:
        """Wait for the bodies still being fetched (those not back in time stay empty)."""
        if self._bodies:
            await asyncio.wait(self._bodies, timeout=timeout_s)

    @property
    def main(self) -> Exchange | None:
        return self._current.get(self.main_request or "")

    def redirect_chain(self) -> list[dict[str, Any]]:
        """The main document's hops before its final URL."""
        return list(self._hops.get(self.main_request or "", []))

    async def tls(self) -> dict[str, Any] | None:
        """TLS version, cipher and the certificate chain of the main document."""
        details = self._security.get(self.main_request or "")
        main = self.main
        if not details or main is None:
            return None
        out: dict[str, Any] = {
            "protocol": details.get("protocol"),
            "key_exchange": details.get("keyExchange") or details.get("keyExchangeGroup"),
            "cipher": details.get("cipher"),
            "subject": details.get("subjectName"),
            "issuer": details.get("issuer"),
            "valid_from": _ts(details.get("validFrom")),
            "valid_to": _ts(details.get("validTo")),
            "san": details.get("sanList", []),
            "certificate_chain": [],
        }
        origin = "/".join(main.url.split("/", 3)[:3])
        try:
            got = await self.cdp.send("Network.getCertificate", {"origin": origin})
            out["certificate_chain"] = [describe_certificate(c) for c in got.get("tableNames", [])]
        except Exception as exc:
            out["certificate_chain_error"] = f"{type(exc).__name__}: {exc}"
        return out


def _ts(value: float | None) -> str | None:
    return datetime.fromtimestamp(value, UTC).isoformat() if value else None


def describe_certificate(der_b64: str) -> dict[str, Any]:
    der = base64.b64decode(der_b64)
    cert = x509.load_der_x509_certificate(der)
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "sha256": hashlib.sha256(der).hexdigest(),
    }
