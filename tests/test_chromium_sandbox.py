"""Chromium runs inside its sandbox wherever the host allows it, and every capture says
whether it did.

The decisive tests start kuzet's own capture backend as an unprivileged user against a
page on 127.0.0.1 and ask the running browser (chrome://sandbox) whether its renderers
are confined: a renderer exploit in a hostile page must not land in the kuzet account.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import async_playwright
from typer.testing import CliRunner

from evidence.browser import launch
from evidence.capture import PlaywrightBackend
from evidence.chromium import (
    CHROMIUM_ARGS,
    browser_args,
    decide_sandbox,
    sandbox_decision,
    sandbox_report,
)
from kuzet.cli import app as cli
from kuzet.config import ConfigError, Settings
from tests.webserver import WebServer

PAGE = "<html><head><title>Sandbox page</title></head><body><p>kuzet</p></body></html>"

# Run as root, this child captures the page once as root (so that every module a capture
# imports is loaded: the interpreter may live where the user cannot read), then becomes
# ``uid`` for good and captures it with kuzet's own backend again. It prints what the
# browser and the capture say, as JSON.
CHILD = r"""
import asyncio, json, os, sys, tempfile
from playwright.async_api import async_playwright
from evidence.browser import launch
from evidence.capture import PlaywrightBackend
from evidence.chromium import sandbox_decision, sandbox_report
from crawler.render import launch_settings
from kuzet.config import Settings
uid, gid, url, home, mode, chromium, private = sys.argv[1:]
uid = int(uid)

def settings_for(home):
    return Settings.from_env(
        {"KUZET_HOME": home, "KUZET_CHROMIUM": chromium, "KUZET_CHROMIUM_SANDBOX": mode,
         "KUZET_CAPTURE_ALLOW_PRIVATE": private}
    )

def renderer_seccomp():
    # Seccomp mode of this user's renderer processes, read from outside (2: filtered).
    modes = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read()  # Chromium's children rewrite it: one string, space-separated
                if not (args.startswith(chromium.encode()) and b"--type=renderer" in args):
                    continue
                if os.stat(f"/proc/{pid}").st_uid != uid:
                    continue
            with open(f"/proc/{pid}/status") as f:
                modes += [line.split()[1] for line in f if line.startswith("Seccomp:")]
        except OSError:
            continue
    return modes

async def main(settings):
    async with async_playwright() as pw:
        browser = await launch(pw, settings)
        try:
            page = await browser.new_page()
            await page.goto("chrome://sandbox")
            status = await page.inner_text("body")
            renderers = renderer_seccomp()
        finally:
            await browser.close()
        # Rendered crawling: scrapy-playwright's launch options, as the crawl process has them.
        options = launch_settings(chromium=chromium, home=str(settings.home), sandbox=mode)
        browser = await pw.chromium.launch(**options["PLAYWRIGHT_LAUNCH_OPTIONS"])
        try:
            page = await browser.new_page()
            await page.goto("chrome://sandbox")
            crawl_status = await page.inner_text("body")
        finally:
            await browser.close()
    backend = PlaywrightBackend(settings)
    await backend.start()
    try:
        out = await backend.capture(url)
    finally:
        await backend.close()
    kinds = sorted(a.kind for a in out.artifacts)
    doctor = sandbox_report(chromium, mode, settings.browser_profile_dir)
    with open("/proc/self/status") as f:
        confined = [line.strip() for line in f if line.startswith(("NoNewPrivs", "CapBnd"))]
    return {"status": status, "crawl_status": crawl_status, "metadata": out.metadata,
            "kinds": kinds, "euid": os.geteuid(), "confined": confined, "doctor": doctor,
            "renderers": renderers}

with tempfile.TemporaryDirectory() as warm:
    if mode != "on":
        asyncio.run(main(settings_for(warm)))
user_settings = settings_for(home)
# As the systemd units confine kuzet: NoNewPrivileges=yes, CapabilityBoundingSet= (empty).
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 24, 38
for cap in range(64):
    libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # fails past the kernel's last capability
assert libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
os.setgroups([])
os.setgid(int(gid))
os.setuid(uid)
os.environ["HOME"] = home
sandbox_decision.cache_clear()  # made as root above; this process is another user now
print(json.dumps(asyncio.run(main(user_settings))))
"""


@pytest.fixture(scope="module")
def site() -> Iterator[WebServer]:
    server = WebServer({"/": lambda path, headers: (200, {}, PAGE.encode())})
    with server:
        yield server


@pytest.fixture
def user_home() -> Iterator[tuple[int, int, Path]]:
    """An unprivileged account and a KUZET_HOME it owns (pytest's tmp_path is root's)."""
    if os.geteuid() != 0:
        pytest.skip("switching to an unprivileged user needs root")
    nobody = pwd.getpwnam("nobody")
    home = Path(tempfile.mkdtemp(prefix="kuzet-sandbox-"))
    os.chown(home, nobody.pw_uid, nobody.pw_gid)
    yield nobody.pw_uid, nobody.pw_gid, home
    shutil.rmtree(home, ignore_errors=True)


def _capture_as(user: tuple[int, int, Path], url: str, mode: str, chromium: str) -> dict:
    uid, gid, home = user
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(uid), str(gid), url, str(home), mode, chromium,
         urlsplit(url).netloc],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_unprivileged_capture_runs_sandboxed(site, user_home, chromium) -> None:
    refused = decide_sandbox("auto", euid=user_home[0])
    if not refused.enabled:
        pytest.skip(f"this kernel gives no sandbox to an unprivileged user: {refused.reason}")
    result = _capture_as(user_home, site.url + "/", "auto", chromium)
    assert result["euid"] == user_home[0]
    assert sorted(result["confined"]) == ["CapBnd:\t0000000000000000", "NoNewPrivs:\t1"]
    # The browser's own verdict on its renderers, not only on the flags kuzet passed.
    assert "You are adequately sandboxed." in result["status"], result["status"]
    assert "Seccomp-BPF sandbox\tYes" in result["status"]
    # And seen from outside: every renderer runs under a seccomp filter.
    assert result["renderers"] and set(result["renderers"]) == {"2"}, result["renderers"]
    assert "You are adequately sandboxed." in result["crawl_status"], result["crawl_status"]
    assert result["metadata"]["browser_sandbox"] == {
        "enabled": True,
        "mode": "auto",
        "reason": "unprivileged user namespaces available",
    }
    assert result["metadata"]["title"] == "Sandbox page"
    assert "screenshot_full" in result["kinds"]
    # kuzet doctor starts Chromium with the sandbox for real, and says it did.
    assert result["doctor"] == [
        True,
        "on (auto): unprivileged user namespaces available; Chromium starts sandboxed",
    ]


def test_switched_off_the_same_user_runs_unconfined(site, user_home, chromium) -> None:
    # The contrast that shows the check above can fail: the sandbox switched off.
    result = _capture_as(user_home, site.url + "/", "off", chromium)
    assert "You are NOT adequately sandboxed." in result["status"]
    assert "You are NOT adequately sandboxed." in result["crawl_status"]
    assert result["renderers"] and set(result["renderers"]) == {"0"}, result["renderers"]
    assert result["metadata"]["browser_sandbox"]["enabled"] is False
    assert result["metadata"]["browser_sandbox"]["mode"] == "off"
    assert result["doctor"] == [True, "off (off): switched off by KUZET_CHROMIUM_SANDBOX=off"]


def test_root_gets_no_sandbox_and_the_capture_says_so(tmp_path, site, chromium) -> None:
    if os.geteuid() != 0:
        pytest.skip("runs as root only")
    settings = Settings.from_env(
        {"KUZET_HOME": str(tmp_path), "KUZET_CHROMIUM": chromium,
         "KUZET_CAPTURE_ALLOW_PRIVATE": urlsplit(site.url).netloc}
    )  # fmt: skip
    decision = sandbox_decision("auto")
    assert (decision.enabled, decision.reason) == (
        False,
        "running as root: Chromium refuses its sandbox",
    )
    assert "--no-sandbox" in browser_args(decision)

    async def capture() -> dict:
        backend = PlaywrightBackend(settings)
        await backend.start()
        try:
            return (await backend.capture(site.url + "/")).metadata
        finally:
            await backend.close()

    metadata = asyncio.run(capture())
    assert metadata["browser_sandbox"] == decision.as_metadata()
    ok, detail = sandbox_report(chromium, "auto", settings.browser_profile_dir)
    assert ok and detail.startswith("off (auto): running as root")


def test_forced_on_as_root_fails_clearly(tmp_path, chromium) -> None:
    if os.geteuid() != 0:
        pytest.skip("runs as root only")
    settings = Settings.from_env(
        {"KUZET_HOME": str(tmp_path), "KUZET_CHROMIUM": chromium, "KUZET_CHROMIUM_SANDBOX": "on"}
    )

    async def start() -> None:
        async with async_playwright() as pw:
            browser = await launch(pw, settings)
            await browser.close()

    with pytest.raises(RuntimeError, match="KUZET_CHROMIUM_SANDBOX=off"):
        asyncio.run(start())
    ok, detail = sandbox_report(chromium, "on", tmp_path / "browser")
    assert not ok
    assert "Chromium did not start sandboxed" in detail


@pytest.mark.parametrize(
    ("switch", "value"),
    [
        ("kernel/unprivileged_userns_clone", "0"),
        ("user/max_user_namespaces", "0"),
        ("kernel/apparmor_restrict_unprivileged_userns", "1"),
    ],
)
def test_kernel_switches_that_close_user_namespaces(tmp_path, switch, value) -> None:
    proc_sys = tmp_path / "sys"
    for name, open_value in [
        ("kernel/unprivileged_userns_clone", "1"),
        ("user/max_user_namespaces", "1000"),
        ("kernel/apparmor_restrict_unprivileged_userns", "0"),
    ]:
        (proc_sys / name).parent.mkdir(parents=True, exist_ok=True)
        (proc_sys / name).write_text(open_value + "\n")
    on = decide_sandbox("auto", euid=1000, proc_sys=proc_sys, probe=lambda: None)
    assert on.enabled
    (proc_sys / switch).write_text(value + "\n")
    off = decide_sandbox("auto", euid=1000, proc_sys=proc_sys, probe=lambda: None)
    assert not off.enabled
    assert off.reason == f"user namespaces unavailable: /proc/sys/{switch} = {value}"
    # An explicit choice is obeyed whatever the host says.
    assert decide_sandbox("on", euid=1000, proc_sys=proc_sys).enabled
    assert not decide_sandbox("off", euid=1000, proc_sys=tmp_path).enabled


def test_a_refused_namespace_probe_turns_it_off(tmp_path) -> None:
    # A container's seccomp profile may refuse what the kernel switches allow.
    off = decide_sandbox(
        "auto", euid=1000, proc_sys=tmp_path, probe=lambda: "Operation not permitted"
    )
    assert not off.enabled
    assert off.reason == "user namespaces unavailable: Operation not permitted"
    assert browser_args(off)[-1] == "--no-sandbox"
    assert "--no-sandbox" not in CHROMIUM_ARGS


def test_the_setting_is_checked_and_passed_on(tmp_path) -> None:
    env = {"KUZET_HOME": str(tmp_path)}
    assert Settings.from_env(env).chromium_sandbox == "auto"
    settings = Settings.from_env({**env, "KUZET_CHROMIUM_SANDBOX": "off"})
    assert settings.to_env()["KUZET_CHROMIUM_SANDBOX"] == "off"
    with pytest.raises(ConfigError, match="KUZET_CHROMIUM_SANDBOX must be one of auto, on, off"):
        Settings.from_env({**env, "KUZET_LANG": "en", "KUZET_CHROMIUM_SANDBOX": "maybe"})
    with pytest.raises(ConfigError, match="должен быть одним из"):
        Settings.from_env({**env, "KUZET_LANG": "ru", "KUZET_CHROMIUM_SANDBOX": "maybe"})


def test_doctor_names_the_decision(settings, db, chromium) -> None:
    r = CliRunner().invoke(cli, ["doctor"], env=settings.to_env())
    decision = sandbox_decision(settings.chromium_sandbox)
    assert f"browser sandbox: {decision.describe()}" in " ".join(r.output.split())
