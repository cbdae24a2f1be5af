"""How kuzet starts Debian's Chromium: flags shared by capture and rendered crawling.

Kept free of Playwright imports so the crawl process loads it cheaply.
"""

from __future__ import annotations

# Without the background-networking flags Chromium keeps dialing Google services,
# which a closed network refuses; none of that traffic belongs in evidence.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--hide-scrollbars",
    "--mute-audio",
]
