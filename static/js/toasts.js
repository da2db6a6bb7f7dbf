// Toasts: what a refused action says (#alerts). They sit at the top, clear of the
// composer's Send button, and go away by themselves after a few seconds or on a click.
// Used by the desk, Talk and admin pages.
(function () {
  "use strict";
  var TOAST_MS = 6000;

  function arm() {
    document.querySelectorAll("#alerts .toast:not([data-armed])").forEach(function (t) {
      t.dataset.armed = "1";
      t.title = "Dismiss";
      setTimeout(function () { t.remove(); }, TOAST_MS);
    });
  }
  function show(text) {
    var box = document.getElementById("alerts");
    if (!box) return;
    box.innerHTML = "";
    var div = document.createElement("div");
    div.className = "alert toast";
    div.setAttribute("role", "alert");
    div.textContent = text;
    box.appendChild(div);
    arm();
  }
  function clear() {
    var box = document.getElementById("alerts");
    if (box) box.innerHTML = "";
  }

  document.addEventListener("click", function (event) {
    var t = event.target.closest && event.target.closest("#alerts .toast");
    if (t) t.remove();
  });
  document.addEventListener("htmx:afterSettle", arm);
  document.addEventListener("htmx:oobAfterSwap", arm);
  document.addEventListener("DOMContentLoaded", arm);
  window.deskToast = { show: show, clear: clear };
})();
