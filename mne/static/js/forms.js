// Error summaries (templates/_error_summary.html). A link to a field focuses the field itself,
// not only scrolls to it, opening the disclosure it may be in, with its label in view. And the
// summary takes the focus on load where the browser ignored its autofocus. No inline script.
(function () {
  "use strict";
  if (window.mneForms) { return; }
  window.mneForms = true;

  var FIELDS = "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])";

  document.addEventListener("click", function (evt) {
    var link = evt.target.closest ? evt.target.closest(".error-summary a[href^='#']") : null;
    if (!link) { return; }
    var target = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
    if (!target) { return; }
    var field = target.matches(FIELDS) ? target : target.querySelector(FIELDS);
    if (!field) { return; }
    evt.preventDefault();
    var details = field.closest("details");
    if (details) { details.open = true; }
    var fieldset = field.closest("fieldset");
    var label = (field.id && document.querySelector("label[for='" + field.id + "']:not(.visually-hidden)")) ||
      (fieldset && fieldset.querySelector("legend")) || field;
    label.scrollIntoView({block: "start"});
    field.focus({preventScroll: true});
  });

  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".error-summary");
    if (summary && (document.activeElement === document.body || !document.activeElement)) { summary.focus(); }
  });
})();
