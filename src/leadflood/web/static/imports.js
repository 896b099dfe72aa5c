// The import page: polls the import's JSON until it settles and updates the progress bar and
// the counts in place; the mapping page marks a column whose choice differs from the automatic one.
(function () {
  "use strict";
  var SETTLED = { completed: true, failed: true };

  function setCounts(root, data) {
    root.querySelectorAll("[data-count]").forEach(function (el) {
      var value = data[el.dataset.count];
      if (typeof value === "number") el.textContent = value.toLocaleString("en-US");
    });
  }

  function badge(state) {
    var span = document.createElement("span");
    span.className = "badge badge-" + state;
    span.dataset.status = state;
    span.textContent = state;
    return span;
  }

  function render(root, data) {
    setCounts(root, data);
    var bar = root.querySelector('[data-field="bar"]');
    if (bar) {
      bar.value = Math.round(data.progress * 1000);
      bar.textContent = Math.round(data.progress * 100) + "%";
    }
    if (root.dataset.state !== data.state) {
      root.dataset.state = data.state;
      var cell = root.querySelector('[data-field="state"]');
      cell.textContent = "";
      cell.appendChild(badge(data.state));
    }
    root.querySelector(".import-done").hidden = data.state !== "completed";
    if (data.state === "completed") {
      root.querySelector(".rows-line").textContent = "All " + data.rows_read.toLocaleString("en-US") + " rows read.";
      var step = document.querySelector(".steps li:last-child");
      if (step) { step.className = "done"; step.removeAttribute("aria-current"); }
    }
    var failed = root.querySelector(".import-failed");
    failed.hidden = data.state !== "failed";
    failed.querySelector('[data-field="error"]').textContent = data.error || "";
    root.querySelector(".rejected-link").hidden = !data.rejected;
    root.querySelector(".warnings-link").hidden = !data.warned;
    root.querySelector(".warned-note").hidden = !data.warned;
  }

  function poll(root) {
    fetch(root.dataset.import, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) render(root, data); })
      .catch(function () {})
      .then(function () {
        if (!SETTLED[root.dataset.state]) setTimeout(function () { poll(root); }, 700);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-import]").forEach(function (root) {
      if (!SETTLED[root.dataset.state]) poll(root);
    });
    document.querySelectorAll("select[data-automatic]").forEach(function (select) {
      select.addEventListener("change", function () {
        select.closest("tr").classList.toggle("changed", select.value !== select.dataset.automatic);
      });
    });
  });
})();
