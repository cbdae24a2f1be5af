// Keyboard shortcuts for the review pages. Our own file, allowed by the page's CSP;
// captured pages are never rendered, so no other script can run here.
(function () {
  "use strict";
  function typing(el) {
    return el && (el.tagName === "TEXTAREA" || el.tagName === "INPUT" || el.tagName === "SELECT");
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-href]"));
  var at = -1;
  function mark(i) {
    if (!rows.length) return;
    if (at >= 0) rows[at].classList.remove("cursor");
    at = Math.max(0, Math.min(rows.length - 1, i));
    rows[at].classList.add("cursor");
    rows[at].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (typing(document.activeElement)) {
      if (e.key === "Escape") document.activeElement.blur();
      return;
    }
    var el = null;
    switch (e.key) {
      case "j": mark(at + 1); break;                       // queue: next row
      case "k": mark(at - 1); break;                       // queue: previous row
      case "o": case "Enter":                              // queue: open the row
        if (at >= 0) window.location = rows[at].dataset.href;
        else return;
        break;
      case "x":                                            // queue: select the row
        if (at >= 0) { el = rows[at].querySelector("input[type=checkbox]"); if (el) el.checked = !el.checked; }
        break;
      case "c": el = document.getElementById("confirm"); if (el) el.click(); break;
      case "r": el = document.getElementById("reject-reason"); if (el) el.focus(); break;
      case "i": el = document.getElementById("question"); if (el) el.focus(); break;
      case "n": el = document.getElementById("next"); if (el) el.click(); break;
      case "z": el = document.getElementById("zoom"); if (el) el.click(); break;
      default: return;
    }
    e.preventDefault();
  });
})();
