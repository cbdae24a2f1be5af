"""Launching Debian's Chromium through Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.async_api import Browser, Playwright

from evidence.chromium import CHROMIUM_ARGS
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
    try:
        return await pw.chromium.launch(
            executable_path=str(exe), args=CHROMIUM_ARGS, env=env, headless=True
        )
    except Exception as exc:
        raise BrowserUnavailable(f"Chromium failed to start: {exc}") from exc
