// A run's page: live state from the server's event stream; the page reloads when the run ends.
"use strict";
(function () {
  const live = document.getElementById("live");
  if (!live || live.dataset.status !== "running") return;
  const status = document.getElementById("run-status");
  const progress = document.getElementById("progress");
  const notices = document.getElementById("notices");
  const text = (id, value) => {
    const el = document.getElementById(id);
    if (el) el.textContent = value === null || value === undefined ? "–" : String(value);
  };
  const source = new EventSource(live.dataset.eventsUrl);
  source.onmessage = (message) => {
    const snap = JSON.parse(message.data);
    if (snap.total !== undefined) {
      progress.max = Math.max(snap.total, 1);
      progress.value = snap.done || 0;
      text("done", snap.done || 0);
      text("total", snap.total);
      text("rate", snap.rate_per_s);
      text("eta", snap.eta_s === null || snap.eta_s === undefined ? null : snap.eta_s + " s");
      document.querySelectorAll("[id^=count-]").forEach((el) => {
        el.textContent = String((snap.counts || {})[el.id.slice(6)] || 0);
      });
      notices.replaceChildren(...(snap.notices || []).map((n) => {
        const li = document.createElement("li");
        li.textContent = n;
        return li;
      }));
    }
    if (snap.state && snap.state !== "running") {
      source.close();
      status.textContent = snap.state;
      window.location.reload();
    }
  };
})();
