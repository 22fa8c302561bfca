// Test-only: measures the page it is put in (the report, its CSP removed, in an iframe of the
// width under test: headless Chromium's window is at least 500 px wide) and posts what it
// found to the page around it as JSON: how far the page is wider than its window, and every
// word that is broken across lines (a word is a run of non-space characters within one text
// node: a <wbr> between two runs marks a break that is allowed).
(function () {
  // A large report draws its table once its embedded data is unpacked: measure after that.
  var table = document.getElementById("all-changes");
  if (table && document.getElementById("all-data") && !table.classList.contains("virtual")) {
    table.addEventListener("all-ready", measure);
  } else {
    measure();
  }
})();

function measure() {
  var width = window.innerWidth;
  var over = document.documentElement.scrollWidth - width;
  var broken = [];
  var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  var node;
  while ((node = walker.nextNode())) {
    var el = node.parentElement;
    if (!el || el.closest("script, style, title")) { continue; }
    var re = /\S+/g, m;
    while ((m = re.exec(node.data))) {
      var range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      var rects = range.getClientRects();
      for (var i = 1; i < rects.length; i++) {
        if (Math.abs(rects[i].top - rects[0].top) > 2) { broken.push(m[0]); break; }
      }
    }
  }
  // What sticks out (for the message when the page is too wide): elements reaching past the
  // window that are not inside a box that scrolls sideways.
  var wide = [];
  Array.prototype.forEach.call(document.body.querySelectorAll("*"), function (el) {
    var right = el.getBoundingClientRect().right;
    if (right <= width + 1 || wide.length >= 8) { return; }
    for (var a = el.parentElement; a; a = a.parentElement) {
      var ox = getComputedStyle(a).overflowX;
      if (ox === "auto" || ox === "scroll") { return; }
    }
    wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
      (el.className && el.className.baseVal === undefined ? "." + el.className : "") + " to " + Math.round(right));
  });
  window.parent.postMessage(JSON.stringify({ width: width, over: over, broken: broken, wide: wide }), "*");
}
