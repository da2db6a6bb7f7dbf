// Send later: the browser's time zone for the composer's menu ("Tomorrow 9:00" is the
// agent's 9:00) and for a scheduled reply's Edit form, and scheduled times shown in
// local time. The server does the arithmetic (app/desk/replies.py); without this script
// the times are UTC.
(function () {
  "use strict";

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localInput(date) {
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
      "T" + pad(date.getHours()) + ":" + pad(date.getMinutes());
  }

  function fill(root) {
    var offset = String(new Date().getTimezoneOffset());
    root.querySelectorAll("input[name=tz_offset]").forEach(function (el) { el.value = offset; });
    root.querySelectorAll("input[type=datetime-local][data-utc]").forEach(function (el) {
      if (!el.value && el.dataset.utc) el.value = localInput(new Date(el.dataset.utc));
    });
    root.querySelectorAll("time.local-time[datetime]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) el.textContent = when.toLocaleString(undefined, {
        weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"
      });
    });
    var custom = root.querySelector ? root.querySelector("#send-at") : null;
    if (custom && !custom.min) custom.min = localInput(new Date());
  }

  document.addEventListener("DOMContentLoaded", function () { fill(document); });
  document.body.addEventListener("htmx:load", function (event) { fill(event.detail.elt); });
  // a scheduled reply's item pushed live (#live-updates, placed by desk.js)
  document.body.addEventListener("htmx:wsAfterMessage", function () { fill(document); });
  // the menu closes once the reply is scheduled
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form || form.id !== "composer" || !event.detail.successful) return;
    var menu = document.getElementById("send-later");
    if (menu) menu.open = false;
  });
})();
