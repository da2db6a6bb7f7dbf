// Admin → Automation's rule and macro forms, and an agent's own macro form (/macros): add
// and remove condition and action rows, and show in each row only the inputs its field,
// operator or type needs (the server reads only those). Without this file every input shows and the forms still work.
(function () {
  "use strict";
  function data(form, name) {
    try { return JSON.parse(form.getAttribute(name) || "{}"); } catch (e) { return {}; }
  }
  function showOnly(row, kind) {
    row.querySelectorAll("[data-input]").forEach(function (el) { el.hidden = el.dataset.input !== kind; });
  }
  function syncCondition(form, row) {
    var field = row.querySelector(".cond-field").value;
    var allowed = data(form, "data-operators")[field] || [];
    var op = row.querySelector(".cond-operator");
    Array.prototype.forEach.call(op.options, function (o) { o.hidden = allowed.indexOf(o.value) < 0; });
    if (allowed.indexOf(op.value) < 0 && allowed.length) op.value = allowed[0];
    row.querySelector(".cond-key").hidden = field !== "attribute";
    row.querySelector(".row-values").hidden = data(form, "data-no-value").indexOf(op.value) >= 0;
    showOnly(row, data(form, "data-condition-input")[field] || "text");
  }
  function syncAction(form, row) {
    var type = row.querySelector(".act-type").value;
    showOnly(row, data(form, "data-action-input")[type] || "");
  }
  function sync(form, row) {
    if (row.classList.contains("cond-row")) syncCondition(form, row); else syncAction(form, row);
  }
  function syncTrigger(form) {
    var trigger = form.querySelector("#trigger"), minutes = form.querySelector("#minutes-field");
    if (trigger && minutes) minutes.hidden = data(form, "data-time-triggers").indexOf(trigger.value) < 0;
  }
  document.querySelectorAll("form.auto-form").forEach(function (form) {
    var next = form.querySelectorAll("[data-row]").length + 100; // never reuses a shown row's number
    form.querySelectorAll("[data-row]").forEach(function (row) { sync(form, row); });
    syncTrigger(form);
    form.addEventListener("change", function (event) {
      var t = event.target;
      if (t.id === "trigger") { syncTrigger(form); return; }
      var row = t.closest("[data-row]");
      if (row && (t.matches(".cond-field, .cond-operator, .act-type"))) sync(form, row);
    });
    form.addEventListener("click", function (event) {
      var t = event.target;
      if (t.classList.contains("remove-row")) {
        t.closest("[data-row]").remove();
      } else if (t.dataset.add) {
        var template = form.querySelector("#" + t.dataset.add + "-template");
        var rows = form.querySelector(".auto-rows[data-prefix='" + t.dataset.add + "']");
        var holder = document.createElement("div");
        holder.innerHTML = template.innerHTML.replace(/__i__/g, String(next++));
        var row = holder.firstElementChild;
        rows.appendChild(row);
        sync(form, row);
        var first = row.querySelector("select, input");
        if (first) first.focus();
      }
    });
  });
})();
