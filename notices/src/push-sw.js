// The tracking page's service worker: shows the hub's notice when the phone is in a pocket.
// Registered at /t/{code}/push-sw.js, so a tapped notice opens that ticket's page.
"use strict";
const page = self.location.pathname.replace(/\/push-sw\.js$/, "");

self.addEventListener("push", (event) => {
  let m = {};
  try { m = event.data ? event.data.json() : {}; } catch (_) { m = {}; }
  const called = m.kind === "called" || m.kind === "recalled";
  const title = m.title || "Hàng đợi";
  event.waitUntil(self.registration.showNotification(title, {
    body: m.body || "",
    tag: "ticket-" + (m.ticket || ""),
    renotify: true,
    requireInteraction: called,
    vibrate: called ? [400, 200, 400, 200, 400] : [300, 150, 300],
    lang: "vi",
    data: { page },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const c of open) {
      if (new URL(c.url).pathname === page && "focus" in c) return c.focus();
    }
    return self.clients.openWindow(page);
  })());
});
