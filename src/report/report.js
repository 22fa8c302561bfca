// Sorting and filtering of the changes table. The table reads without it; nothing is fetched.
(function () {
  var table = document.getElementById("all-changes");
  if (!table) { return; }
  var body = table.tBodies[0];
  var input = document.getElementById("all-filter");
  var shown = document.getElementById("all-shown");
  var rows = Array.prototype.slice.call(body.rows);
  if (input) {
    input.hidden = false;
    input.addEventListener("input", function () {
      var needle = input.value.toLowerCase();
      var n = 0;
      rows.forEach(function (r) {
        var hit = !needle || r.textContent.toLowerCase().indexOf(needle) >= 0;
        r.hidden = !hit;
        if (hit) { n += 1; }
      });
      if (shown) { shown.textContent = String(n); }
    });
  }
  // Instants by their data-v (milliseconds), numbers as numbers, the rest as text; a cell
  // that is no number sorts after the numbers.
  var number = /^-?\d+(\.\d+)?$/;
  var key = function (cell) {
    var v = cell.getAttribute("data-v");
    if (v !== null) { return Number(v); }
    var t = cell.textContent.trim();
    return number.test(t) ? Number(t) : null;
  };
  var compare = function (p, q) {
    var x = key(p), y = key(q);
    if (x !== null && y !== null) { return x - y; }
    if (x !== null) { return -1; }
    if (y !== null) { return 1; }
    return p.textContent.localeCompare(q.textContent);
  };
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    th.setAttribute("data-sort", "");
    th.tabIndex = 0;
    var sort = function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      rows.sort(function (a, b) {
        var c = compare(a.cells[col], b.cells[col]);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    };
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
  });
  document.documentElement.setAttribute("data-script", "ran");
})();
