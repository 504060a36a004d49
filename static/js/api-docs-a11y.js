/* /api/docs/: what Swagger UI draws without, for the console's axe check
   (tests/browser/test_api_docs_accessibility.py). Swagger UI renders with React after load and
   on every click, so a MutationObserver patches each new node:
   - a parameter's <select> (enum, boolean) gets the parameter's name as its accessible name;
   - a scrollable example or response body (<pre>) can be reached with the keyboard. */
(function () {
  "use strict";

  function patch(root) {
    root.querySelectorAll("tr[data-param-name] select:not([aria-label])").forEach(function (select) {
      var row = select.closest("tr[data-param-name]");
      select.setAttribute("aria-label", row.getAttribute("data-param-name"));
    });
    root.querySelectorAll(".highlight-code pre:not([tabindex]), pre.microlight:not([tabindex])").forEach(function (pre) {
      pre.setAttribute("tabindex", "0");
    });
  }

  function start() {
    var ui = document.getElementById("swagger-ui");
    if (!ui) return;
    patch(ui);
    new MutationObserver(function () { patch(ui); }).observe(ui, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
