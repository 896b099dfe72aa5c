// The live search-run panel of an ICP page: polls the run while it is queued or running and
// updates the bar and counts in place; once it completes, the page reloads once to show the
// new leads and the run history.
(function () {
  "use strict";
  var MOVING = { queued: true, running: true };

  function badge(state) {
    var span = document.createElement("span");
    span.className = "badge badge-" + state;
    span.dataset.status = state;
    span.textContent = state;
    return span;
  }

  function show(panel, run) {
    var bar = panel.querySelector('[data-field="bar"]');
    bar.value = Math.round(run.progress * 1000);
    bar.textContent = Math.round(run.progress * 100) + "%";
    panel.querySelectorAll("[data-count]").forEach(function (el) {
      var value = run[el.dataset.count];
      el.textContent = value === null || value === undefined ? "?" : Number(value).toLocaleString("en-US");
    });
    var box = panel.querySelector('[data-field="error-box"]');
    box.hidden = !run.error;
    panel.querySelector('[data-field="error"]').textContent = run.error || "";
    if (run.state !== panel.dataset.state) {
      var cell = panel.querySelector('[data-field="state"]');
      cell.textContent = "";
      cell.appendChild(badge(run.state));
      panel.dataset.state = run.state;
    }
  }

  function poll(panel) {
    fetch(panel.dataset.run, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (run) {
        if (!run) return true;
        var wasMoving = MOVING[panel.dataset.state];
        show(panel, run);
        if (MOVING[run.state]) return true;
        if (wasMoving && run.state === "completed") window.location.reload();
        return false;
      })
      .catch(function () { return true; })
      .then(function (again) { if (again) setTimeout(function () { poll(panel); }, 1000); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".run-panel[data-run]").forEach(function (panel) {
      if (MOVING[panel.dataset.state]) setTimeout(function () { poll(panel); }, 500);
    });
  });
})();
