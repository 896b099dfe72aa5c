// Sequence pages: the builder's live preview (re-rendered for the chosen lead without a
// reload), "select all" on the enrollments table, and a confirmation on destructive buttons.
(function () {
  "use strict";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderPreview(list, steps) {
    list.textContent = "";
    if (!steps.length) {
      list.appendChild(el("p", "muted", "Nothing left to send to this lead."));
      return;
    }
    steps.forEach(function (step) {
      var article = el("article", "preview-step");
      var header = el("header");
      header.appendChild(el("strong", "", "Step " + step.position));
      if (step.variant) {
        header.appendChild(document.createTextNode(" "));
        header.appendChild(el("span", "variant-tag", step.variant));
      }
      header.appendChild(el("span", "muted small preview-when", step.local_time + " · " + step.timezone));
      article.appendChild(header);
      article.appendChild(el("div", "preview-subject", step.subject || "(no subject)"));
      article.appendChild(el("pre", "preview-body", step.body));
      list.appendChild(article);
    });
  }

  function setupPreview(section) {
    var select = section.querySelector("#preview-lead");
    var list = section.querySelector(".preview-list");
    if (!select || !list) return;
    var button = section.querySelector(".js-hide");
    if (button) button.hidden = true;
    var testLead = document.getElementById("t-lead");
    select.addEventListener("change", function () {
      list.setAttribute("aria-busy", "true");
      fetch(section.dataset.previewUrl + "?lead_id=" + encodeURIComponent(select.value), {
        headers: { Accept: "application/json" },
        credentials: "same-origin"
      })
        .then(function (r) {
          return r.json().then(function (body) { return { ok: r.ok, body: body }; });
        })
        .then(function (result) {
          if (result.ok) {
            renderPreview(list, result.body);
          } else {
            list.textContent = "";
            list.appendChild(el("p", "field-error", (result.body.error || {}).message || "The preview failed."));
          }
          if (testLead) testLead.value = select.value;
          if (window.history && window.history.replaceState) {
            window.history.replaceState(null, "", "?lead_id=" + encodeURIComponent(select.value) + "#preview");
          }
        })
        .catch(function () {
          list.textContent = "";
          list.appendChild(el("p", "field-error", "The preview could not be loaded; check your connection."));
        })
        .then(function () { list.removeAttribute("aria-busy"); });
    });
  }

  function setupSelectAll() {
    var all = document.getElementById("select-all");
    if (!all) return;
    var boxes = document.querySelectorAll('input[name="enrollment_ids"][type="checkbox"]');
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
    });
  }

  // A bulk action asks once, but only when something is ticked: with nothing ticked the
  // server's answer ("tick enrollments first") is the useful one.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-confirm-click]");
    if (!button) return;
    var form = button.form;
    var ticked = form && form.id
      ? document.querySelectorAll('input[type="checkbox"][form="' + form.id + '"]:checked').length
      : 1;
    if (ticked && !window.confirm(button.dataset.confirmClick)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var preview = document.getElementById("preview");
    if (preview && preview.dataset.previewUrl) setupPreview(preview);
    setupSelectAll();
  });
})();
