// An export job's page: ask for its status every two seconds and update the bar, without reloading the page.
// Without JavaScript the page refreshes itself (a meta refresh inside <noscript>).
(function () {
  "use strict";
  var box = document.getElementById("export-job");
  if (!box || !window.fetch) { return; }
  var state = document.getElementById("export-state");
  var bar = document.getElementById("export-progress");
  var error = document.getElementById("export-error");
  var download = document.getElementById("export-download");
  // The page's language comes from the template (data-text-*); English if an attribute is missing.
  function text(name, fallback) { return box.getAttribute("data-text-" + name) || fallback; }
  function show(job) {
    var percent = Math.round((job.progress || 0) * 100);
    bar.value = percent;
    bar.textContent = percent + "%";
    if (job.status === "queued") { state.textContent = text("queued", "Waiting for a worker…"); }
    if (job.status === "running") {
      state.textContent = text("running", "Writing: {done} of {total} answers")
        .replace("{done}", job.rows_done).replace("{total}", job.rows_total);
    }
    if (job.status === "done") { state.textContent = text("done", "Ready."); download.hidden = false; }
    if (job.status === "failed") { state.textContent = text("failed", "This export failed."); }
    error.hidden = !job.error || job.status === "done";
    error.textContent = job.error || "";
    return job.status === "done" || job.status === "failed";
  }
  function poll() {
    fetch(box.getAttribute("data-status-url"), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) { if (!job || !show(job)) { window.setTimeout(poll, 2000); } })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  var status = box.getAttribute("data-status");
  if (status !== "done" && status !== "failed") { window.setTimeout(poll, 1000); }
})();
