// Small enhancements for every page; everything works without them.
(function () {
  "use strict";
  // Select a shown-once secret (invite link, token) on focus so it is easy to copy.
  document.querySelectorAll("input[data-copy]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
  // Ask before destructive buttons.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = button && button.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
})();
