// The "Enroll leads" form: show only the block of the chosen source (filter, selection or
// search run). Without JS every block stays visible and the radio still decides.
(function () {
  "use strict";
  var choice = document.querySelector("[data-source-choice]");
  if (!choice) return;
  var blocks = document.querySelectorAll("[data-source]");

  function show() {
    var checked = choice.querySelector("input[name=source]:checked");
    var chosen = checked ? checked.value : "filter";
    blocks.forEach(function (block) {
      var on = block.getAttribute("data-source") === chosen;
      block.hidden = !on;
      // A hidden block's fields are not sent: the server reads only the chosen source anyway.
      block.disabled = !on;
    });
  }

  choice.addEventListener("change", show);
  show();
})();
