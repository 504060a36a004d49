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

// An htmx request that fails (a 4xx or 5xx: htmx swaps nothing; or no answer at all) says so in
// an alert right after the element that sent it, in the words of the console's error page or
// fragment it got back. The alert goes once a request from that element succeeds. (A signed-out
// request is never an error: the server answers it with HX-Redirect to the login page.)
(function () {
  var GENERIC = "Reload the page and try again. If it keeps happening, tell your Karat contact.";

  // The element now in the page: an outerHTML swap replaces the one that sent the request.
  function anchorOf(element) {
    return (element.id && document.getElementById(element.id)) || element;
  }

  function alertAfter(element, create) {
    var next = element.nextElementSibling;
    if (next && next.classList.contains("htmx-error")) return next;
    if (!create) return null;
    var region = document.createElement("div");
    region.className = "msg msg-error htmx-error";
    region.setAttribute("role", "alert");
    element.insertAdjacentElement("afterend", region);
    return region;
  }

  // The error page's heading and paragraphs (its "Go to the console home" link left out), or a
  // fragment's paragraphs; text only, never the response's markup.
  function linesOf(xhr) {
    var type = xhr.getResponseHeader("Content-Type") || "";
    if (type.indexOf("text/html") !== 0 || !xhr.responseText) return [];
    var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
    var root = page.querySelector("[aria-labelledby='error-title']") || page.querySelector("main") || page.body;
    var lines = [];
    root.querySelectorAll("h1, p, li").forEach(function (element) {
      var text = element.textContent.replace(/\s+/g, " ").trim();
      var link = element.querySelector("a");
      if (text && !(link && link.textContent.trim() === text)) lines.push(text);
    });
    return lines;
  }

  function show(element, lines) {
    var region = alertAfter(anchorOf(element), true);
    var text = lines.join("\n");
    if (region.getAttribute("data-text") === text) return; // a poll failing again: no new announcement
    region.setAttribute("data-text", text);
    region.textContent = "";
    lines.forEach(function (line, index) {
      var paragraph = document.createElement("p");
      if (index === 0) {
        paragraph.appendChild(document.createElement("strong")).textContent = line;
      } else {
        paragraph.textContent = line;
      }
      region.appendChild(paragraph);
    });
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var lines = linesOf(xhr);
    if (!lines.length) lines = ["Karat could not do that (error " + xhr.status + ").", GENERIC];
    show(event.detail.elt, lines);
  });

  document.addEventListener("htmx:sendError", function (event) {
    show(event.detail.elt, ["Karat could not be reached.", "Check your connection. " + GENERIC]);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (!event.detail.successful) return;
    var region = alertAfter(anchorOf(event.detail.elt), false);
    if (region) region.remove();
  });
})();
