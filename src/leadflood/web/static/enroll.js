// The "Enroll leads" form: show only the block of the chosen source (filter, selection or
// search run). Without JS every block stays visible and the radio still decides.
// Enrolling by filter asks once, with the number of matching leads counted by the server
// (a filter can match the whole workspace). Without JS, or if the count cannot be fetched,
// the server asks instead: a filter post without `confirmed=<count>` enrolls nobody.
(function () {
  "use strict";
  var choice = document.querySelector("[data-source-choice]");
  if (!choice) return;
  var form = choice.form;
  var blocks = document.querySelectorAll("[data-source]");
  var countUrl = form ? form.getAttribute("data-count-url") : null;
  var matchLine = form ? form.querySelector("[data-match-count]") : null;

  function chosen() {
    var checked = choice.querySelector("input[name=source]:checked");
    return checked ? checked.value : "filter";
  }

  function show() {
    var current = chosen();
    blocks.forEach(function (block) {
      var on = block.getAttribute("data-source") === current;
      block.hidden = !on;
      // A hidden block's fields are not sent: the server reads only the chosen source anyway.
      block.disabled = !on;
    });
  }

  choice.addEventListener("change", show);
  show();
  if (!form || !countUrl) return;

  function countMatching() {
    var params = new URLSearchParams();
    ["q", "status", "min_score", "list_id"].forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (field && field.value) params.set(name, field.value);
    });
    return fetch(countUrl + "?" + params.toString(), {
      credentials: "same-origin",
      headers: { accept: "application/json" },
    }).then(function (response) {
      return response.ok ? response.json() : null;
    });
  }

  var timer = null;
  function refreshCount() {
    if (!matchLine) return;
    clearTimeout(timer);
    timer = setTimeout(function () {
      countMatching().then(function (found) {
        matchLine.textContent = found ? found.text : "";
      }, function () { matchLine.textContent = ""; });
    }, 300);
  }
  var filterBlock = form.querySelector("[data-source=filter]");
  if (filterBlock) {
    filterBlock.addEventListener("input", refreshCount);
    filterBlock.addEventListener("change", refreshCount);
  }

  form.addEventListener("submit", function (event) {
    if (event.defaultPrevented || chosen() !== "filter") return;
    event.preventDefault();
    // A count confirmed earlier (back button, cancelled dialog) is never reused.
    form.querySelectorAll("input[name=confirmed]").forEach(function (old) { old.remove(); });
    countMatching().then(function (found) {
      if (found && found.count > 0) {
        if (!window.confirm(found.question)) return;
        var confirmed = document.createElement("input");
        confirmed.type = "hidden";
        confirmed.name = "confirmed";
        confirmed.value = String(found.count);
        form.appendChild(confirmed);
      }
      form.submit();
    }, function () { form.submit(); });
  });
})();
