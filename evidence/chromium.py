"""How kuzet starts Debian's Chromium: flags shared by capture and rendered crawling.

Kept free of Playwright imports so the crawl process loads it cheaply.
"""

from __future__ import annotations

# Playwright's own --disable-features list (playwright 1.65, chromiumSwitches). Chromium
# keeps only the *last* --disable-features switch, and ours comes after Playwright's, so
# it must repeat that list or it would switch those features back on. A test reads the
# launched browser's command line to catch a Playwright upgrade that changes it.
PLAYWRIGHT_DISABLED_FEATURES = [
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
]
# Every new browser context opens a window whose address-bar pop-ups are web pages of
# their own (chrome://omnibox-popup), loaded in extra renderer processes: about 0.6 s
# of CPU per context, more than a whole capture's screenshots. A headless browser never
# shows them.
KUZET_DISABLED_FEATURES = ["WebUIOmniboxPopup", "WebUIOmniboxAimPopup"]

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
    "--disable-features=" + ",".join(PLAYWRIGHT_DISABLED_FEATURES + KUZET_DISABLED_FEATURES),
]
