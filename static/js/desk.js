// The desk's small script: live-connection state, resuming from the last event seen,
// keyboard shortcuts, relative times. Everything works without it, only less live.
(function () {
  "use strict";

  // --- resuming: reconnects ask for what happened since the last event we applied ----
  // Back within 5 s of a server's return (a deploy restarts every process): htmx's
  // default backoff grows to a minute. Jittered, so a thousand desks do not all knock at
  // the same instant.
  htmx.config.wsReconnectDelay = function (retries) {
    return Math.min(5000, 500 * Math.pow(2, retries)) * (0.5 + Math.random() / 2);
  };
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
  document.body.addEventListener("htmx:wsClose", function (event) {
    var closed = event.detail && event.detail.event;
    if (closed && closed.code === 4410) {
      // The page is older than the events the server keeps: only a fresh page is right.
      setState("reloading", "Reloading…");
      location.reload();
      return;
    }
    setState("reconnecting", "Reconnecting…");
  });
  document.body.addEventListener("htmx:wsOpen", function () {
    var bar = document.getElementById("conn");
    if (bar && bar.dataset.state === "reconnecting") setState("syncing", "Catching up…");
  });

  // --- placing pushed fragments ---------------------------------------------------------
  // Fragments whose target the page may lack (a row outside the loaded list, a message
  // older than the loaded history, a thread that is not open) arrive in #live-updates,
  // never swapped by id (htmx would log oobErrorNoTarget): each in a holder saying how it
  // is placed (templates/partials/oob.html: swap, swap-or-top, top, end; remove and lock
  // name an element and hold none). In order.
  function place() {
    var box = document.getElementById("live-updates");
    if (!box) return;
    var holder, placedRows = false;
    while ((holder = box.firstElementChild)) {
      holder.remove();
      var how = holder.dataset.place;
      var el = holder.firstElementChild;
      // a table row comes in a <template> (a <tr> outside a table does not parse)
      if (el && el.tagName === "TEMPLATE") el = el.content.firstElementChild;
      var list = holder.dataset.in ? document.getElementById(holder.dataset.in) : null;
      var old = document.getElementById(holder.dataset.id || (el && el.id));
      if (how === "availability") { markAvailability(holder.dataset.id, holder.dataset.availability); continue; }
      if (how === "remove") { if (old) old.remove(); continue; }
      if (how === "lock") { if (old) lock(old); continue; }
      if (!el) continue;
      keepTicked(old, el);
      if (how === "swap" || (how === "swap-or-top" && old)) {
        if (old) { old.replaceWith(el); htmx.process(el); placedRows = true; }
        continue;
      }
      if (!list) continue; // top / end / swap-or-top into a list this page does not have
      if (old) old.remove();
      if (how === "end") {
        // scheduled replies stay last: they belong at their (future) time
        var later = el.classList.contains("st-scheduled") ? null : list.querySelector(":scope > .st-scheduled");
        list.insertBefore(el, later);
      } else list.insertBefore(el, list.firstChild);
      var empty = list.querySelector(":scope > .empty");
      if (empty) empty.remove();
      htmx.process(el);
      placedRows = true;
    }
    if (placedRows) { markCurrent(); stickToBottom(); }
    updateBulk(); // rows came or went: the bulk bar's count follows
  }
  function markAvailability(agentId, state) {
    // an agent's availability changed: its marks (the assign menu's options) follow
    if (!agentId || !/^\w+$/.test(state || "")) return;
    document.querySelectorAll("[data-avail-agent]").forEach(function (el) {
      if (el.dataset.availAgent !== agentId) return;
      Array.prototype.slice.call(el.classList).forEach(function (c) {
        if (c.indexOf("avail-") === 0) el.classList.remove(c);
      });
      el.classList.add("avail-" + state);
      if (el.dataset.label) el.textContent = el.dataset.label + " · " + state;
    });
  }
  function lock(area) {
    // The text stays readable (and copyable); nothing can be sent or changed.
    area.classList.add("locked");
    area.querySelectorAll("input, select, button, textarea").forEach(function (c) {
      if (c.tagName === "TEXTAREA") c.readOnly = true; else c.disabled = true;
    });
  }
  function markCurrent() {
    var inbox = document.querySelector("#inbox-list");
    var current = inbox && inbox.dataset.current;
    var row = current && document.getElementById("row-" + current);
    if (row) row.classList.add("current");
  }
  document.body.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "live-updates") place();
  });
  document.body.addEventListener("htmx:afterSettle", place);
  document.body.addEventListener("htmx:wsAfterMessage", place);

  // Keep the open room scrolled to the newest message when one arrives.
  function stickToBottom() {
    var wrap = document.getElementById("timeline-wrap");
    if (wrap) wrap.scrollTop = wrap.scrollHeight;
  }
  document.body.addEventListener("htmx:wsAfterMessage", function () {
    markCurrent();
    stickToBottom();
  });
  document.body.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "timeline") stickToBottom();
  });
  document.addEventListener("DOMContentLoaded", stickToBottom);
  document.body.addEventListener("htmx:load", function (event) {
    if (event.detail.elt === document.body) stickToBottom();
  });

  // --- composers ----------------------------------------------------------------------
  // A refused action answers with a toast (#alerts, static/js/toasts.js) and the header
  // X-Desk-Refused; a composer keeps its text then, and empties (clearing the toast) only
  // when the message went out.
  function isComposer(form) {
    return form && form.tagName === "FORM" &&
      (form.id === "composer" || form.classList.contains("talk-composer"));
  }
  var toast = window.deskToast.show, clearToasts = window.deskToast.clear;

  // Sending needs the connection: while the desk socket is down (or the browser is
  // offline) a message is not sent, the page says so, and the text stays.
  var NOT_SENT = "Not connected — your message was not sent";
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (!isComposer(form)) return;
    var bar = document.getElementById("conn");
    var down = bar && bar.dataset.state === "reconnecting";
    if (down || navigator.onLine === false) {
      event.preventDefault();
      toast(NOT_SENT);
    }
  });
  document.body.addEventListener("htmx:sendError", function (event) {
    toast(isComposer(event.detail.elt) ? NOT_SENT : "Not connected — that did not go through");
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form || !event.detail.successful || form.tagName !== "FORM") return;
    var xhr = event.detail.xhr;
    if (xhr && xhr.getResponseHeader("X-Desk-Refused")) return; // the toast says why
    if (isComposer(form)) { form.reset(); clearToasts(); }
    var menu = form.closest("details"); // a reaction picked or a message saved
    if (menu) menu.open = false;
  });

  // --- "Visitor is typing…" (partials/typing.html): each push shows it for TYPING_MS more;
  // the visitor's message arriving ends it at once. The widget signals every 2 s while
  // the visitor types, so 6 s without one means they stopped.
  var TYPING_MS = 6000, typingTimer = null, inboundSeen = -1;
  function stopTyping() {
    var line = document.getElementById("typing");
    if (line) { line.textContent = ""; delete line.dataset.typing; }
  }
  function countInbound() { return document.querySelectorAll("#timeline .item.inbound").length; }
  // another room opened (or older messages loaded): count from what it shows now
  document.body.addEventListener("htmx:afterSettle", function () { inboundSeen = countInbound(); });
  document.body.addEventListener("htmx:wsAfterMessage", function () {
    var line = document.getElementById("typing");
    var inbound = countInbound();
    if (inboundSeen >= 0 && inbound > inboundSeen) { clearTimeout(typingTimer); stopTyping(); }
    inboundSeen = inbound;
    if (line && line.dataset.typing === "on") {
      line.dataset.typing = "shown";
      clearTimeout(typingTimer);
      typingTimer = setTimeout(stopTyping, TYPING_MS);
    }
  });

  // --- the attach button: the chosen files' names (or how many) beside the paperclip ---
  function showFiles(input) {
    var label = input.closest("label.attach");
    var names = document.getElementById(input.id + "-names");
    var files = Array.prototype.map.call(input.files || [], function (f) { return f.name; });
    var text = files.length > 2 ? files.length + " files" : files.join(", ");
    if (names) { names.textContent = text; names.title = files.join(", "); }
    if (label) label.classList.toggle("has-files", files.length > 0);
  }
  document.addEventListener("change", function (event) {
    var t = event.target;
    if (t && t.classList && t.classList.contains("attach-input")) showFiles(t);
  });
  document.addEventListener("reset", function (event) {
    // after the reset has emptied the inputs (the event comes before it)
    var form = event.target;
    setTimeout(function () { form.querySelectorAll(".attach-input").forEach(showFiles); }, 0);
  }, true);

  // --- keyboard: j/k move, Enter open, / search, e close, a assign to me, m macros ----
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
    else if (event.key === "m") { openMacros(); }
    else return;
  });
  // "m": the room's Macros menu opens (its list loads on the toggle) and its first macro
  // takes the focus, so Enter applies it and Tab moves on
  var macrosByKey = false;
  function openMacros() {
    var menu = document.getElementById("macro-menu");
    if (!menu) return;
    macrosByKey = true;
    if (menu.open) { focusMacro(); } else { menu.open = true; }
  }
  function focusMacro() {
    var first = document.querySelector("#macro-menu .macro-pick");
    if (first) { first.focus(); macrosByKey = false; }
  }
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var t = event.detail && event.detail.target;
    if (macrosByKey && t && t.id && t.id.indexOf("macro-list-") === 0) focusMacro();
  });

  // --- bulk actions: tick rows, shift-click a range, select all ----------
  // A row pushed live replaces the shown one: it keeps its tick. The bar's count says how
  // many are ticked; "every conversation in this view" is offered once all loaded rows are.
  function keepTicked(old, el) {
    var was = old && old.querySelector && old.querySelector(".row-check");
    var now = el && el.querySelector && el.querySelector(".row-check");
    if (was && now && was.checked) now.checked = true;
    if (old && el && old.parentNode) setTimeout(updateBulk, 0);
  }
  function checks() { return Array.prototype.slice.call(document.querySelectorAll("#inbox-list .row-check")); }
  function updateBulk() {
    var form = document.getElementById("bulk-form");
    if (!form) return;
    var all = checks(), ticked = all.filter(function (c) { return c.checked; }).length;
    var matching = document.getElementById("bulk-matching");
    var every = matching && matching.checked;
    form.classList.toggle("active", ticked > 0 || every);
    var count = document.getElementById("bulk-count");
    if (count) count.textContent = every ? "All in this view" : ticked ? ticked + " selected" : "Select";
    var box = document.getElementById("bulk-all");
    if (box) { box.checked = all.length > 0 && ticked === all.length; box.indeterminate = ticked > 0 && ticked < all.length; }
    var offer = form.querySelector(".bulk-matching");
    if (offer) offer.hidden = !(all.length > 0 && ticked === all.length);
    if (matching && offer && offer.hidden) matching.checked = false;
  }
  var lastTicked = null;
  document.addEventListener("click", function (event) {
    var box = event.target;
    if (!box.classList || !box.classList.contains("row-check")) return;
    if (event.shiftKey && lastTicked && lastTicked !== box) {
      var all = checks(), a = all.indexOf(lastTicked), b = all.indexOf(box);
      if (a >= 0 && b >= 0) {
        all.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (c) { c.checked = box.checked; });
      }
    }
    lastTicked = box;
    updateBulk();
  });
  document.addEventListener("change", function (event) {
    var t = event.target;
    if (t.id === "bulk-all") { checks().forEach(function (c) { c.checked = t.checked; }); updateBulk(); }
    else if (t.id === "bulk-matching") updateBulk();
  });
  function fillZones() {
    // "tomorrow 09:00" is where the agent is: the browser's offset goes with the form
    document.querySelectorAll("input.tz-offset").forEach(function (i) { i.value = String(new Date().getTimezoneOffset()); });
  }
  document.addEventListener("DOMContentLoaded", function () { fillZones(); updateBulk(); });
  document.body.addEventListener("htmx:afterSettle", fillZones);
  document.body.addEventListener("htmx:oobAfterSwap", fillZones);
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form || form.id !== "bulk-form" || !event.detail.successful) return;
    var xhr = event.detail.xhr;
    if (xhr && xhr.getResponseHeader("X-Desk-Refused")) return; // keep the selection
    checks().forEach(function (c) { c.checked = false; });
    var matching = document.getElementById("bulk-matching");
    if (matching) matching.checked = false;
    updateBulk();
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

  // --- SLA badges count down between the pushes that change their colour ---------------
  // (app/desk/render.py sla_left says the same; the server sends amber and red)
  function slaLeft(iso) {
    var s = (Date.parse(iso) - Date.now()) / 1000;
    var m = Math.floor(Math.abs(s) / 60);
    var text = m >= 60 ? Math.floor(m / 60) + "h" + String(m % 60).padStart(2, "0") : m + "m";
    return s >= 0 ? text : text + " over";
  }
  function tickSla() {
    document.querySelectorAll(".sla-badge[data-due] .sla-left").forEach(function (el) {
      el.textContent = slaLeft(el.parentNode.getAttribute("data-due"));
    });
  }
  setInterval(tickSla, 15000);
  document.body.addEventListener("htmx:wsAfterMessage", tickSla);
})();
