/* The console's only script (the Content-Security-Policy allows no inline scripts or handlers). */
"use strict";

// "Copy" buttons: <button data-copy="#selector"> copies the text of the element it names.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button || !navigator.clipboard) return;
  var source = document.querySelector(button.getAttribute("data-copy"));
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = "Copy"; }, 1500);
  });
});

// <select data-autosubmit> sends its form when changed (a <noscript> button does it without JS).
document.addEventListener("change", function (event) {
  var select = event.target.closest("select[data-autosubmit]");
  if (select && select.form) select.form.submit();
});

// <time class="when" datetime="ISO UTC"> (the `when` template filter) is written in UTC; show
// it in the viewer's own time zone, in the same fields, e.g. "Nov 29, 2026, 12:35 EST".
(function () {
  var format;
  try {
    format = new Intl.DateTimeFormat("en-US", {
      year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short"
    });
  } catch (error) {
    return;
  }
  function localise(root) {
    root.querySelectorAll("time.when[datetime]").forEach(function (element) {
      var moment = new Date(element.getAttribute("datetime"));
      if (isNaN(moment.getTime())) return;
      if (!element.title) element.title = element.textContent;
      element.textContent = format.format(moment);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { localise(document); });
  } else {
    localise(document);
  }
})();
