// The stale-reply warning (Help Scout's "traffic cop"). When the agent starts typing a
// reply, the composer notes the time of the newest item its timeline shows (server
// times, so no browser clock is involved); Send carries it as `known_at`, and the server
// answers with a warning instead of sending if the customer wrote, or another agent
// replied, after it. "Send anyway" sends the same form with `force`; "Cancel" keeps the
// text and takes what is on the page now as seen. Without this script nothing is checked.
(function () {
  "use strict";

  function composer() { return document.getElementById("composer"); }

  function newestSeen() {
    // scheduled replies sit at their future time and were not "seen" happening
    var newest = "";
    document.querySelectorAll("#timeline > li.item[data-tm]").forEach(function (li) {
      if (li.classList.contains("st-scheduled") || li.classList.contains("st-canceled")) return;
      if (li.dataset.tm > newest) newest = li.dataset.tm; // the API format sorts as text
    });
    // an empty timeline: whatever arrives is news
    return newest || "1970-01-01 00:00:00.000000";
  }

  function field(id) { return document.getElementById(id); }

  function hideWarning() {
    var box = field("stale-warning");
    if (!box) return;
    box.hidden = true;
    box.textContent = "";
  }

  document.body.addEventListener("input", function (event) {
    var t = event.target;
    if (!t || t.id !== "reply-text") return;
    var known = field("known-at");
    if (known && !known.value && t.value) known.value = newestSeen();
    if (known && !t.value) known.value = ""; // emptied: typing begins afresh
  });

  document.body.addEventListener("click", function (event) {
    var t = event.target;
    if (!t || !t.id) return;
    if (t.id === "stale-send") {
      field("force-send").value = "1";
      hideWarning();
      composer().requestSubmit(field("send"));
    } else if (t.id === "stale-cancel") {
      field("known-at").value = newestSeen();
      hideWarning();
      field("reply-text").focus();
    }
  });

  document.body.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form || form.id !== "composer" || !event.detail.successful) return;
    var xhr = event.detail.xhr;
    if (xhr && xhr.getResponseHeader("X-Desk-Refused") === "stale_reply") {
      var send = field("stale-send");
      if (send) send.focus();
      return;
    }
    field("force-send").value = "";
    if (!(xhr && xhr.getResponseHeader("X-Desk-Refused"))) {
      field("known-at").value = "";
      hideWarning();
    }
  });
})();
