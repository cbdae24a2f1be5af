"""Saved logins for sources behind a login: Playwright storage-state files.

A profile is ``$KUZET_HOME/profiles/<name>.json`` in Playwright's storage-state format. It
is recorded in a real browser (``kuzet sources login NAME`` where a display exists) or
imported from a cookies file: Netscape ``cookies.txt`` or JSON (a list of cookies, or a
storage state). The crawler sends its cookies; the browser (rendering, evidence capture)
loads the whole state.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class ProfileError(ValueError):
    pass


def profile_path(profiles_dir: Path, name: str) -> Path:
    if not _NAME.match(name):
        raise ProfileError(f"invalid profile name {name!r}")
    return profiles_dir / f"{name}.json"


def parse_cookies_file(path: Path) -> list[dict[str, Any]]:
    """Cookies from a Netscape cookies.txt or a JSON export; errors name the file and line."""
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProfileError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
        cookies = data.get("cookies", []) if isinstance(data, dict) else data
        out = []
        for i, c in enumerate(cookies):
            if not isinstance(c, dict) or not {"name", "value", "domain"} <= set(c):
                raise ProfileError(f"{path}: cookie {i + 1} needs name, value and domain")
            out.append(
                {
                    "name": c["name"],
                    "value": str(c["value"]),
                    "domain": c["domain"],
                    "path": c.get("path", "/"),
                    "expires": float(c.get("expires", c.get("expirationDate", -1)) or -1),
                    "httpOnly": bool(c.get("httpOnly", False)),
                    "secure": bool(c.get("secure", False)),
                    "sameSite": c.get("sameSite", "Lax")
                    if c.get("sameSite") in ("Lax", "Strict", "None")
                    else "Lax",
                }
            )
        return out
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        http_only = line.startswith("#HttpOnly_")
        if http_only:
            line = line[len("#HttpOnly_") :]
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 7:
            raise ProfileError(f"{path}:{lineno}: a cookies.txt line has 7 tab-separated fields")
        domain, _sub, cpath, secure, expires, name, value = parts
        out.append(
            {
                "name": name,
                "value": value,
                "domain": domain,
                "path": cpath or "/",
                "expires": float(expires) if expires.strip() not in ("", "0") else -1,
                "httpOnly": http_only,
                "secure": secure.upper() == "TRUE",
                "sameSite": "Lax",
            }
        )
    if not out:
        raise ProfileError(f"{path}: no cookies found")
    return out


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Saved cookies are credentials: written 0600 from the start, in a 0700 folder."""
    from kuzet.secretfile import write_secret

    write_secret(path, json.dumps(state, ensure_ascii=False, indent=1).encode("utf-8"))


def load_state(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"login profile {path.stem!r} does not exist ({path})") from None


def _domain_matches(host: str, domain: str) -> bool:
    domain = domain.lstrip(".").lower()
    return host == domain or host.endswith("." + domain)


def cookie_header(state: dict[str, Any], url: str, now: float | None = None) -> str | None:
    """The Cookie header the profile's cookies give for ``url``."""
    parts = urlsplit(url)
    host, path = (parts.hostname or "").lower(), parts.path or "/"
    now = time.time() if now is None else now
    pairs = []
    for c in state.get("cookies", []):
        if not _domain_matches(host, c.get("domain", "")):
            continue
        if not path.startswith(c.get("path", "/")):
            continue
        if c.get("secure") and parts.scheme != "https":
            continue
        expires = c.get("expires", -1)
        if expires not in (-1, None) and expires < now:
            continue
        pairs.append(f"{c['name']}={c['value']}")
    return "; ".join(pairs) or None
