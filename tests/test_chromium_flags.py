"""The browser really runs with the feature switches kuzet means it to have."""

from __future__ import annotations

import asyncio

from playwright.async_api import async_playwright

from evidence.browser import launch
from evidence.chromium import KUZET_DISABLED_FEATURES


def _switches(command_line: str, name: str) -> list[set[str]]:
    prefix = f"--{name}="
    return [
        set(part[len(prefix) :].split(","))
        for part in command_line.split()
        if part.startswith(prefix)
    ]


def test_our_disabled_features_keep_playwrights(settings, chromium) -> None:
    async def command_line() -> str:
        async with async_playwright() as pw:
            browser = await launch(pw, settings)
            try:
                page = await browser.new_page()
                await page.goto("chrome://version")
                return await page.inner_text("#command_line")
            finally:
                await browser.close()

    switches = _switches(asyncio.run(command_line()), "disable-features")
    assert switches, "no --disable-features on the browser's command line"
    # Chromium applies only the last one: it must hold every feature any earlier one names
    # (Playwright's defaults), and ours.
    effective = switches[-1]
    for earlier in switches[:-1]:
        assert earlier <= effective, f"dropped by our switch: {sorted(earlier - effective)}"
    assert set(KUZET_DISABLED_FEATURES) <= effective
