// Service worker for the evaluation pages (scope /evaluations/), served as /sw.js with self.AUDITAPP in front:
// {version, assets, pages, scope}. Pages: network first, the last good copy when offline. Static files: cache
// first when versioned (?v=), otherwise the cached copy at once and a fresh one fetched for next time.
"use strict";
var C = self.AUDITAPP;
var STATIC = "auditapp-static-" + C.version;
var PAGES = "auditapp-pages-v1";
// Only these pages are kept on the phone: the ones needed to start and fill an evaluation offline.
var KEEP = /^\/evaluations\/(start|mine|new)$/;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC).then(function (cache) { return cache.addAll(C.assets); }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf("auditapp-static-") === 0 && n !== STATIC; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function keepPage(url, response) {
  if (!response || !KEEP.test(new URL(url).pathname)) { return Promise.resolve(); }
  var moved = response.redirected || response.type === "opaqueredirect" || (response.status >= 400 && response.status < 500);
  if (moved && new URL(url).searchParams.has("fix")) {
    // A fix form that now leads elsewhere (sent: its result page; not yours): drop the copy that could be edited.
    return caches.open(PAGES).then(function (cache) { return cache.delete(url); });
  }
  if (moved || !response.ok) { return Promise.resolve(); }
  if ((response.headers.get("Content-Type") || "").indexOf("text/html") < 0) { return Promise.resolve(); }
  return caches.open(PAGES).then(function (cache) { return cache.put(url, response); });
}

function offlinePage() {
  var html = "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width, initial-scale=1'>" +
    "<title>Offline · auditapp</title><link rel=stylesheet href='/static/css/app.css'><main id=main><h1>" + C.offline_title +
    "</h1><p>This page was not saved on this phone. Evaluations you already started are safe here.</p>" +
    "<p><a class=button href='/evaluations/mine'>My evaluations</a></p></main></html>";
  return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

self.addEventListener("fetch", function (event) {
  var req = event.request;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) { return; }
  if (req.method !== "GET") {
    // Sends (the queue's POSTs) go straight to the network, made here rather than left to the browser's fallback,
    // so each send takes one path; nothing is cached. A lost answer is harmless: the client_uuid makes a resend a replay.
    if (url.pathname.indexOf("/api/") === 0) { event.respondWith(fetch(req)); }
    return;
  }

  if (url.pathname.indexOf("/static/") === 0 || url.pathname === "/manifest.webmanifest") {
    var versioned = url.searchParams.has("v");
    event.respondWith(caches.open(STATIC).then(function (cache) {
      return cache.match(req).then(function (hit) {
        if (hit && versioned) { return hit; }
        var fresh = fetch(req).then(function (res) {
          if (res.ok) { cache.put(req, res.clone()); }
          return res;
        });
        if (hit) { fresh.catch(function () {}); return hit; }
        // Offline, a page kept before an update asks for an older version: the current one is the best answer.
        return fresh.catch(function (error) {
          return caches.match(req, { ignoreSearch: true }).then(function (any) { if (any) { return any; } throw error; });
        });
      });
    }));
    return;
  }

  if (req.mode === "navigate" && url.pathname.indexOf(C.scope) === 0) {
    var key = url.origin + url.pathname + url.search;
    event.respondWith(fetch(req).then(function (res) {
      event.waitUntil(keepPage(key, res.clone()));
      return res;
    }).catch(function () {
      return caches.open(PAGES).then(function (cache) {
        return cache.match(key, { ignoreVary: true });
      }).then(function (hit) { return hit || offlinePage(); });
    }));
  }
});

// A page loaded before this worker controlled it asks to be kept (later pages are kept as they are visited).
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "cache-pages" || !Array.isArray(data.urls)) { return; }
  event.waitUntil(Promise.all(data.urls.map(function (path) {
    var url = new URL(path, self.location.origin).href;
    return fetch(url, { credentials: "same-origin" }).then(function (res) { return keepPage(url, res); }).catch(function () {});
  })));
});
