// Live status updates for tables marked with data-poll: rows whose state is still moving are
// polled until they settle, so a page never needs a reload to show progress.
(function () {
  "use strict";
  var SETTLED = { enriched: true, failed: true, completed: true };

  function badge(status) {
    var span = document.createElement("span");
    span.className = "badge badge-" + status;
    span.dataset.status = status;
    span.textContent = status.replace(/_/g, " ");
    return span;
  }

  function poll(table) {
    var rows = Array.prototype.filter.call(table.querySelectorAll("tr[data-id]"), function (row) {
      return !SETTLED[row.dataset.status];
    });
    if (!rows.length) return;
    var ids = rows.map(function (row) { return row.dataset.id; });
    fetch(table.dataset.poll + "?ids=" + ids.join(","), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (data) {
        rows.forEach(function (row) {
          var lead = data[row.dataset.id];
          if (!lead || lead.status === row.dataset.status) return;
          row.dataset.status = lead.status;
          var cell = row.querySelector('[data-field="status"]');
          cell.textContent = "";
          cell.appendChild(badge(lead.status));
          if (lead.error) {
            var err = document.createElement("div");
            err.className = "muted small";
            err.textContent = lead.error;
            cell.appendChild(err);
          }
          ["company_name", "title", "location"].forEach(function (field) {
            var c = row.querySelector('[data-field="' + field + '"]');
            if (c && lead[field]) c.textContent = lead[field];
          });
        });
      })
      .catch(function () {})
      .then(function () { setTimeout(function () { poll(table); }, 1500); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table[data-poll]").forEach(function (table) {
      setTimeout(function () { poll(table); }, 800);
    });
  });
})();

// Forms marked data-confirm ask once before a destructive action; selects marked
// data-autosubmit (the workspace switcher) submit their form when changed.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      var button = select.form && select.form.querySelector(".js-hide");
      if (button) button.hidden = true;
      select.addEventListener("change", function () { select.form.submit(); });
    });
  });
})();

// A "Copy" button copies the value of the input its data-copy names.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-copy]");
  if (!button) return;
  var input = document.getElementById(button.getAttribute("data-copy"));
  if (!input) return;
  input.select();
  if (navigator.clipboard) {
    navigator.clipboard.writeText(input.value).then(function () { button.textContent = "Copied"; });
  } else {
    document.execCommand("copy");
    button.textContent = "Copied";
  }
});
