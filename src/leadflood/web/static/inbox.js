// Inbox: keyboard moves (j/k next/previous thread, Enter or o to open, r to reply, e done,
// u unread, Esc back to the list, Ctrl+Enter sends the reply) and the delivery status of a
// reply that is still on its way, polled until it settles.
(function () {
  "use strict";
  var script = document.currentScript;
  var threadId = script && script.dataset.thread;
  var MOVING = { queued: true, sending: true };

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function keyed(name) { return document.querySelector('[data-key="' + name + '"]'); }

  function listMoves() {
    var table = document.querySelector("table[data-keyboard-list]");
    if (!table) return null;
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-id]"));
    var current = -1;
    function select(index) {
      if (!rows.length) return;
      current = Math.max(0, Math.min(rows.length - 1, index));
      rows.forEach(function (row, i) { row.classList.toggle("is-current", i === current); });
      var link = rows[current].querySelector("a.thread-link");
      if (link) link.focus();
    }
    table.addEventListener("focusin", function (event) {
      var row = event.target.closest && event.target.closest("tr[data-id]");
      if (row) {
        current = rows.indexOf(row);
        rows.forEach(function (r, i) { r.classList.toggle("is-current", i === current); });
      }
    });
    return {
      j: function () { select(current + 1); },
      k: function () { select(current < 0 ? 0 : current - 1); },
      o: function () {
        var link = current >= 0 && rows[current].querySelector("a.thread-link");
        if (link) link.click();
      },
    };
  }

  function threadMoves() {
    if (!threadId) return null;
    function follow(name) { var a = keyed(name); if (a && a.href) window.location.href = a.href; }
    function press(name) { var b = keyed(name); if (b) b.click(); }
    return {
      j: function () { follow("next"); },
      k: function () { follow("prev"); },
      r: function () { var t = keyed("reply"); if (t) { t.focus(); t.scrollIntoView({ block: "center" }); } },
      e: function () { press("done"); },
      u: function () { press("unread"); },
      Escape: function () { follow("list"); },
    };
  }

  function badge(status) {
    var span = document.createElement("span");
    span.className = "badge badge-" + status;
    span.dataset.status = status;
    span.textContent = status.replace(/_/g, " ");
    return span;
  }

  function poll(tries) {
    var moving = document.querySelectorAll(".msg-outbound[data-message-id]");
    moving = Array.prototype.filter.call(moving, function (li) { return MOVING[li.dataset.status]; });
    if (!moving.length || tries <= 0) return;
    fetch("/v1/threads/" + threadId, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { messages: [] }; })
      .then(function (data) {
        var byId = {};
        (data.messages || []).forEach(function (m) { byId[m.id] = m; });
        moving.forEach(function (li) {
          var m = byId[li.dataset.messageId];
          if (!m || m.status === li.dataset.status) return;
          li.dataset.status = m.status;
          var cell = li.querySelector('[data-field="status"]');
          cell.textContent = "";
          cell.appendChild(badge(m.status));
          var when = li.querySelector('[data-field="when"]');
          if (when && m.sent_at) when.textContent = "sent just now";
          if (m.error && !MOVING[m.status] && m.status !== "sent") {
            var p = document.createElement("p");
            p.className = "msg-error small";
            p.textContent = m.error;
            li.appendChild(p);
          }
        });
      })
      .catch(function () {})
      .then(function () { setTimeout(function () { poll(tries - 1); }, 2000); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var moves = threadMoves() || listMoves() || {};
    document.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.dataset &&
          event.target.dataset.key === "reply") {
        event.preventDefault();
        event.target.form.requestSubmit();
        return;
      }
      if (typing(event.target)) {
        if (event.key === "Escape") event.target.blur();
        return;
      }
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      var move = moves[event.key];
      if (move) { event.preventDefault(); move(); }
    });
    if (threadId) setTimeout(function () { poll(90); }, 1500);
  });
})();
