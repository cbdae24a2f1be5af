"""Launching Debian's Chromium through Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.async_api import Browser, Playwright

from evidence.chromium import CHROMIUM_ARGS, launch_options, sandbox_decision
from kuzet.config import Settings

__all__ = ["CHROMIUM_ARGS", "BrowserUnavailable", "launch"]


class BrowserUnavailable(RuntimeError):
    pass


async def launch(pw: Playwright, settings: Settings) -> Browser:
    exe = Path(settings.chromium_path)
    if not exe.is_file():
        raise BrowserUnavailable(
            f"Chromium not found at {exe}; install Debian's 'chromium' package "
            "(./scripts/setup does) or set KUZET_CHROMIUM"
        )
    home = settings.browser_profile_dir
    home.mkdir(parents=True, exist_ok=True)
    # The browser gets its own HOME so it never writes into the user's (dconf, caches).
    env = {**os.environ, "HOME": str(home)}
    sandbox = sandbox_decision(settings.chromium_sandbox)
    try:
        return await pw.chromium.launch(
            executable_path=str(exe), env=env, headless=True, **launch_options(sandbox)
        )
    except Exception as exc:
        hint = ""
        if sandbox.enabled:
            hint = (
                f" (sandbox {sandbox.describe()}; where this host cannot give Chromium its"
                " sandbox, set KUZET_CHROMIUM_SANDBOX=off: see deploy/README.md)"
            )
        raise BrowserUnavailable(f"Chromium failed to start: {exc}{hint}") from exc
