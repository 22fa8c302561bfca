// "All changes" (issue 28): every row is in the page as columnar data (#all-data, written by
// src/report/columns.rs). This script shows it in a scroll box that holds only the rows in
// view (plus a margin), sorts by any column (numbers as numbers, "When" by its instant) and
// filters by any text, over all columns or one. Nothing is fetched.
(function () {
  "use strict";
  var table = document.getElementById("all-changes");
  var holder = document.getElementById("all-data");
  var box = document.getElementById("all-box");
  if (!table || !holder || !box) { return; }
  // A large table comes gzipped, in base64 (columns.rs): unpacked here, then shown.
  if (holder.getAttribute("data-encoding") === "gzip+base64") {
    var text = holder.textContent.trim(), bytes;
    if (Uint8Array.fromBase64) {
      bytes = Uint8Array.fromBase64(text);
    } else {
      var raw = window.atob(text);
      bytes = new Uint8Array(raw.length);
      for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    new Response(stream).text().then(function (json) { show(JSON.parse(json)); });
  } else {
    show(JSON.parse(holder.textContent));
  }

  function show(data) {
    var n = data.n;
    var MARGIN = 30;          // rows made above and below the ones in view
    var MAX_PX = 15000000;    // tallest scroll area made; beyond, the scroll bar is scaled
    var number = /^-?\d+(\.\d+)?$/;
    var body = table.tBodies[0];
    var shown = document.getElementById("all-shown");

    // The "When" column: instants (ms; NaN when undated) and their text, written as the report
    // writes it elsewhere (local time to the millisecond, then the offset).
    var ms = new Float64Array(n);
    var offsets = column(data.z);
    var given = {};
    (function () {
      var at = 0;
      for (var r = 0; r < n; r++) {
        var d = data.t[r];
        if (d === null) { ms[r] = NaN; } else { at += d; ms[r] = at; }
      }
      data.w.forEach(function (p) { given[p[0]] = p[1]; });
    })();
    var whenText = function (r) {
      if (given[r] !== undefined) { return given[r]; }
      var off = offsets.text(r);
      var minutes = (off.charAt(0) === "-" ? -1 : 1) *
        (Number(off.slice(1, 3)) * 60 + Number(off.slice(4, 6)));
      var iso = new Date(ms[r] + minutes * 60000).toISOString();
      return iso.slice(0, 10) + " " + iso.slice(11, 23) + " " + off;
    };

    // A column: a dictionary in sort order and an index per row, or a value per row.
    function column(c) {
      if (c.d) {
        var idx = Uint32Array.from(c.i);
        return { dict: c.d, idx: idx, text: function (r) { return c.d[idx[r]]; } };
      }
      return { dict: null, values: c.v, text: function (r) { return c.v[r]; } };
    }
    var cols = [{ dict: null, text: whenText, when: true }].concat(data.c.map(column));
    data = null;

    // Lower-case text, made once per column when first filtered or sorted by; for columns with
    // a value per row, made ahead in slices while the page is idle (see `warm`).
    var lower = function (c) {
      var col = cols[c];
      if (col.dict) {
        if (!col.lower) { col.lower = col.dict.map(function (s) { return s.toLowerCase(); }); }
        return col.lower;
      }
      fill(col, n);
      return col.lower;
    };
    var fill = function (col, upTo) {
      if (!col.lower) { col.lower = new Array(n); col.made = 0; }
      for (var r = col.made; r < upTo; r++) { col.lower[r] = col.text(r).toLowerCase(); }
      col.made = Math.max(col.made, upTo);
    };
    var warm = function () {
      var c = 0;
      var step = function () {
        while (c < cols.length && (cols[c].dict || cols[c].made === n)) { c += 1; }
        if (c === cols.length) { return; }
        fill(cols[c], Math.min(n, (cols[c].made || 0) + 20000));
        window.setTimeout(step, 0);
      };
      window.setTimeout(step, 0);
    };

    // Marks (1) in `rows` the rows whose column c holds `needle` (lower case): a column with
    // a dictionary is searched once per distinct value, then marked by index.
    var mark = function (c, needle, rows) {
      var col = cols[c], low = lower(c), r;
      if (col.dict) {
        var hit = new Uint8Array(low.length), idx = col.idx;
        for (var k = 0; k < low.length; k++) { hit[k] = low[k].indexOf(needle) >= 0 ? 1 : 0; }
        for (r = 0; r < n; r++) { rows[r] |= hit[idx[r]]; }
      } else {
        for (r = 0; r < n; r++) {
          if (rows[r] === 0 && low[r].indexOf(needle) >= 0) { rows[r] = 1; }
        }
      }
    };

    // The rows that pass every filter (1 each), or null when none is set.
    var passing = function () {
      var pass = null, c, r;
      if (anyText) {
        pass = new Uint8Array(n);
        for (c = 0; c < cols.length; c++) { mark(c, anyText, pass); }
      }
      for (c = 0; c < cols.length; c++) {
        if (!colText[c]) { continue; }
        var one = new Uint8Array(n);
        mark(c, colText[c], one);
        if (pass) { for (r = 0; r < n; r++) { pass[r] &= one[r]; } } else { pass = one; }
      }
      return pass;
    };

    // The rows in ascending order of column c, made once per column.
    var ascending = function (c) {
      var col = cols[c];
      if (col.order) { return col.order; }
      var order = new Uint32Array(n), r;
      if (col.dict) {
        // Counting sort by the dictionary index, which is the rank (stable).
        var start = new Uint32Array(col.dict.length + 1);
        for (r = 0; r < n; r++) { start[col.idx[r] + 1] += 1; }
        for (var k = 1; k < start.length; k++) { start[k] += start[k - 1]; }
        for (r = 0; r < n; r++) { order[start[col.idx[r]]++] = r; }
      } else {
        for (r = 0; r < n; r++) { order[r] = r; }
        var key = new Float64Array(n), numbers = 0;
        var low = col.when ? null : lower(c);
        for (r = 0; r < n; r++) {
          key[r] = col.when ? ms[r] : (number.test(col.values[r]) ? Number(col.values[r]) : NaN);
          if (key[r] === key[r]) { numbers += 1; }
        }
        if (numbers === 0 && low) {
          order.sort(function (a, b) {
            var p = low[a], q = low[b];
            return p < q ? -1 : p > q ? 1 : a - b;
          });
          col.order = order;
          return order;
        }
        // Instants or numbers first, in order; then text, ignoring case (as columns.rs sorts).
        order.sort(function (a, b) {
          var x = key[a], y = key[b];
          if (x === x && y === y) { return x - y || a - b; }
          if (x === x) { return -1; }
          if (y === y) { return 1; }
          var p = low ? low[a] : col.text(a), q = low ? low[b] : col.text(b);
          return p < q ? -1 : p > q ? 1 : a - b;
        });
      }
      col.order = order;
      return order;
    };

    // What is shown: the rows in the chosen order that pass the filters.
    var sortCol = -1, sortAsc = true, anyText = "", colText = [];
    var view = null;
    var select = function () {
      var order = sortCol < 0 ? null : ascending(sortCol);
      var pass = passing();
      var out = new Uint32Array(n), k = 0;
      for (var i = 0; i < n; i++) {
        var at = order ? order[sortAsc ? i : n - 1 - i] : i;
        if (pass === null || pass[at] === 1) { out[k++] = at; }
      }
      view = out.subarray(0, k);
      if (shown) { shown.textContent = k.toLocaleString("en-US"); }
      box.scrollTop = 0;
      paint();
    };

    // The rows in view, between two empty rows as tall as the rows not made.
    var rowH = 27;
    var pad = function () {
      var tr = document.createElement("tr"), td = document.createElement("td");
      tr.className = "pad";
      td.colSpan = cols.length;
      tr.appendChild(td);
      return tr;
    };
    var topPad = pad(), bottomPad = pad();
    var CLASSES = ["n", "", "", "", "t", "old", "new", "", "id"];
    var makeRow = function (r) {
      var tr = document.createElement("tr");
      for (var c = 0; c < cols.length; c++) {
        var td = document.createElement("td"), text = cols[c].text(r);
        td.textContent = text;
        if (CLASSES[c]) { td.className = CLASSES[c]; }
        if (c === 0 && ms[r] === ms[r]) { td.setAttribute("data-v", String(ms[r])); }
        if (text.length > 16) { td.title = text; }
        tr.appendChild(td);
      }
      return tr;
    };
    var paint = function () {
      var total = view.length * rowH, height = Math.min(total, MAX_PX);
      var inView = Math.ceil(box.clientHeight / rowH) + 1, top = box.scrollTop;
      var first = total === height ? Math.floor(top / rowH) :
        Math.round(top / Math.max(1, height - box.clientHeight) * Math.max(0, view.length - inView));
      var from = Math.max(0, first - MARGIN), to = Math.min(view.length, first + inView + MARGIN);
      var above = total === height ? from * rowH : Math.max(0, top - (first - from) * rowH);
      var rows = document.createDocumentFragment();
      rows.appendChild(topPad);
      for (var i = from; i < to; i++) { rows.appendChild(makeRow(view[i])); }
      rows.appendChild(bottomPad);
      body.textContent = "";
      body.appendChild(rows);
      topPad.firstChild.style.height = above + "px";
      bottomPad.firstChild.style.height = Math.max(0, height - above - (to - from) * rowH) + "px";
      var made = body.rows.length > 2 ? body.rows[1].getBoundingClientRect().height : 0;
      if (made > 0 && Math.abs(made - rowH) > 0.5) { rowH = made; paint(); }
    };
    var pending = false;
    box.addEventListener("scroll", function () {
      if (pending) { return; }
      pending = true;
      window.requestAnimationFrame(function () { pending = false; paint(); });
    });

    // Filters: any text, and one per column, applied 150 ms after the last keystroke.
    var debounce = function (apply) {
      var timer = 0;
      return function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(apply, 150);
      };
    };
    var input = document.getElementById("all-filter");
    if (input) {
      input.hidden = false;
      input.addEventListener("input", debounce(function () {
        anyText = input.value.toLowerCase();
        select();
      }));
    }
    var heads = table.tHead.rows[0].cells;
    var filters = document.createElement("tr");
    filters.className = "colfilter noprint";
    Array.prototype.forEach.call(heads, function (th, c) {
      var td = document.createElement("td"), field = document.createElement("input");
      field.type = "search";
      field.setAttribute("aria-label", "Filter " + th.textContent);
      field.placeholder = "filter";
      field.addEventListener("input", debounce(function () {
        colText[c] = field.value.toLowerCase();
        select();
      }));
      td.appendChild(field);
      filters.appendChild(td);
    });
    table.tHead.appendChild(filters);

    // Sorting: a click (or Enter) on a heading sorts by it, again the other way.
    Array.prototype.forEach.call(heads, function (th, c) {
      th.setAttribute("data-sort", "");
      th.tabIndex = 0;
      var sort = function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        sortCol = c;
        sortAsc = asc;
        select();
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
    });

    // For benchmarks and tests: the same steps without the debounce.
    table.allChanges = {
      sort: function (c, asc) { sortCol = c; sortAsc = asc !== false; select(); },
      filter: function (text, c) {
        if (c === undefined) { anyText = text.toLowerCase(); } else { colText[c] = text.toLowerCase(); }
        select();
      },
      shown: function () { return view.length; },
      ready: function () { for (var c = 0; c < cols.length; c++) { lower(c); } }
    };
    table.classList.add("virtual");
    box.classList.add("vbox");
    select();
    warm();
    document.documentElement.setAttribute("data-script", "ran");
    table.dispatchEvent(new Event("all-ready"));
  }
})();
