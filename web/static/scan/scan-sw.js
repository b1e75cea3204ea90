// Service worker of the scanner page: keeps /scan loadable without network (network first, then the
// copy cached at the last successful load). API requests are not touched: the page itself decides
// what to do offline, and scans must never be answered from a cache.
"use strict";
const CACHE = "greenlane-scan-v4";
// The page and every file it loads (the layout's stylesheet too): a file missing here would stop the page
// from starting offline. The page itself is cached as last loaded, so in the language last chosen (the
// language switch is a cookie set by /lang/CODE, which sends the browser back to /scan to be cached again).
// The camera's QR decoder too: offline is when an officer without a handheld scanner needs it most.
const SHELL = ["/scan", "/static/web/shell.css", "/static/vendor/zxing-library-0.23.0/index.min.js",
  ...["main", "i18n", "clock", "store", "verify", "camera", "view", "queue", "signin"]
  .map(name => `/static/scan/${name}.js`)];

self.addEventListener("install", event => {
  event.waitUntil(caches.open(CACHE).then(cache => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", event => {
  event.waitUntil(caches.keys()
    .then(names => Promise.all(names.filter(n => n !== CACHE).map(n => caches.delete(n))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", event => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || !SHELL.includes(url.pathname)) return;
  event.respondWith(fetch(event.request)
    .then(response => {
      if (response.ok) {
        const copy = response.clone();
        event.waitUntil(caches.open(CACHE).then(cache => cache.put(url.pathname, copy)));
      }
      return response;
    })
    .catch(() => caches.match(url.pathname).then(cached => cached || Response.error())));
});
