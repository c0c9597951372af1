// Bibliomesh web: a little plain JavaScript on top of pages that work without it.
"use strict";

(function () {
  const lang = document.body.dataset.lang === "zh" ? "zh-CN" : "en-GB";

  // Times are sent in UTC; show them in the reader's own time zone.
  const format = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
  document.querySelectorAll("time[datetime]").forEach((el) => {
    const when = new Date(el.getAttribute("datetime").replace(/(\.\d{3})\d+/, "$1") +
                          (/[zZ]|[+-]\d\d:?\d\d$/.test(el.getAttribute("datetime")) ? "" : "Z"));
    if (!isNaN(when)) el.textContent = format.format(when);
  });

  // Destructive buttons ask first.
  document.querySelectorAll("[data-confirm]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });

  // Live notifications: a badge count and a polite announcement. The server ends the stream with an `end` event
  // when the person's newer pages took its place (`superseded`: a few are kept per person) or their account was
  // disabled; the page stops listening then, as reconnecting would only push out another page's stream. A page
  // that gave way listens again once the reader comes back to it.
  const live = document.body.dataset.live;
  if (live && "EventSource" in window) {
    const badge = document.getElementById("unread");
    const toasts = document.getElementById("toasts");
    const announce = (event) => {
      let note;
      try { note = JSON.parse(event.data); } catch (e) { return; }
      if (badge) {
        badge.textContent = String((parseInt(badge.textContent, 10) || 0) + 1);
        badge.hidden = false;
      }
      const toast = document.createElement("div");
      toast.className = "toast";
      const title = document.createElement(note.request_id ? "a" : "strong");
      title.textContent = note.title;
      if (note.request_id) title.href = "/requests/" + encodeURIComponent(note.request_id);
      toast.appendChild(title);
      toasts.appendChild(toast);
      setTimeout(() => toast.remove(), 12000);
    };
    let gaveWay = false;
    const listen = () => {
      const source = new EventSource(live);
      source.addEventListener("notification", announce);
      source.addEventListener("end", (event) => {
        source.close();
        let reason = "";
        try { reason = JSON.parse(event.data).reason; } catch (e) { /* ended all the same */ }
        gaveWay = reason === "superseded";
        document.body.dataset.liveState = "ended";
      });
      source.onopen = () => { document.body.dataset.liveState = "open"; };
      source.onerror = () => {
        document.body.dataset.liveState = source.readyState === EventSource.CLOSED ? "closed" : "retrying";
      };
    };
    listen();
    document.addEventListener("visibilitychange", () => {
      if (gaveWay && document.visibilityState === "visible") {
        gaveWay = false;
        listen();
      }
    });
  }

  // On a narrow screen the search filters start folded, so the results come first.
  const facets = document.querySelector(".facets details");
  if (facets && window.matchMedia("(max-width: 48rem)").matches) facets.open = false;

  // Replace one section of this page with its current version from the server.
  function refreshSection(id) {
    fetch(location.href, { credentials: "same-origin" }).then((r) => r.text()).then((html) => {
      const fresh = new DOMParser().parseFromString(html, "text/html").getElementById(id);
      const old = document.getElementById(id);
      if (fresh && old) old.replaceWith(fresh);
    }).catch(() => {});
  }

  // Import progress: the upload's own progress, then the job's, from the same bar.
  function follow(url, bar, text, percent, counts, done) {
    const tick = () => fetch(url, { credentials: "same-origin" }).then((r) => r.json()).then((job) => {
      bar.value = job.percent;
      percent.textContent = job.percent + "%";
      text.textContent = job.text;
      counts.textContent = job.counts + (job.failure ? " — " + job.failure : "");
      if (job.status === "running") setTimeout(tick, 1000); else if (done) done(job);
    }).catch(() => setTimeout(tick, 3000));
    tick();
  }

  const form = document.getElementById("import-form");
  if (form && window.XMLHttpRequest) {
    form.addEventListener("submit", (event) => {
      const file = document.getElementById("import-file").files[0];
      if (!file) return;
      event.preventDefault();
      const panel = document.getElementById("import-progress");
      const bar = document.getElementById("progress-bar");
      const text = document.getElementById("progress-text");
      const percent = document.getElementById("progress-percent");
      const counts = document.getElementById("progress-counts");
      panel.hidden = false;
      text.textContent = form.dataset.uploading;
      form.querySelector("button").disabled = true;
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/staff/imports?filename=" + encodeURIComponent(file.name));
      xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.onprogress = (e) => {
        if (!e.lengthComputable) return;
        const share = Math.round(100 * e.loaded / e.total);
        bar.value = share;
        percent.textContent = share + "%";
      };
      xhr.onload = () => {
        let answer = {};
        try { answer = JSON.parse(xhr.responseText); } catch (e) { /* shown below */ }
        if (xhr.status !== 202) {
          text.textContent = answer.error || ("HTTP " + xhr.status);
          form.querySelector("button").disabled = false;
          return;
        }
        text.textContent = form.dataset.processing;
        bar.value = 0;
        const link = document.getElementById("progress-link");
        link.href = answer.url;
        link.hidden = false;
        follow(answer.url + "/progress", bar, text, percent, counts, () => {
          form.querySelector("button").disabled = false;
          refreshSection("recent-imports");
        });
      };
      xhr.send(file);
    });
  }

  const job = document.getElementById("import-job");
  if (job) {
    follow(job.dataset.progress, document.getElementById("progress-bar"), document.getElementById("progress-text"),
           document.getElementById("progress-percent"), document.getElementById("progress-counts"));
  }
})();
