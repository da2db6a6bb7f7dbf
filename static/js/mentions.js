// Mentions and notifications on the desk.
//
// - The rail's bell opens a panel of recent notifications (/notifications/panel); the
//   count (#notif-count) is pushed by the desk socket, and an open panel reloads when it
//   changes. Escape or a click elsewhere closes it.
// - In the composer's Note mode, typing `@` opens a list of the agents who may be
//   mentioned in this room (/notifications/mentionable?room=…), filtered as you type;
//   Up/Down move, Enter or Tab insert, Escape closes; the mouse works too. The server
//   resolves mentions when the note is written: the list only helps to type a name.
//
// Loaded by the nav rail on every desk page; with hx-boost the rail is swapped in again,
// so everything hangs on `document` once.
(function () {
  "use strict";
  if (window.convodeskMentions) return;
  window.convodeskMentions = true;

  // --- the bell ---------------------------------------------------------------------
  function panel() { return document.getElementById("notif-panel"); }
  function toggle() { return document.getElementById("notif-toggle"); }

  function loadPanel() {
    var p = panel();
    if (p && window.htmx) htmx.ajax("GET", "/notifications/panel", { target: p, swap: "innerHTML" });
  }
  function openPanel() {
    var p = panel(), t = toggle();
    if (!p) return;
    p.hidden = false;
    if (t) t.setAttribute("aria-expanded", "true");
    loadPanel();
  }
  function closePanel(focusBell) {
    var p = panel(), t = toggle();
    if (!p || p.hidden) return;
    p.hidden = true;
    if (t) {
      t.setAttribute("aria-expanded", "false");
      if (focusBell) t.focus();
    }
  }

  document.addEventListener("click", function (e) {
    var t = e.target.closest && e.target.closest("#notif-toggle");
    if (t) {
      var p = panel();
      if (p && p.hidden) openPanel(); else closePanel(false);
      return;
    }
    var p2 = panel();
    if (p2 && !p2.hidden && !e.target.closest("#notif-panel")) closePanel(false);
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && panel() && !panel().hidden) closePanel(true);
  });
  // a pushed count while the panel is open: show what changed
  document.addEventListener("htmx:oobAfterSwap", function (e) {
    var target = e.detail && e.detail.target;
    if (target && target.id === "notif-count" && panel() && !panel().hidden) loadPanel();
  });

  // --- @mentions in the composer ----------------------------------------------------
  var cache = {}; // room id → the agents it offers
  var state = null; // {box, list, at, items, index}

  function roomOf(box) {
    var form = box.form;
    var m = form && (form.getAttribute("action") || "").match(/^\/conversations\/([^/]+)\/reply$/);
    return m ? m[1] : null;
  }
  function noteMode(box) {
    var picked = box.form && box.form.querySelector('input[name="mode"]:checked');
    return picked && picked.value === "note";
  }
  function candidates(room) {
    if (!cache[room]) {
      cache[room] = fetch("/notifications/mentionable?room=" + encodeURIComponent(room), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      }).then(function (r) { return r.ok ? r.json() : []; }).catch(function () {
        delete cache[room];
        return [];
      });
    }
    return cache[room];
  }
  // the `@word` being typed just before the caret: where its `@` is, and the query
  function typed(box) {
    var upto = box.value.slice(0, box.selectionStart);
    var at = upto.lastIndexOf("@");
    if (at < 0) return null;
    if (at > 0 && /[\p{L}\p{N}_]/u.test(upto.charAt(at - 1))) return null;
    var query = upto.slice(at + 1);
    if (query.length > 40 || /\n/.test(query) || /\s\s/.test(query)) return null;
    return { at: at, query: query };
  }
  function close() {
    if (state && state.list) state.list.remove();
    if (state && state.box) {
      state.box.removeAttribute("aria-activedescendant");
      state.box.setAttribute("aria-expanded", "false");
    }
    state = null;
  }
  function show(box, at, items) {
    if (!items.length) { close(); return; }
    var list = state && state.box === box ? state.list : null;
    if (!list) {
      close();
      list = document.createElement("ul");
      list.className = "mention-list";
      list.id = "mention-list";
      list.setAttribute("role", "listbox");
      list.setAttribute("aria-label", "Mention a teammate");
      box.parentNode.insertBefore(list, box);
      box.setAttribute("aria-controls", "mention-list");
      box.setAttribute("aria-expanded", "true");
    }
    state = { box: box, list: list, at: at, items: items, index: 0 };
    list.textContent = "";
    items.forEach(function (a, i) {
      var li = document.createElement("li");
      li.id = "mention-opt-" + i;
      li.setAttribute("role", "option");
      li.dataset.index = String(i);
      li.textContent = a.name;
      if (a.username !== a.name) {
        var small = document.createElement("small");
        small.textContent = "@" + a.username;
        li.appendChild(small);
      }
      list.appendChild(li);
    });
    mark();
  }
  function mark() {
    if (!state) return;
    Array.prototype.forEach.call(state.list.children, function (li, i) {
      li.setAttribute("aria-selected", i === state.index ? "true" : "false");
    });
    var current = state.list.children[state.index];
    if (current) {
      state.box.setAttribute("aria-activedescendant", current.id);
      current.scrollIntoView({ block: "nearest" });
    }
  }
  function pick(i) {
    if (!state) return;
    var a = state.items[i], box = state.box;
    if (!a) return;
    var before = box.value.slice(0, state.at), after = box.value.slice(box.selectionStart);
    var inserted = "@" + a.insert + " ";
    box.value = before + inserted + after;
    var caret = before.length + inserted.length;
    box.setSelectionRange(caret, caret);
    close();
    box.focus();
  }
  function update(box) {
    if (box.id !== "reply-text" || !noteMode(box)) { close(); return; }
    var found = typed(box), room = roomOf(box);
    if (!found || !room) { close(); return; }
    candidates(room).then(function (all) {
      var now = typed(box);
      if (!now || now.at !== found.at || !noteMode(box)) return;
      var q = now.query.toLowerCase();
      var items = all.filter(function (a) {
        return a.name.toLowerCase().indexOf(q) === 0 || a.username.toLowerCase().indexOf(q) === 0 ||
          a.name.toLowerCase().indexOf(" " + q) > 0;
      }).slice(0, 8);
      show(box, now.at, items);
    });
  }

  document.addEventListener("input", function (e) {
    if (e.target && e.target.id === "reply-text") update(e.target);
  });
  document.addEventListener("change", function (e) {
    if (e.target && e.target.name === "mode") close();
  });
  // capture: the list's keys win over the composer's own (Enter, Ctrl+Enter)
  document.addEventListener("keydown", function (e) {
    if (!state || e.target !== state.box) return;
    var n = state.items.length;
    if (e.key === "ArrowDown") { state.index = (state.index + 1) % n; mark(); }
    else if (e.key === "ArrowUp") { state.index = (state.index - 1 + n) % n; mark(); }
    else if ((e.key === "Enter" && !e.ctrlKey && !e.metaKey) || e.key === "Tab") { pick(state.index); }
    else if (e.key === "Escape") { close(); }
    else return;
    e.preventDefault();
    e.stopPropagation();
  }, true);
  document.addEventListener("mousedown", function (e) {
    var li = e.target.closest && e.target.closest(".mention-list li");
    if (li && state) { e.preventDefault(); pick(Number(li.dataset.index)); return; }
    if (state && e.target !== state.box) close();
  });
  document.addEventListener("htmx:beforeSwap", function () { close(); });
})();
