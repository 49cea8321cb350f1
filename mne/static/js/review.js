// The review queue: tick rows, or every unflagged row of the page, for "Approve selected".
// Without JavaScript the same links and forms work as plain requests (the "select all
// unflagged" link reloads the page with those rows ticked).
(function () {
  "use strict";
  if (window.mneReview) { return; }
  window.mneReview = true;

  function boxes() { return document.querySelectorAll('input[name="ids"][form="bulk-approve"]'); }

  function refresh() {
    var ticked = 0;
    boxes().forEach(function (box) { if (box.checked) { ticked += 1; } });
    var count = document.querySelector("[data-selected-count]");
    if (count) { count.textContent = String(ticked); }
    var clear = document.querySelector('[data-select="none"]');
    if (clear) { clear.hidden = ticked === 0; }
  }

  document.addEventListener("click", function (evt) {
    var control = evt.target.closest && evt.target.closest("[data-select]");
    if (!control) { return; }
    evt.preventDefault();
    var which = control.getAttribute("data-select");
    boxes().forEach(function (box) {
      box.checked = which === "unflagged" ? (box.checked || box.getAttribute("data-flagged") === "no") : false;
    });
    refresh();
  });
  document.addEventListener("change", function (evt) {
    if (evt.target.matches && evt.target.matches('input[name="ids"]')) { refresh(); }
  });
  document.addEventListener("htmx:afterSettle", refresh);
  document.addEventListener("DOMContentLoaded", refresh);
})();
