// The resident page's service worker: the page's own files are kept so that it opens
// without a connection (network first, the kept copy when offline); the last status it
// showed is kept by the page itself (localStorage), never API answers here.
const CACHE = "dayuan-resident-v4";
const SHELL = ["./", "./index.html", "./resident.js", "./notices.js", "./point.js", "./deliberations.js", "./i18n.js", "./resident.css", "./manifest.json"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || !url.pathname.startsWith("/r/")) {
    return; // the API goes to the network, always
  }
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        const copy = response.clone();
        if (response.ok) caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        return response;
      })
      .catch(() => caches.match(event.request).then((hit) => hit || caches.match("./index.html"))),
  );
});
