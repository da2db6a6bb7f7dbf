// Canned replies in the composer, and the signature preview.
//
// Typing "/" at the start of a word in the reply box opens the list of the agent's own
// and the shared canned replies whose shortcut (or name) starts with what follows; the
// server filters and fills each reply's variables for the room (GET /canned/lookup, an
// escaped HTML fragment). Up/Down move, Enter or Tab (or a click) insert: the "/word" is
// replaced by the filled text, set as the textarea's value (plain text, never HTML).
// Escape closes the list. Listeners sit on the document (capture), so they keep working
// when htmx swaps the room in, and run before desk.js's own keys (Escape blurs there).
(function () {
  "use strict";
  var WORD = /(^|\s)\/([A-Za-z0-9_.-]{0,64})$/;
  var seq = 0, timer = null, open = null; // open: {box, start, end}

  function textarea(t) { return t && t.id === "reply-text" ? t : null; }
  function roomOf(box) {
    var m = /\/conversations\/([^/]+)\/reply/.exec(box.form ? box.form.getAttribute("action") || "" : "");
    return m ? m[1] : "";
  }
  function picker(box) {
    var el = document.getElementById("canned-picker");
    if (!el) {
      el = document.createElement("div");
      el.id = "canned-picker";
      el.className = "canned-picker";
      el.hidden = true;
      box.parentNode.insertBefore(el, box.nextSibling);
      box.setAttribute("aria-autocomplete", "list");
      box.setAttribute("aria-controls", "canned-list");
    }
    return el;
  }
  function options() { return Array.prototype.slice.call(document.querySelectorAll("#canned-list .canned-option")); }
  function active() { return document.querySelector("#canned-list .canned-option.active"); }
  function activate(opt, box) {
    options().forEach(function (o) { o.classList.remove("active"); o.setAttribute("aria-selected", "false"); });
    if (!opt) { box.removeAttribute("aria-activedescendant"); return; }
    opt.classList.add("active");
    opt.setAttribute("aria-selected", "true");
    opt.scrollIntoView({ block: "nearest" });
    box.setAttribute("aria-activedescendant", opt.id);
  }
  function close(box) {
    seq++;
    open = null;
    var el = document.getElementById("canned-picker");
    if (el) { el.hidden = true; el.innerHTML = ""; }
    if (box) { box.setAttribute("aria-expanded", "false"); box.removeAttribute("aria-activedescendant"); }
  }
  function lookup(box) {
    var caret = box.selectionStart, before = box.value.slice(0, caret);
    var m = WORD.exec(before);
    if (!m || box.selectionEnd !== caret) { close(box); return; }
    var start = caret - m[2].length - 1, mine = ++seq;
    var url = "/canned/lookup?q=" + encodeURIComponent(m[2]) + "&conversation_id=" + encodeURIComponent(roomOf(box));
    fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        if (mine !== seq || !html) return; // a later key asked again
        var el = picker(box);
        el.innerHTML = html; // the server's escaped fragment
        el.hidden = false;
        open = { box: box, start: start, end: caret };
        box.setAttribute("aria-expanded", "true");
        activate(options()[0], box);
      })
      .catch(function () { /* offline: no list, typing goes on */ });
  }
  function insert(opt) {
    if (!open || !opt) return;
    var box = open.box, text = opt.getAttribute("data-text") || "";
    box.value = box.value.slice(0, open.start) + text + box.value.slice(open.end);
    var at = open.start + text.length;
    close(box);
    box.focus();
    box.setSelectionRange(at, at);
  }

  document.addEventListener("input", function (event) {
    var box = textarea(event.target);
    if (!box) return;
    clearTimeout(timer);
    timer = setTimeout(function () { lookup(box); }, 60);
  }, true);

  document.addEventListener("keydown", function (event) {
    var box = textarea(event.target);
    if (!box || !open) return;
    var all = options(), index = all.indexOf(active());
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!all.length) return;
      var step = event.key === "ArrowDown" ? 1 : -1;
      activate(all[(index + step + all.length) % all.length], box);
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      if (!all.length) { close(box); return; }
      insert(active() || all[0]);
    } else if (event.key === "Escape") {
      close(box);
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }, true);

  document.addEventListener("mousedown", function (event) {
    var opt = event.target.closest && event.target.closest("#canned-list .canned-option");
    if (opt) { event.preventDefault(); insert(opt); return; } // keeps the textarea's focus
    if (open && !(event.target.closest && event.target.closest("#canned-picker")) && event.target !== open.box) close(open.box);
  }, true);

  document.addEventListener("click", function (event) {
    if (open && textarea(event.target)) lookup(event.target); // the caret moved
  }, true);

  document.addEventListener("focusout", function (event) {
    var box = textarea(event.target);
    if (box && open) setTimeout(function () { if (document.activeElement !== box) close(box); }, 150);
  }, true);

  // --- the signature preview: what the chosen channel appends, replies only ------------
  function preview() {
    var p = document.getElementById("signature-preview"), form = document.getElementById("composer");
    if (!p || !form) return;
    var select = document.getElementById("channel-picker");
    var opt = select && select.options[select.selectedIndex];
    var signature = opt ? opt.getAttribute("data-signature") || "" : "";
    var mode = form.querySelector("input[name=mode]:checked");
    var note = mode && mode.value === "note";
    p.querySelector(".signature-text").textContent = signature;
    p.hidden = !signature || note;
  }
  document.addEventListener("change", function (event) {
    var t = event.target;
    if (t && (t.id === "channel-picker" || (t.name === "mode" && t.form && t.form.id === "composer"))) preview();
  }, true);
  document.addEventListener("htmx:afterSettle", preview);
})();
