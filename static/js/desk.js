// The desk's small script: live-connection state, resuming from the last event seen,
// keyboard shortcuts, relative times. Everything works without it, only less live.
(function () {
  "use strict";

  // --- resuming: reconnects ask for what happened since the last event we applied ----
  var makeSocket = htmx.createWebSocket;
  htmx.createWebSocket = function (url) {
    var cursor = document.getElementById("desk-cursor");
    if (cursor && cursor.dataset.eventId) {
      url = url.replace(/([?&])since=\d*/, "$1since=" + cursor.dataset.eventId);
    }
    return makeSocket ? makeSocket(url) : new WebSocket(url);
  };

  function setState(state, text) {
    var bar = document.getElementById("conn");
    if (!bar) return;
    bar.dataset.state = state;
    bar.querySelector(".conn-text").textContent = text;
  }
  document.body.addEventListener("htmx:wsConnecting", function () {
    var bar = document.getElementById("conn");
    if (bar && bar.dataset.state !== "connecting") setState("reconnecting", "Reconnecting…");
  });
  document.body.addEventListener("htmx:wsClose", function () {
    setState("reconnecting", "Reconnecting…");
  });
  document.body.addEventListener("htmx:wsOpen", function () {
    var bar = document.getElementById("conn");
    if (bar && bar.dataset.state === "reconnecting") setState("syncing", "Catching up…");
  });

  // A pushed row for a room the page does not show yet (say, just assigned to me) has
  // no target to replace: put it at the top of the list.
  document.body.addEventListener("htmx:oobErrorNoTarget", function (event) {
    var el = event.detail && event.detail.content;
    if (!el || !el.id) return;
    var talkRow = el.id.indexOf("talkrow-") === 0;
    var list = document.getElementById(talkRow ? "talk-list" : "inbox-list");
    if (!list || (!talkRow && el.id.indexOf("row-") !== 0) || el.dataset.noInsert) return;
    if (el.getAttribute("hx-swap-oob") !== "outerHTML") return; // a delete of a row not shown
    el.removeAttribute("hx-swap-oob");
    list.insertBefore(el, list.firstChild);
    htmx.process(el);
    var empty = document.getElementById(talkRow ? "talk-empty" : "inbox-empty");
    if (empty) empty.remove();
  });

  // Keep the open room scrolled to the newest message when one arrives.
  function stickToBottom() {
    var wrap = document.getElementById("timeline-wrap");
    if (wrap) wrap.scrollTop = wrap.scrollHeight;
  }
  document.body.addEventListener("htmx:wsAfterMessage", function () {
    var inbox = document.querySelector("#inbox-list");
    var current = inbox && inbox.dataset.current;
    if (current) {
      var row = document.getElementById("row-" + current);
      if (row) row.classList.add("current");
    }
    stickToBottom();
  });
  document.body.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "timeline") stickToBottom();
  });
  document.addEventListener("DOMContentLoaded", stickToBottom);
  document.body.addEventListener("htmx:load", function (event) {
    if (event.detail.elt === document.body) stickToBottom();
  });

  // --- Talk: a sent message empties its composer (not when the answer is an alert);
  // a reaction picked or a message saved closes its little menu ---------------------
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form || !event.detail.successful || form.tagName !== "FORM") return;
    var answer = event.detail.xhr ? event.detail.xhr.responseText || "" : "";
    if (answer.indexOf('class="alert') >= 0) return;
    if (form.classList.contains("talk-composer")) form.reset();
    var menu = form.closest("details");
    if (menu) menu.open = false;
  });

  // --- keyboard: j/k move, Enter open, / search, e close, a assign to me --------------
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#inbox-list .row")); }
  function selected() { return document.querySelector("#inbox-list .row.selected") || document.querySelector("#inbox-list .row.current"); }
  function select(row) {
    rows().forEach(function (r) { r.classList.remove("selected"); });
    if (row) { row.classList.add("selected"); row.scrollIntoView({ block: "nearest" }); }
  }
  document.addEventListener("keydown", function (event) {
    var t = event.target;
    var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
    if (typing) {
      var sends = t.id === "reply-text" || (t.classList && t.classList.contains("talk-text"));
      if (sends && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        t.form.requestSubmit();
      } else if (event.key === "Escape") {
        t.blur();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var all = rows(), current = selected(), index = all.indexOf(current);
    if (event.key === "j") { select(all[Math.min(all.length - 1, index + 1)] || all[0]); }
    else if (event.key === "k") { select(all[Math.max(0, index - 1)] || all[0]); }
    else if (event.key === "Enter" && current) { current.querySelector("a.row-link").click(); }
    else if (event.key === "/") { var s = document.getElementById("search"); if (s) { event.preventDefault(); s.focus(); } }
    else if (event.key === "e") { var c = document.getElementById("close-room"); if (c) c.click(); }
    else if (event.key === "a") { var a = document.getElementById("assign-me"); if (a) a.click(); }
    else return;
  });

  // --- relative times ("5m") stay true while the page is open --------------------------
  function rel(iso) {
    var s = (Date.now() - Date.parse(iso)) / 1000;
    if (s < 45) return "now";
    if (s < 3600) return Math.round(s / 60) + "m";
    if (s < 86400) return Math.round(s / 3600) + "h";
    if (s < 7 * 86400) return Math.round(s / 86400) + "d";
    return new Date(iso).toLocaleDateString(undefined, { month: "short", day: "2-digit" });
  }
  setInterval(function () {
    document.querySelectorAll("time.rel[datetime]").forEach(function (el) {
      el.textContent = rel(el.getAttribute("datetime"));
    });
  }, 30000);
})();
