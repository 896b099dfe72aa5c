// Leads list: select-all and the selection count for the bulk bar, a confirmation before acting
// on every matching lead, and live progress of bulk enrich/verify operations (the rows' badges,
// scores and the progress bar update without a reload).
(function () {
  "use strict";

  function selection(form) {
    return form.querySelectorAll('input[name="lead_ids"]');
  }

  function updateCount(form) {
    var boxes = selection(form);
    var picked = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
    var label = form.querySelector('[data-role="selected-count"]');
    if (label) {
      label.textContent = picked ? picked + " selected" :
        "Tick leads to act on them, or act on every lead matching the filter.";
    }
    var all = document.getElementById("select-all");
    if (all) {
      all.checked = picked > 0 && picked === boxes.length;
      all.indeterminate = picked > 0 && picked < boxes.length;
    }
  }

  function badge(status) {
    var span = document.createElement("span");
    span.className = "badge badge-" + status;
    span.dataset.status = status;
    span.textContent = status.replace(/_/g, " ");
    return span;
  }

  function refreshRows() {
    var rows = document.querySelectorAll("tr[data-id]");
    if (!rows.length) return Promise.resolve();
    var ids = Array.prototype.map.call(rows, function (r) { return r.dataset.id; });
    return fetch("/leads/statuses?ids=" + ids.join(","), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (data) {
        Array.prototype.forEach.call(rows, function (row) {
          var lead = data[row.dataset.id];
          if (!lead) return;
          var v = row.querySelector('[data-field="verification"]');
          if (v && lead.verification_status) { v.textContent = ""; v.appendChild(badge(lead.verification_status)); }
          var st = row.querySelector('[data-field="status"]');
          if (st && lead.status !== row.dataset.status) {
            row.dataset.status = lead.status; st.textContent = ""; st.appendChild(badge(lead.status));
          }
          var sc = row.querySelector('[data-field="score"]');
          if (sc && lead.score !== null && lead.score !== undefined) {
            var span = document.createElement("span");
            span.className = "score score-" + (lead.score >= 70 ? "high" : lead.score >= 40 ? "mid" : "low");
            span.textContent = lead.score;
            sc.textContent = ""; sc.appendChild(span);
          }
          ["company_name", "title", "location"].forEach(function (field) {
            var c = row.querySelector('[data-field="' + field + '"]');
            if (c && lead[field]) c.textContent = lead[field];
          });
        });
      })
      .catch(function () {});
  }

  function watch(card) {
    fetch(card.dataset.bulk, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (op) {
        if (!op) return;
        var bar = card.querySelector("progress");
        bar.max = op.total || 1;
        bar.value = op.total ? Math.min(op.done + op.failed, op.total) : 0;
        card.querySelector('[data-role="counts"]').textContent =
          op.done + " done · " + op.failed + " failed" + (op.total ? " of " + op.total : "");
        var state = card.querySelector('[data-role="state"]');
        state.textContent = ""; state.appendChild(badge(op.state));
        var err = card.querySelector('[data-role="error"]');
        if (op.error) { err.hidden = false; err.textContent = op.error; }
        card.dataset.state = op.state;
        return refreshRows().then(function () {
          if (op.state === "queued" || op.state === "running") {
            setTimeout(function () { watch(card); }, 1500);
          } else if (!card.querySelector('[data-role="refresh"]')) {
            // The counts above the table were computed before the run: offer a fresh look.
            var link = document.createElement("a");
            link.className = "small";
            link.dataset.role = "refresh";
            link.href = window.location.pathname + window.location.search.replace(/([?&])bulk=[^&]*&?/, "$1").replace(/[?&]$/, "");
            link.textContent = "Refresh the list";
            card.querySelector(".bulk-progress-head").appendChild(link);
          }
        });
      })
      .catch(function () { setTimeout(function () { watch(card); }, 3000); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("bulk-form");
    if (form) {
      var all = document.getElementById("select-all");
      if (all) {
        all.hidden = false;
        all.addEventListener("change", function () {
          Array.prototype.forEach.call(selection(form), function (b) { b.checked = all.checked; });
          updateCount(form);
        });
      }
      form.addEventListener("change", function (e) {
        if (e.target && e.target.name === "lead_ids") updateCount(form);
      });
      form.addEventListener("click", function (e) {
        var button = e.target.closest && e.target.closest("button[data-confirm-click]");
        if (button && !window.confirm(button.dataset.confirmClick)) e.preventDefault();
      });
      updateCount(form);
      var exportPicked = form.querySelector("[data-export-selected]");
      var status = form.querySelector('[data-role="export-status"]');
      var started = function (rows) {
        // The file streams as it is read: the browser's download shows it growing.
        if (!status) return;
        status.hidden = false;
        status.textContent = "Exporting " + rows + " lead" + (rows === "1" ? "" : "s") +
          ": the download has started, your browser shows its progress.";
      };
      if (exportPicked) {
        exportPicked.hidden = false;
        exportPicked.addEventListener("click", function () {
          var ids = Array.prototype.filter.call(selection(form), function (b) { return b.checked; })
            .map(function (b) { return "lead_ids=" + encodeURIComponent(b.value); });
          if (!ids.length) { window.alert("Tick the leads to export, or export every matching lead."); return; }
          started(String(ids.length));
          window.location.href = "/leads/export?" + ids.join("&");
        });
      }
      var exportAll = form.querySelector("[data-export]");
      if (exportAll) {
        exportAll.addEventListener("click", function () {
          started(exportAll.dataset.count);
        });
      }
    }
    document.querySelectorAll("[data-bulk]").forEach(function (card) {
      if (card.dataset.state === "queued" || card.dataset.state === "running") watch(card);
    });
  });
})();
