// Workflow pages (projects, results grid, review queue): small htmx helpers. No inline script.
(function () {
  "use strict";
  if (window.mneWorkflow) { return; }  // included by several templates; bind once
  window.mneWorkflow = true;

  function live(text) {
    var region = document.getElementById("live-region");
    if (!region || !text) { return; }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  // A form that comes back with errors (422) or a conflict (409) is swapped in like any
  // answer, so the messages appear beside the fields instead of nothing happening.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var status = evt.detail.xhr.status;
    if (status === 409 || status === 422) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
    // A session that expired answers with the sign-in page: go there instead of swapping it in.
    var url = evt.detail.xhr.responseURL || "";
    if (url.indexOf("/login") !== -1 && url.indexOf("/login") === url.indexOf("/", 8)) {
      evt.detail.shouldSwap = false;
      window.location.href = url;
    }
  });

  // Tell screen readers what changed: the swapped content carries its message.
  document.addEventListener("htmx:afterSettle", function (evt) {
    var target = evt.target && evt.target.isConnected ? evt.target : evt.detail.elt;  // outerHTML: the new element
    if (!target || !target.querySelector) { return; }
    var carrier = target.hasAttribute && target.hasAttribute("data-announce") ? target : target.querySelector("[data-announce]");
    if (carrier) { live(carrier.getAttribute("data-announce")); }
  });

  document.addEventListener("htmx:responseError", function (evt) {
    var status = evt.detail.xhr.status;
    var message = status === 403 ? "You do not have access to do that." :
      status === 404 ? "That no longer exists: reload the page." :
      "Something went wrong (" + status + "): reload the page and try again.";
    live(message);
    window.alert(message);
  });

  document.addEventListener("htmx:sendError", function () {
    live("The server could not be reached: check your connection and try again.");
  });
})();
