"""How kuzet starts Debian's Chromium: flags shared by capture and rendered crawling, and
whether Chromium runs inside its own sandbox.

A hostile page is a renderer exploit away from the account kuzet runs as; Chromium's
sandbox (seccomp-bpf plus user, PID and network namespaces) is what stands in between.
Debian's Chromium ships no setuid ``chrome-sandbox`` helper, so the sandbox needs
unprivileged user namespaces, and Chromium refuses it outright when run as root.
:func:`sandbox_decision` decides once per process, and says why; every launch takes its
flags from :func:`browser_args` and every capture records the decision.

Kept free of Playwright imports so the crawl process loads it cheaply.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kuzet.config import CHROMIUM_SANDBOX_MODES

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
# which a closed network refuses; none of that traffic belongs in evidence. The sandbox
# flag is not here: browser_args() adds --no-sandbox only when the decision says so.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--hide-scrollbars",
    "--mute-audio",
    # WebRTC would otherwise send UDP (STUN, TURN) straight to any address a page names,
    # past the network guard's proxy: only proxied TCP is left, which the guard checks.
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-features=" + ",".join(PLAYWRIGHT_DISABLED_FEATURES + KUZET_DISABLED_FEATURES),
]

# Kernel switches that take unprivileged user namespaces away, and the value that does.
USERNS_SWITCHES = (
    ("kernel/unprivileged_userns_clone", "0"),  # Debian's own patch
    ("user/max_user_namespaces", "0"),
    ("kernel/apparmor_restrict_unprivileged_userns", "1"),  # Ubuntu 23.10 and later
)


@dataclass(frozen=True)
class SandboxDecision:
    """Whether Chromium runs sandboxed, asked for how (``mode``) and why (``reason``)."""

    enabled: bool
    mode: str
    reason: str

    def as_metadata(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "mode": self.mode, "reason": self.reason}

    def describe(self) -> str:
        return f"{'on' if self.enabled else 'off'} ({self.mode}): {self.reason}"


def probe_user_namespace() -> str | None:
    """None when this process can create the user, PID and network namespaces Chromium's
    sandbox makes (a container's seccomp profile may forbid what the kernel allows), else
    why not. Uses util-linux's ``unshare``; without it the kernel switches alone decide."""
    tool = shutil.which("unshare")
    if tool is None:
        return None
    try:
        out = subprocess.run(
            [tool, "--user", "--pid", "--net", "--fork", "true"],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare could not run: {exc}"
    if out.returncode != 0:
        return out.stderr.strip() or f"unshare exited with {out.returncode}"
    return None


def decide_sandbox(
    mode: str,
    *,
    euid: int,
    proc_sys: Path = Path("/proc/sys"),
    probe: Callable[[], str | None] = probe_user_namespace,
) -> SandboxDecision:
    """The decision for ``mode`` (``KUZET_CHROMIUM_SANDBOX``): ``off`` and ``on`` are
    obeyed (``on`` then fails at launch where the host cannot give the sandbox); ``auto``
    turns it on unless running as root or user namespaces are unavailable."""
    if mode not in CHROMIUM_SANDBOX_MODES:
        modes = ", ".join(CHROMIUM_SANDBOX_MODES)
        raise ValueError(f"KUZET_CHROMIUM_SANDBOX must be one of {modes}, not {mode!r}")
    if mode == "off":
        return SandboxDecision(False, mode, "switched off by KUZET_CHROMIUM_SANDBOX=off")
    if mode == "on":
        return SandboxDecision(True, mode, "forced on by KUZET_CHROMIUM_SANDBOX=on")
    if euid == 0:
        return SandboxDecision(False, mode, "running as root: Chromium refuses its sandbox")
    for name, closed in USERNS_SWITCHES:
        try:
            value = (proc_sys / name).read_text().strip()
        except OSError:  # the switch does not exist on this kernel
            continue
        if value == closed:
            reason = f"user namespaces unavailable: /proc/sys/{name} = {value}"
            return SandboxDecision(False, mode, reason)
    refused = probe()
    if refused is not None:
        return SandboxDecision(False, mode, f"user namespaces unavailable: {refused}")
    return SandboxDecision(True, mode, "unprivileged user namespaces available")


@functools.cache
def sandbox_decision(mode: str = "auto") -> SandboxDecision:
    """This process's decision for ``mode``, made once (launches and capture metadata
    must agree)."""
    return decide_sandbox(mode, euid=os.geteuid())


def browser_args(decision: SandboxDecision) -> list[str]:
    """Chromium's command-line flags under ``decision``."""
    return CHROMIUM_ARGS + ([] if decision.enabled else ["--no-sandbox"])


def launch_options(decision: SandboxDecision) -> dict[str, Any]:
    """Playwright ``chromium.launch`` keywords under ``decision``. Playwright itself adds
    --no-sandbox unless told ``chromium_sandbox``, so a launch that passes only
    CHROMIUM_ARGS still runs unsandboxed, as before."""
    return {"args": browser_args(decision), "chromium_sandbox": decision.enabled}


def sandbox_report(chromium: str, mode: str, home: Path) -> tuple[bool, str]:
    """For ``kuzet doctor``: (ok, what the decision is and why). Where the sandbox is on,
    Chromium is started with it for real, so a host that cannot give it fails here
    rather than at the first capture. Off is reported, not failed: it is a decision."""
    decision = sandbox_decision(mode)
    if not decision.enabled:
        return True, decision.describe()
    home.mkdir(parents=True, exist_ok=True)
    cmd = [chromium, "--headless", *CHROMIUM_ARGS, "--dump-dom", "about:blank"]
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(home)}
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{decision.describe()}; Chromium did not start: {exc}"
    if out.returncode != 0 or "<html" not in out.stdout:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return False, f"{decision.describe()}; Chromium did not start sandboxed: {tail}"
    return True, f"{decision.describe()}; Chromium starts sandboxed"
