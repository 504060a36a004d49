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
