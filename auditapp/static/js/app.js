// Small enhancements for every page; everything works without them.
(function () {
  "use strict";
  // Select a shown-once secret (invite link, token) on focus so it is easy to copy.
  document.querySelectorAll("input[data-copy]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
  // After logging out on a shared phone, forget the pages kept for offline use (drafts in local storage stay).
  if (document.querySelector("[data-clear-offline-cache]") && window.caches) {
    caches.keys().then(function (keys) { keys.forEach(function (key) { caches.delete(key); }); });
  }
  // Ask before destructive buttons.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = button && button.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
})();
