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
// The heatmap opens scrolled to its weakest column (the page works without this: the cue says it scrolls).
(function () {
  document.querySelectorAll(".res-heatmap[data-weakest-col]").forEach(function (box) {
    var cell = box.querySelector('[data-col="' + box.getAttribute("data-weakest-col") + '"]');
    if (!cell || box.scrollWidth <= box.clientWidth) { return; }
    var left = cell.getBoundingClientRect().left - box.getBoundingClientRect().left + box.scrollLeft;
    box.scrollLeft = Math.max(0, left - box.clientWidth / 2);
  });
})();
