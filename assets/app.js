// Progressive enhancement for the query form: stream results row by row.
// Without this file the form posts normally and the server shows the stored run.
"use strict";

(function () {
  const form = document.getElementById("query-form");
  if (!form || !window.fetch || !window.TextDecoder) return;

  const section = document.getElementById("live-results");
  const rows = document.getElementById("live-rows");
  const progress = document.getElementById("live-progress");
  const count = document.getElementById("live-count");
  const rowTemplate = document.getElementById("live-row");
  const labels = document.getElementById("status-labels");
  const balanceBox = document.getElementById("live-balance");
  const done = document.getElementById("live-done");
  const failed = document.getElementById("live-failed");
  const button = form.querySelector("button[type=submit]");
  let fallback = false;
  let stored = false;

  form.addEventListener("submit", async (event) => {
    if (fallback) return; // the plain post, e.g. to show a validation message
    event.preventDefault();
    button.disabled = true;
    try {
      const response = await fetch(form.dataset.streamUrl, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin",
      });
      if (!response.ok || !response.body) {
        submitPlainly();
        return;
      }
      stored = false;
      await readEvents(response.body.getReader());
      // The stream ended without saying the run was stored: tell the user where to look.
      if (!stored) failed.hidden = false;
    } catch (error) {
      failed.hidden = false;
    } finally {
      button.disabled = false;
    }
  });

  function submitPlainly() {
    fallback = true;
    form.requestSubmit ? form.requestSubmit() : form.submit();
  }

  async function readEvents(reader) {
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done: finished } = await reader.read();
      if (finished) break;
      buffer += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) handle(JSON.parse(line));
      }
    }
  }

  let total = 0;
  let finishedRows = 0;

  function handle(event) {
    switch (event.type) {
      case "start": return start(event);
      case "row": return row(event);
      case "balance": return balance(event);
      case "done": return finish(event);
      default: failed.hidden = false;
    }
  }

  function start(event) {
    total = event.total;
    finishedRows = 0;
    rows.replaceChildren();
    for (const model of event.models) {
      const tr = rowTemplate.content.firstElementChild.cloneNode(true);
      tr.querySelector("th").textContent = model;
      rows.appendChild(tr);
    }
    balanceBox.hidden = true;
    done.hidden = true;
    failed.hidden = true;
    section.hidden = false;
    updateProgress();
  }

  function row(event) {
    const tr = rows.children[event.index];
    if (!tr) return;
    tr.className = "row-" + event.code;
    tr.querySelector("[data-field=account]").textContent = event.request_remaining + " / " + event.request_limit;
    tr.querySelector("[data-field=model]").textContent = event.model_request_remaining + " / " + event.model_request_limit;
    tr.querySelector("[data-field=latency]").textContent = event.latency_ms + " ms";
    const status = tr.querySelector("[data-field=status]");
    const label = labels.content.querySelector('[data-code="' + CSS.escape(event.code) + '"]');
    status.replaceChildren(label ? label.cloneNode(true) : document.createTextNode(event.code));
    if (event.detail) {
      const detail = document.createElement("span");
      detail.className = "detail";
      detail.textContent = event.detail; // text, never HTML
      status.appendChild(detail);
    }
    finishedRows += 1;
    updateProgress();
  }

  function balance(event) {
    balanceBox.hidden = false;
    const error = balanceBox.querySelector("[data-field=error]");
    error.hidden = event.code === "ok";
    for (const field of ["total", "available", "frozen"]) {
      balanceBox.querySelector("[data-field=" + field + "]").textContent = event.code === "ok" ? event[field] : "—";
    }
  }

  function finish(event) {
    stored = true;
    done.hidden = false;
    const link = done.querySelector("a");
    link.href = event.url;
  }

  function updateProgress() {
    progress.max = Math.max(total, 1);
    progress.value = finishedRows;
    count.textContent = finishedRows + " / " + total;
  }
})();
