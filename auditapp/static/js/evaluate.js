// The phone form: one moment per screen, every change kept on the device, and a send queue that never loses
// an evaluation or sends it twice (each carries a client_uuid; the server answers a repeat with the stored copy).
// Plain JS, no framework; the pages work without it as one long form.
// Fix mode (a returned evaluation, form[data-keep-uuid]): the page's client_uuid is kept, never a new one, so the
// queue's send updates that evaluation in place; the draft on the phone is keyed by it.
(function () {
  "use strict";
  var PREFIX = "auditapp:eval:";
  var KEEP_SENT_DAYS = 30;
  // The words shown, in English; the page's <meta name="ui-text-evaluate"> tag gives them in the reader's
  // language. "{name}" is filled in by fmt(); a pair is [one, other] (plural(): n == 1, as in English and Swedish).
  var T = {
    general: { location_id: "Location", started_at: "Start time", finished_at: "Finish time", client_uuid: "Form",
               assignment_id: "Planned visit", journey_id: "Journey", source: "Kind of visit", form: "Form" },
    nothingChanged: "Nothing was changed yet: fix what the reviewer asked for, then send it again.",
    states: { draft: "Saved on this phone", queued: "Waiting to send", sent: "Sent and confirmed" },
    photoUnusable: "This photo cannot be used",
    loginToSendMessage: "Log in again to send.",
    loginToSend: "Log in again to send",
    fixConflict: "This evaluation is no longer waiting for a fix (it was sent again from elsewhere, or reviewed), " +
      "so this copy was not sent. Nothing was overwritten: see what the server has, then delete this copy.",
    conflict: "The server already has a different evaluation with this number. Nothing was overwritten; " +
      "send this one as a new evaluation, or delete it.",
    invalid: "The server found problems: open it, fix them and send again.",
    retry: "Not sent yet: it will be tried again.",
    serverAnswered: "The server answered {status}.",
    progress: "Moment {n} of {total}",
    missing: ["{n} required answer still missing: go back, or press Send to see where",
              "{n} required answers still missing: go back, or press Send to see where"],
    allDone: ["All {n} moment done: ready to send", "All {n} moments done: ready to send"],
    storageFull: "This phone's storage is full: the draft could not be saved. Send it now or free some space.",
    seeResult: "See the result",
    fixSentHere: "This fix was sent from this phone.",
    discardChanges: "Discard my changes",
    discardDraft: "Discard it and start again",
    confirmDiscardChanges: "Delete your changes from the phone? The form goes back to what you sent.",
    confirmDiscardDraft: "Delete this draft from the phone?",
    changesBack: "Your changes are back: saved on this phone at {time}.",
    draftBack: "Your draft is back: saved on this phone at {time}.",
    stopwatchStop: "Stop stopwatch ({time})",
    stopwatchContinue: "Continue stopwatch",
    stopwatchStart: "Start stopwatch",
    photoAlt: "The photo you added",
    photoSaved: "Photo saved on this phone.",
    photoNoPreview: "Photo saved on this phone (this browser cannot show a preview of it).",
    fixProblems: ["Please fix {n} problem", "Please fix {n} problems"],
    requiredVerdict: "Required: choose miserable, neutral or magical",
    required: "Required: answer it, or choose N/A if it does not apply",
    startAnother: "Start another evaluation",
    myEvaluations: "My evaluations",
    sessionEnded: "Your session has ended. The evaluation is kept on this phone and is sent as soon as you log in again.",
    notSent: "Not sent",
    noConnection: "There is no connection right now. The evaluation is saved on this phone and is sent automatically " +
      "when the connection is back: you can close this page.",
    sending: "Sending…",
    queueWaiting: ["{n} evaluation is waiting to send from this phone; it is sent as soon as there is a connection.",
                   "{n} evaluations are waiting to send from this phone; they are sent as soon as there is a connection."],
    allSent: "Everything that was waiting on this phone has been sent.",
    nothingWaiting: "Nothing is waiting on this phone.",
    fixOf: "Fix of {journey} at {location}",
    evaluationAt: "{journey} at {location}",
    evaluation: "Evaluation",
    fixAndSend: "Fix and send",
    "continue": "Continue",
    "delete": "Delete",
    seeServerCopy: "See what the server has",
    sendAsNew: "Send as a new evaluation",
    sendNow: "Send now",
    othersKept: ["{n} evaluation of another person is kept on this phone; it is sent when that person logs in here.",
                 "{n} evaluations of another person are kept on this phone; they are sent when that person logs in here."],
    confirmDelete: "Delete this evaluation from the phone? It has not been sent."
  };
  (function readPageText() {
    var block = document.querySelector("meta[name=ui-text-evaluate]");
    var given;
    try { given = block ? JSON.parse(block.content) : null; } catch (e) { given = null; }
    Object.keys(given || {}).forEach(function (key) { if (key in T) { T[key] = given[key]; } });
  })();
  function fmt(text, values) {
    return String(text).replace(/\{(\w+)\}/g, function (all, name) { return name in values ? String(values[name]) : all; });
  }
  function plural(pair, n) { return fmt(pair[n === 1 ? 0 : 1], { n: n }); }
  var GENERAL = T.general;
  var NOTHING_CHANGED = T.nothingChanged;
  var STATE_LABELS = T.states;
  var root = document.querySelector("[data-eval-page], #evaluation");
  if (!root) { return; }
  var user = root.getAttribute("data-user");
  var cfg = {
    api: root.getAttribute("data-api") || "/api/v1/evaluations",
    photos: root.getAttribute("data-photos-api") || "/api/v1/photos",
    login: root.getAttribute("data-login-url") || "/login",
    detail: root.getAttribute("data-detail-url") || "/evaluations/"
  };

  // --- storage: records in localStorage, photos as Blobs in IndexedDB ------------------------------------------
  var store = {
    get: function (uuid) {
      try { return JSON.parse(localStorage.getItem(PREFIX + uuid) || "null"); } catch (e) { return null; }
    },
    put: function (rec) {
      rec.updatedAt = Date.now();
      try { localStorage.setItem(PREFIX + rec.uuid, JSON.stringify(rec)); return true; } catch (e) { return false; }
    },
    remove: function (uuid) { localStorage.removeItem(PREFIX + uuid); },
    all: function () {
      var out = [];
      for (var i = 0; i < localStorage.length; i++) {
        var key = localStorage.key(i);
        if (key && key.indexOf(PREFIX) === 0) {
          var rec = store.get(key.slice(PREFIX.length));
          if (rec) { out.push(rec); }
        }
      }
      return out.sort(function (a, b) { return (b.updatedAt || 0) - (a.updatedAt || 0); });
    }
  };

  var idb = (function () {
    var opening;
    function open() {
      if (!opening) {
        opening = new Promise(function (resolve, reject) {
          var req = window.indexedDB.open("auditapp", 1);
          req.onupgradeneeded = function () { req.result.createObjectStore("photos"); };
          req.onsuccess = function () { resolve(req.result); };
          req.onerror = function () { reject(req.error); };
        });
      }
      return opening;
    }
    function run(mode, fn) {
      return open().then(function (db) {
        return new Promise(function (resolve, reject) {
          var tx = db.transaction("photos", mode);
          var req = fn(tx.objectStore("photos"));
          tx.oncomplete = function () { resolve(req.result); };
          tx.onerror = function () { reject(tx.error); };
        });
      });
    }
    return {
      put: function (key, blob) { return run("readwrite", function (s) { return s.put(blob, key); }); },
      get: function (key) { return run("readonly", function (s) { return s.get(key); }); },
      del: function (key) { return run("readwrite", function (s) { return s.delete(key); }).catch(function () {}); }
    };
  })();

  function newUuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) { node.textContent = text; }
    return node;
  }

  function loginUrl() { return cfg.login + "?next=" + encodeURIComponent(location.pathname + location.search); }

  function forget(rec) {
    Object.keys(rec.photos || {}).forEach(function (name) { idb.del(rec.uuid + "|" + name); });
    store.remove(rec.uuid);
  }

  function prune() {
    var cutoff = Date.now() - KEEP_SENT_DAYS * 864e5;
    store.all().forEach(function (rec) {
      if (rec.state === "sent" && (rec.updatedAt || 0) < cutoff) { forget(rec); }
    });
  }

  // --- sending ---------------------------------------------------------------------------------------------------
  var inflight = {};
  var retryTimer = null;
  var listeners = [];
  function changed() { listeners.forEach(function (fn) { fn(); }); }

  function post(url, body, isJson) {
    var headers = { "X-Requested-With": "auditapp", "Accept": "application/json" };
    if (isJson) { headers["Content-Type"] = "application/json"; }
    return fetch(url, { method: "POST", credentials: "same-origin", redirect: "manual", headers: headers,
                        body: isJson ? JSON.stringify(body) : body })
      .then(function (res) {
        if (res.type === "opaqueredirect") { return { status: 401, data: {} }; }
        return res.json().catch(function () { return {}; }).then(function (data) { return { status: res.status, data: data }; });
      });
  }

  function photoBlob(rec, name) {
    var info = rec.photos[name];
    if (info.data) { return fetch(info.data).then(function (r) { return r.blob(); }); }
    return idb.get(rec.uuid + "|" + name);
  }

  // Upload the photos that have no server id yet, one by one; each id is kept at once so a retry never re-uploads.
  function uploadPhotos(rec) {
    var names = Object.keys(rec.photos || {}).filter(function (n) { return !rec.photos[n].id; });
    return names.reduce(function (chain, name) {
      return chain.then(function (outcome) {
        if (outcome) { return outcome; }
        return photoBlob(rec, name).then(function (blob) {
          if (!blob) { delete rec.photos[name]; store.put(rec); return null; }
          var fd = new FormData();
          fd.append("photo", blob, "photo.jpg");
          return post(cfg.photos, fd, false).then(function (res) {
            if (res.status === 200 || res.status === 201) {
              rec.photos[name].id = res.data.id; store.put(rec); return null;
            }
            if (res.status === 422 || res.status === 413) {
              res.data.errors = [{ field: name, message: res.data.detail || T.photoUnusable }];
            }
            return res;
          });
        });
      });
    }, Promise.resolve(null));
  }

  function finalPayload(rec) {
    var body = JSON.parse(JSON.stringify(rec.payload));
    (rec.photoAnswers || []).forEach(function (p) {
      var id = (rec.photos[p.field] || {}).id || p.id;
      if (id) { body.answers.push({ moment: p.moment, question: p.question, value: id, note: p.note }); }
    });
    return body;
  }

  function settle(rec, res) {
    var s = res.status;
    rec.problem = null; rec.message = "";
    if ((s === 200 || s === 201) && rec.fix && res.data.status === "returned" && !res.data.resubmitted) {
      // A fix with exactly what the server already has: it is still waiting for a change.
      rec.state = "draft"; rec.problem = "invalid"; rec.errors = [{ field: "form", message: NOTHING_CHANGED }];
      rec.message = NOTHING_CHANGED;
    } else if (s === 200 || s === 201) {
      rec.state = "sent"; rec.result = { id: res.data.id, score: res.data.score };
      Object.keys(rec.photos || {}).forEach(function (name) { idb.del(rec.uuid + "|" + name); });
      rec.attempts = 0;
    } else if (s === 401) {
      rec.problem = "login"; rec.message = T.loginToSendMessage; rec.attempts = (rec.attempts || 0) + 1;
    } else if (s === 409 && rec.fix) {
      rec.problem = "conflict";
      rec.message = T.fixConflict;
    } else if (s === 409) {
      rec.problem = "conflict";
      rec.message = T.conflict;
    } else if (s === 422) {
      rec.state = "draft"; rec.problem = "invalid"; rec.errors = res.data.errors || [];
      rec.message = T.invalid;
    } else if (s === 0 || s === 429 || s >= 500) {
      rec.problem = "retry"; rec.message = T.retry;
    } else {
      rec.problem = "error"; rec.message = (res.data && (res.data.detail || res.data.title)) || fmt(T.serverAnswered, { status: s });
    }
    store.put(rec);
    return res;
  }

  function send(rec) {
    if (inflight[rec.uuid]) { return inflight[rec.uuid]; }
    var job = uploadPhotos(rec)
      .then(function (failed) { return failed || post(cfg.api, finalPayload(rec), true); })
      .catch(function () { return { status: 0, data: {} }; })
      .then(function (res) {
        delete inflight[rec.uuid];
        var fresh = store.get(rec.uuid);
        if (!fresh || fresh.state !== "queued") { return res; }  // deleted or changed meanwhile
        if (res.status === 0) { fresh.attempts = (fresh.attempts || 0) + 1; fresh.problem = "offline"; fresh.message = ""; store.put(fresh); }
        else { settle(fresh, res); }
        changed();
        return res;
      });
    inflight[rec.uuid] = job;
    return job;
  }

  function pending() {
    return store.all().filter(function (r) {
      return r.user === user && r.state === "queued" && r.problem !== "conflict" && r.problem !== "error";
    });
  }

  function sendAll() {
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
    var queue = pending();
    return queue.reduce(function (chain, rec) {
      return chain.then(function (stop) { return stop ? stop : send(rec).then(function (r) { return r.status === 401 || r.status === 0; }); });
    }, Promise.resolve(false)).then(function () {
      var left = pending();
      if (left.length) {
        var attempts = Math.max.apply(null, left.map(function (r) { return r.attempts || 0; }));
        retryTimer = setTimeout(sendAll, Math.min(300000, 5000 * Math.pow(2, Math.min(attempts, 6))));
      }
    });
  }

  // Back online: try at once, and start the backoff again from a few seconds, since a fresh connection often
  // needs a moment before it really carries requests.
  window.addEventListener("online", function () {
    pending().forEach(function (r) { if (r.attempts) { r.attempts = 0; store.put(r); } });
    sendAll();
  });

  // --- offline: the service worker keeps the pages and files -----------------------------------------------------
  if ("serviceWorker" in navigator) {
    // The first page is loaded before the worker controls it: ask the worker to keep it, and the start and list
    // pages, once; later pages are kept as they are visited.
    var firstVisit = !navigator.serviceWorker.controller;
    navigator.serviceWorker.register("/sw.js", { scope: "/evaluations/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (reg) {
      var urls = ["/evaluations/start", "/evaluations/mine"];
      if (urls.indexOf(location.pathname + location.search) < 0) { urls.push(location.pathname + location.search); }
      if (firstVisit && reg.active) { reg.active.postMessage({ type: "cache-pages", urls: urls }); }
    }).catch(function () {});
  }

  // --- the form ----------------------------------------------------------------------------------------------------
  function initForm(form) {
    var d = form.dataset;
    if (form.hasAttribute("data-closed")) { return; }  // nothing can be sent: the long form stays, as a copy
    var keep = form.hasAttribute("data-keep-uuid");
    var fixRevision = parseInt(d.revision || "0", 10) || null;
    var pointerKey = "auditapp:current:" + user + ":" + d.formKey;
    var uuidInput = form.elements.client_uuid;
    var steps = Array.prototype.slice.call(form.querySelectorAll("[data-step]"));
    var status = document.getElementById("eval-status");
    var summary = document.getElementById("error-summary");
    var sendButton = document.getElementById("send");
    var rec = null;
    var saveTimer = null;
    var current = 0;

    form.noValidate = true;  // required answers are checked below, on the screen where they are
    form.classList.add("stepping");
    Array.prototype.forEach.call(form.querySelectorAll("[data-js-only]"), function (n) { n.hidden = false; });

    function say(kind, parts) {
      status.textContent = "";
      status.className = "eval-status is-" + kind;
      parts.forEach(function (part) { status.appendChild(typeof part === "string" ? el("p", {}, part) : part); });
      status.hidden = false;
    }

    function show(i, focus) {
      current = Math.max(0, Math.min(i, steps.length - 1));
      steps.forEach(function (s, j) { s.hidden = j !== current; });
      var moments = steps.length - 1;
      var missing = current < moments ? 0 : requiredMissing().length;
      document.getElementById("progress-text").textContent =
        current < moments ? fmt(T.progress, { n: current + 1, total: moments })
          : missing ? plural(T.missing, missing)
          : plural(T.allDone, moments);
      document.getElementById("progress").value = current + 1;
      if (rec && rec.step !== current) { rec.step = current; store.put(rec); }
      if (focus) {
        var h = steps[current].querySelector("h2");
        window.scrollTo(0, 0);
        if (h) { h.focus(); }
      }
    }

    function stepOf(node) {
      var s = node && node.closest ? node.closest("[data-step]") : null;
      return s ? steps.indexOf(s) : -1;
    }

    function collect() {
      var values = {};
      Array.prototype.forEach.call(form.elements, function (f) {
        if (!f.name || f.type === "file" || !/^(answers|answer_notes|moment_notes|durations)\.|^notes$/.test(f.name)) { return; }
        if ((f.type === "radio" || f.type === "checkbox") && !f.checked) { return; }
        values[f.name] = f.value;
      });
      return values;
    }

    function ensure() {
      if (!rec) {
        rec = { uuid: uuidInput.value, user: user, state: "draft", formKey: d.formKey,
                formUrl: location.pathname + location.search, journeyName: d.journeyName, locationName: d.locationName,
                startedAt: form.elements.started_at.value, createdAt: Date.now(), values: {}, photos: {}, timers: {}, step: current,
                fix: keep ? parseInt(d.fix, 10) : null, fixRevision: keep ? fixRevision : null };
        try { localStorage.setItem(pointerKey, rec.uuid); } catch (e) { /* full: the record itself reports it */ }
      }
      return rec;
    }

    function save() {
      if (saveTimer) { clearTimeout(saveTimer); saveTimer = null; }
      if (!rec || rec.state !== "draft") { return; }
      rec.values = collect();
      if (!store.put(rec)) { say("bad", [T.storageFull]); }
    }

    function saveSoon() { ensure(); if (!saveTimer) { saveTimer = setTimeout(save, 250); } }

    function restore(r) {
      Object.keys(r.values || {}).forEach(function (name) {
        Array.prototype.forEach.call(form.querySelectorAll("[name='" + name + "']"), function (f) {
          if (f.type === "radio") { f.checked = f.value === r.values[name]; }
          else if (f.type !== "file") { f.value = r.values[name]; }
          var det = f.closest("details");
          if (det && f.tagName === "TEXTAREA" && f.value) { det.open = true; }
        });
      });
      form.elements.started_at.value = r.startedAt;
      Object.keys(r.photos || {}).forEach(function (name) {
        var box = form.querySelector("[data-q='" + name + "']");
        if (!box) { return; }
        photoBlob(r, name).then(function (blob) { if (blob) { preview(box, blob); } }).catch(function () {});
      });
    }

    // Where to start: a draft named in the link (#draft=...), else this form's unsent draft, else a fresh one.
    // In fix mode the page's client_uuid names the one record this form may have on the phone.
    var wanted = (/#draft=([\w-]+)/.exec(location.hash) || [])[1];
    var candidate = store.get(keep ? uuidInput.value : (wanted || localStorage.getItem(pointerKey) || ""));
    if (candidate && (candidate.user !== user || candidate.formKey !== d.formKey)) { candidate = null; }
    if (keep && candidate && (candidate.fixRevision || 0) < (fixRevision || 0)) {
      forget(candidate); candidate = null;  // from an earlier round of fixes, which the server has since moved past
    }
    if (keep && candidate && candidate.state !== "draft") {
      // Already sent from this phone, or waiting to be: say so instead of offering a form that would send it twice.
      rec = candidate;
      form.hidden = true;
      if (rec.state === "sent" && rec.result) {
        var seeIt = el("p");
        seeIt.appendChild(el("a", { href: cfg.detail + rec.result.id }, T.seeResult));
        say("ok", [el("p", { "class": "state state-sent" }, STATE_LABELS.sent), T.fixSentHere, seeIt]);
      } else { waiting(rec); }
    } else if (candidate && candidate.state === "draft") {
      rec = candidate;
      uuidInput.value = rec.uuid;
      localStorage.setItem(pointerKey, rec.uuid);
      restore(rec);
      var over = el("button", { type: "button" }, keep ? T.discardChanges : T.discardDraft);
      over.addEventListener("click", function () {
        if (!window.confirm(keep ? T.confirmDiscardChanges : T.confirmDiscardDraft)) { return; }
        forget(rec); localStorage.removeItem(pointerKey); location.replace(location.pathname + location.search);
      });
      say("ok", [fmt(keep ? T.changesBack : T.draftBack, { time: new Date(rec.updatedAt).toLocaleTimeString() }), over]);
      if (rec.errors && rec.errors.length) { showErrors(rec.errors); }
    } else if (!keep) {
      uuidInput.value = newUuid();
      form.elements.started_at.value = new Date().toISOString();
    }
    show(rec && !(rec.errors && rec.errors.length) ? rec.step || 0 : current, false);

    form.addEventListener("input", saveSoon);
    form.addEventListener("change", saveSoon);
    document.addEventListener("visibilitychange", function () { if (document.hidden) { save(); } });
    window.addEventListener("pagehide", save);

    form.addEventListener("click", function (e) {
      var t = e.target.closest("button");
      if (!t) { return; }
      if (t.hasAttribute("data-next")) { show(current + 1, true); }
      else if (t.hasAttribute("data-prev")) { show(current - 1, true); }
      else if (t.hasAttribute("data-stopwatch")) { toggleWatch(t); }
      else if (t.hasAttribute("data-photo-remove")) { removePhoto(t.closest("[data-q]")); }
    });

    // Stopwatch per moment: fills the duration field; survives a reload because its start time is in the draft.
    function watchSeconds(w) { return (w.acc || 0) + (w.since ? (Date.now() - w.since) / 1000 : 0); }
    function clock(s) { s = Math.round(s); return Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2); }
    function paintWatches() {
      Array.prototype.forEach.call(form.querySelectorAll("[data-stopwatch]"), function (b) {
        var w = (rec && rec.timers[b.getAttribute("data-stopwatch")]) || {};
        b.setAttribute("aria-pressed", w.since ? "true" : "false");
        b.textContent = w.since ? fmt(T.stopwatchStop, { time: clock(watchSeconds(w)) }) : (w.acc ? T.stopwatchContinue : T.stopwatchStart);
      });
    }
    function toggleWatch(button) {
      var key = button.getAttribute("data-stopwatch");
      ensure();
      var w = rec.timers[key] || { acc: 0, since: null };
      var input = form.elements["durations." + key];
      if (w.since) { w.acc = watchSeconds(w); w.since = null; input.value = Math.round(w.acc); }
      else { w.acc = parseFloat(input.value) || 0; w.since = Date.now(); }
      rec.timers[key] = w;
      save(); paintWatches();
    }
    setInterval(function () { if (rec && Object.keys(rec.timers).some(function (k) { return rec.timers[k].since; })) { paintWatches(); } }, 1000);
    paintWatches();

    // Photos: downscaled on the phone (at most 1600 px, JPEG), kept in IndexedDB until sent. There is no type filter
    // here: what the browser cannot decode (HEIC outside Safari) is kept as chosen and the server decides.
    function preview(box, blob) {
      var area = box.querySelector("[data-photo-preview]");
      area.textContent = "";
      var img = el("img", { alt: T.photoAlt, "class": "thumb" });
      var note = el("span", {}, T.photoSaved);
      // A HEIC that this browser cannot show (it could not downscale it either): kept as is, the server converts it.
      img.onerror = function () {
        img.remove();
        note.textContent = T.photoNoPreview;
      };
      img.src = URL.createObjectURL(blob);
      area.appendChild(img);
      area.appendChild(note);
      box.querySelector("[data-photo-remove]").hidden = false;
    }
    function downscale(file) {
      return new Promise(function (resolve) {
        var url = URL.createObjectURL(file);
        var img = new Image();
        img.onload = function () {
          var scale = Math.min(1, 1600 / Math.max(img.naturalWidth, img.naturalHeight));
          var canvas = el("canvas");
          canvas.width = Math.round(img.naturalWidth * scale);
          canvas.height = Math.round(img.naturalHeight * scale);
          canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
          URL.revokeObjectURL(url);
          canvas.toBlob(function (b) { resolve(b || file); }, "image/jpeg", 0.8);
        };
        img.onerror = function () { URL.revokeObjectURL(url); resolve(file); };  // the server decides
        img.src = url;
      });
    }
    form.addEventListener("change", function (e) {
      var input = e.target;
      if (input.type !== "file" || !input.files.length) { return; }
      var box = input.closest("[data-q]");
      var name = box.getAttribute("data-q");
      ensure();
      downscale(input.files[0]).then(function (blob) {
        return idb.put(rec.uuid + "|" + name, blob).then(function () { return {}; }, function () {
          return new Promise(function (resolve) {  // no IndexedDB: keep it in the draft itself
            var reader = new FileReader();
            reader.onload = function () { resolve({ data: reader.result }); };
            reader.readAsDataURL(blob);
          });
        }).then(function (info) {
          rec.photos[name] = { id: null, data: info.data || null };
          box.querySelector("[data-photo-id]").value = "";
          input.value = "";
          save(); preview(box, blob);
        });
      });
    });
    function removePhoto(box) {
      var name = box.getAttribute("data-q");
      ensure();
      delete rec.photos[name];
      idb.del(rec.uuid + "|" + name);
      box.querySelector("[data-photo-id]").value = "";
      box.querySelector("[data-photo-preview]").textContent = "";
      box.querySelector("[data-photo-remove]").hidden = true;
      save();
    }

    // Errors next to their fields, a summary on top that leads to them, and the first one's screen shown.
    function clearErrors() {
      Array.prototype.forEach.call(form.querySelectorAll("[data-error-for]"), function (p) {
        p.hidden = true; p.textContent = "";
        var box = p.closest(".q, .field");
        if (box) { box.classList.remove("has-error"); }
      });
      Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (f) { f.removeAttribute("aria-invalid"); });
      summary.hidden = true;
    }
    function showErrors(errors) {
      clearErrors();
      var list = summary.querySelector("ul");
      list.textContent = "";
      var first = -1;
      errors.forEach(function (err) {
        var field = String(err.field || "").replace(/\.value$/, "").replace(/^photo_files\./, "answers.");
        var p = form.querySelector("[data-error-for='" + field + "']");
        var target = p ? (p.closest(".q, .field").querySelector("input:not([type=hidden]), textarea, select") || p) : null;
        if (p) {
          p.textContent = (p.textContent ? p.textContent + " " : "") + err.message;
          p.hidden = false;
          p.closest(".q, .field").classList.add("has-error");
          if (target.type !== "radio") { target.setAttribute("aria-invalid", "true"); }
          var s = stepOf(p);
          if (first < 0 || (s >= 0 && s < first)) { first = s; }
        }
        var box = p && p.closest("[data-label]");
        var section = p && p.closest("[data-moment]");
        var label = box ? box.getAttribute("data-label") : (GENERAL[field] || field);
        if (section) { label = section.querySelector("h2").textContent + ": " + label; }
        var li = el("li");
        var a = el("a", { href: "#" + (target && target.id ? target.id : "evaluation") }, (label || "").trim() + ": " + err.message);
        li.appendChild(a);
        list.appendChild(li);
      });
      summary.querySelector("h2").textContent = plural(T.fixProblems, errors.length);
      summary.hidden = false;
      if (first >= 0) { show(first, false); }
      window.scrollTo(0, 0);
      summary.focus();
    }
    summary.addEventListener("click", function (e) {
      var a = e.target.closest("a");
      var target = a && document.getElementById(a.getAttribute("href").slice(1));
      if (!target) { return; }
      e.preventDefault();
      var s = stepOf(target);
      if (s >= 0) { show(s, false); }
      target.scrollIntoView({ block: "center" });
      target.focus();
    });

    function requiredMissing() {
      var errors = [];
      Array.prototype.forEach.call(form.querySelectorAll("[data-required]"), function (box) {
        var name = box.getAttribute("data-q");
        var ok;
        if (box.getAttribute("data-type") === "photo") { ok = (rec && rec.photos[name]) || box.querySelector("[data-photo-id]").value; }
        else if (box.querySelector("input[type=radio]")) { ok = box.querySelector("input:checked"); }
        else { ok = (form.elements[name].value || "").trim(); }
        if (!ok) {
          var verdict = /\.verdict$/.test(name);
          errors.push({ field: name, message: verdict ? T.requiredVerdict : T.required });
        }
      });
      return errors;
    }

    function numberOrText(raw) {
      if (/^[+-]?\d+$/.test(raw) && raw.length < 16) { return parseInt(raw, 10); }
      if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(raw)) { return parseFloat(raw); }
      return raw;
    }

    // The same mapping as payload_from_form in evaluations/forms.py.
    function buildPayload(values) {
      var answers = [], photoAnswers = [], durations = {}, momentNotes = {};
      Array.prototype.forEach.call(form.querySelectorAll("[data-q]"), function (box) {
        var name = box.getAttribute("data-q"), type = box.getAttribute("data-type");
        var parts = name.split("."), m = parts[1], q = parts[2];
        var raw = (values[name] || "").trim(), note = (values["answer_notes." + m + "." + q] || "").trim();
        if (type === "photo" && (rec.photos[name] || raw)) {
          photoAnswers.push({ moment: m, question: q, field: name, note: note, id: raw || null });
          return;
        }
        if (!raw && !note) { return; }
        var value = raw || null;
        if (raw && (type === "number" || type === "rating") && raw.toLowerCase() !== "na") { value = numberOrText(raw); }
        answers.push({ moment: m, question: q, value: value, note: note });
      });
      Array.prototype.forEach.call(form.querySelectorAll("[data-moment]"), function (sec) {
        var m = sec.getAttribute("data-moment");
        var dur = (values["durations." + m] || "").trim(), mn = (values["moment_notes." + m] || "").trim();
        if (dur) { durations[m] = numberOrText(dur); }
        if (mn) { momentNotes[m] = mn; }
      });
      var payload = {
        client_uuid: rec.uuid, journey_id: parseInt(d.journey, 10), location_id: parseInt(d.location, 10),
        source: d.source, started_at: rec.startedAt,
        finished_at: (keep && form.elements.finished_at.value) || new Date().toISOString(),  // a fix keeps the visit's times
        notes: (values.notes || "").trim(), answers: answers, durations: durations, moment_notes: momentNotes
      };
      if (d.assignment) { payload.assignment_id = parseInt(d.assignment, 10); }
      if (form.elements.language && form.elements.language.value) { payload.language = form.elements.language.value; }
      if (keep && (rec.fixRevision || fixRevision)) { payload.base_revision = rec.fixRevision || fixRevision; }  // stale: 409
      return { payload: payload, photoAnswers: photoAnswers };
    }

    function stopWatches() {
      Object.keys(rec.timers).forEach(function (k) {
        var w = rec.timers[k];
        if (w.since) { w.acc = watchSeconds(w); w.since = null; form.elements["durations." + k].value = Math.round(w.acc); }
      });
    }

    function waiting(r) {
      var more = el("p");
      if (!keep) {
        more.appendChild(el("a", { href: location.pathname + location.search }, T.startAnother));
        more.appendChild(document.createTextNode(" · "));
      }
      more.appendChild(el("a", { href: root.getAttribute("data-mine-url") }, T.myEvaluations));
      if (r.problem === "login") {
        var p = el("p");
        p.appendChild(el("a", { href: loginUrl(), "class": "button primary" }, T.loginToSend));
        say("wait", [el("p", { "class": "state state-waiting" }, STATE_LABELS.queued),
                     T.sessionEnded, p]);
      } else if (r.problem === "conflict" || r.problem === "error") {
        say("bad", [el("p", { "class": "state state-problem" }, T.notSent), r.message, more]);
      } else {
        say("wait", [el("p", { "class": "state state-waiting" }, STATE_LABELS.queued),
                     T.noConnection, more]);
      }
    }

    function submitNow() {
      ensure();
      stopWatches();
      save();
      var missing = requiredMissing();
      if (missing.length) { showErrors(missing); return; }
      clearErrors();
      var built = buildPayload(collect());
      rec.payload = built.payload; rec.photoAnswers = built.photoAnswers;
      rec.state = "queued"; rec.problem = null; rec.errors = []; rec.attempts = 0;
      store.put(rec);
      localStorage.removeItem(pointerKey);
      sendButton.disabled = true;
      say("wait", [el("p", { "class": "state state-waiting" }, T.sending)]);
      var mine = rec;
      send(mine).then(function (res) {
        var now = store.get(mine.uuid) || mine;
        if (now.state === "sent") {
          say("ok", [el("p", { "class": "state state-sent" }, STATE_LABELS.sent)]);
          location.assign(cfg.detail + now.result.id);
          return;
        }
        sendButton.disabled = false;
        if (now.state === "draft") {  // 422: back to the form with the errors next to the fields
          rec = now;
          localStorage.setItem(pointerKey, rec.uuid);
          status.hidden = true;
          showErrors(rec.errors);
          return;
        }
        form.hidden = true;
        waiting(now);
        if (res.status === 0) { sendAll(); }
      });
    }

    form.addEventListener("submit", function (e) { e.preventDefault(); submitNow(); });

    // While this page is open, tell the person when a queued evaluation (this one or earlier ones) gets through.
    var queueNote = false;
    function noteQueue() {
      var waitingNow = pending().length;
      if (waitingNow) {
        say("wait", [plural(T.queueWaiting, waitingNow)]);
      } else {
        say("ok", [el("p", { "class": "state state-sent" }, STATE_LABELS.sent),
                   T.allSent]);
      }
    }
    // While this page is open, tell the person when a queued evaluation (this one or earlier ones) gets through.
    listeners.push(function () {
      if (!form.hidden) {
        if (queueNote) { noteQueue(); }
        return;
      }
      var r = store.get(uuidInput.value);
      if (r && r.state === "sent") {
        var p = el("p");
        p.appendChild(el("a", { href: cfg.detail + r.result.id }, T.seeResult));
        say("ok", [el("p", { "class": "state state-sent" }, STATE_LABELS.sent), p]);
      } else if (r) { waiting(r); }
    });
    if (pending().length && status.hidden) { queueNote = true; noteQueue(); }
  }

  // --- the list on "My evaluations" ----------------------------------------------------------------------------------
  function initMine(box) {
    function render() {
      box.textContent = "";
      var mine = store.all().filter(function (r) { return r.user === user; });
      var others = store.all().length - mine.length;
      if (!mine.length) { box.appendChild(el("p", { "class": "muted" }, T.nothingWaiting)); }
      var list = el("ul", { "class": "cards" });
      mine.forEach(function (r) {
        var li = el("li", { "class": "card", "data-local": r.uuid });
        var state = r.state === "queued" && (r.problem === "conflict" || r.problem === "error") ? "problem" : r.state;
        var css = { draft: "state-draft", queued: "state-waiting", sent: "state-sent", problem: "state-problem" }[state];
        li.appendChild(el("p", {}, fmt(r.fix ? T.fixOf : T.evaluationAt,
                                       { journey: r.journeyName || T.evaluation, location: r.locationName || "" })));
        var p = el("p");
        p.appendChild(el("span", { "class": "state " + css }, state === "problem" ? T.notSent : STATE_LABELS[r.state]));
        p.appendChild(el("span", { "class": "muted" }, new Date(r.updatedAt).toLocaleString()));
        li.appendChild(p);
        if (r.message) { li.appendChild(el("p", {}, r.message)); }
        var actions = el("p", { "class": "actions" });
        if (r.state === "draft") {
          actions.appendChild(el("a", { "class": "button primary", href: r.formUrl + "#draft=" + r.uuid }, r.problem === "invalid" ? T.fixAndSend : T["continue"]));
          var del = el("button", { type: "button", "data-delete": r.uuid }, T["delete"]);
          actions.appendChild(del);
        } else if (r.state === "queued") {
          if (r.problem === "login") { actions.appendChild(el("a", { "class": "button primary", href: loginUrl() }, T.loginToSend)); }
          else if (r.problem === "conflict" && r.fix) {  // never a second evaluation: the server's copy stands
            actions.appendChild(el("a", { href: cfg.detail + r.fix }, T.seeServerCopy));
            actions.appendChild(el("button", { type: "button", "data-delete": r.uuid }, T["delete"]));
          } else if (r.problem === "conflict") {
            actions.appendChild(el("button", { type: "button", "data-renew": r.uuid }, T.sendAsNew));
            actions.appendChild(el("button", { type: "button", "data-delete": r.uuid }, T["delete"]));
          } else { actions.appendChild(el("button", { type: "button", "data-send": r.uuid }, T.sendNow)); }
        } else if (r.result) {
          actions.appendChild(el("a", { href: cfg.detail + r.result.id }, T.seeResult));
        }
        li.appendChild(actions);
        list.appendChild(li);
      });
      box.appendChild(list);
      if (others) { box.appendChild(el("p", { "class": "muted" }, plural(T.othersKept, others))); }
    }
    box.addEventListener("click", function (e) {
      var b = e.target.closest("button");
      if (!b) { return; }
      var rec = store.get(b.getAttribute("data-delete") || b.getAttribute("data-renew") || b.getAttribute("data-send"));
      if (!rec) { return; }
      if (b.hasAttribute("data-delete")) {
        if (window.confirm(T.confirmDelete)) { forget(rec); }
      } else if (b.hasAttribute("data-renew")) {
        // Keep everything, under a new number; its photos move along with it.
        var old = rec.uuid;
        rec.uuid = newUuid(); rec.payload.client_uuid = rec.uuid; rec.problem = null; rec.message = "";
        Promise.all(Object.keys(rec.photos || {}).map(function (name) {
          return idb.get(old + "|" + name).then(function (blob) { return blob && idb.put(rec.uuid + "|" + name, blob); });
        })).catch(function () {}).then(function () {
          store.put(rec); store.remove(old);
          return sendAll();
        }).then(render);
      } else {
        rec.problem = null; rec.attempts = 0; store.put(rec);
        sendAll().then(render);
      }
      render();
    });
    listeners.push(render);
    render();
  }

  // --- on every evaluation page: tidy up, show what is local, and send what waits ---------------------------------
  prune();
  var form = document.getElementById("evaluation");
  if (form) { initForm(form); }
  var local = document.getElementById("local-evaluations");
  if (local) { initMine(local); }
  var shown = root.getAttribute("data-client-uuid");
  if (shown) {  // a result page: the server has it, so the copy on this phone is confirmed
    var known = store.get(shown);
    // A fix counts as arrived only once the server has a newer revision than the one it fixes.
    var arrived = known && (!known.fix || parseInt(root.getAttribute("data-revision") || "0", 10) > (known.fixRevision || 0));
    if (arrived && known.state !== "sent") {
      known.state = "sent"; known.problem = null;
      known.result = { id: parseInt(location.pathname.split("/").pop(), 10) };
      store.put(known);
    }
  }
  if (user) { sendAll(); }
})();
