// patroli: keyboard shortcuts, row selection and "select all". No inline scripts (CSP).
(function () {
  "use strict";

  function typing(event) {
    var t = event.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  var DECISION_KEYS = { c: "confirmed", d: "dismissed", e: "escalated" };

  function queuePage(table) {
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"));
    if (!rows.length) return;
    var current = Math.max(0, rows.findIndex(function (r) { return r.classList.contains("selected"); }));

    function select(i) {
      rows[current].classList.remove("selected");
      current = Math.min(rows.length - 1, Math.max(0, i));
      rows[current].classList.add("selected");
      rows[current].scrollIntoView({ block: "nearest" });
    }

    rows.forEach(function (row, i) {
      row.addEventListener("click", function (event) {
        if (!/^(A|BUTTON|INPUT|SELECT)$/.test(event.target.tagName)) select(i);
      });
    });

    document.addEventListener("keydown", function (event) {
      if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
      var row = rows[current];
      if (event.key === "j" || event.key === "ArrowDown") { select(current + 1); event.preventDefault(); }
      else if (event.key === "k" || event.key === "ArrowUp") { select(current - 1); event.preventDefault(); }
      else if (event.key === "o" || event.key === "Enter") { window.location.assign(row.dataset.href); }
      else if (event.key === "x") { var box = row.querySelector("input[type=checkbox]"); box.checked = !box.checked; }
      else if (DECISION_KEYS[event.key]) {
        var button = row.querySelector('button[name=decision][value="' + DECISION_KEYS[event.key] + '"]');
        if (button) { event.preventDefault(); button.click(); }
      }
    });

    var all = document.getElementById("select-all");
    if (all) {
      all.addEventListener("change", function () {
        rows.forEach(function (row) { row.querySelector("input[type=checkbox]").checked = all.checked; });
      });
    }
  }

  function adPage(form) {
    document.addEventListener("keydown", function (event) {
      if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
      var decision = DECISION_KEYS[event.key];
      if (!decision) return;
      var button = form.querySelector('button[name=decision][value="' + decision + '"]');
      if (button) { event.preventDefault(); button.click(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.getElementById("queue");
    if (table) queuePage(table);
    var decide = document.getElementById("decide");
    if (decide) adPage(decide);
  });
})();
