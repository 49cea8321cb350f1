// The results grid and the period entry form: small enhancements; both work without them.
(function () {
  "use strict";
  if (window.mneGrid) { return; }
  window.mneGrid = true;

  function ready(fn) {
    if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", fn); } else { fn(); }
  }

  ready(function () {
    // The grid opens on its current (or asked-for) period: on a narrow screen that column is
    // scrolled into view beside the sticky line column. An address with #… is the browser's.
    var wrap = document.querySelector(".grid-wrap[data-focus]");
    if (wrap && !window.location.hash) {
      var head = document.getElementById(wrap.getAttribute("data-focus"));
      var lines = wrap.querySelector("th.line-head");
      if (head && lines && wrap.scrollWidth > wrap.clientWidth) {
        wrap.scrollLeft = Math.max(0, head.offsetLeft - lines.offsetWidth);
      }
    }

    var form = document.getElementById("period-form");
    if (!form) { return; }
    // One link opens every line's breakdown and narrative (their toggles are out of the tab
    // order, so that Tab goes from value to value); without JavaScript it reloads them open.
    var openAll = form.querySelector("[data-open-all]");
    if (openAll) {
      openAll.addEventListener("click", function (evt) {
        evt.preventDefault();
        Array.prototype.forEach.call(form.querySelectorAll("details.entry-more"), function (d) { d.open = true; });
        var first = form.querySelector("details.entry-more input, details.entry-more textarea");
        if (first) { first.focus(); }
      });
    }
    // Submit sends what is saved: once something is typed, say so before it is left behind.
    var submit = document.querySelector("form[data-submit-saved]");
    if (!submit) { return; }
    var note = submit.querySelector("[data-unsaved-note]");
    var dirty = false;
    form.addEventListener("input", function () {
      if (dirty) { return; }
      dirty = true;
      if (note) {
        note.textContent = "You have typed changes that are not saved yet: save them first, or they are not submitted.";
        note.classList.add("field-error");
      }
    });
    submit.addEventListener("submit", function (evt) {
      if (dirty && !window.confirm("What you typed is not saved yet and will not be submitted. Submit the saved drafts anyway?")) {
        evt.preventDefault();
      }
    });
  });
})();
