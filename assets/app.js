// Progressive enhancement for the query form: stream results row by row.
// Without this file the form posts normally and the server shows the stored run.
// Every value arrives display-ready from the server; every word comes from the page.
"use strict";

(function () {
  const form = document.getElementById("query-form");
  if (!form || !window.fetch || !window.TextDecoder) return;

  const $ = (id) => document.getElementById(id);
  const section = $("live-results");
  const rows = $("live-rows");
  const progress = $("live-progress");
  const count = $("live-count");
  const rowTemplate = $("live-row");
  const labels = $("status-labels");
  const sources = $("source-labels");
  const balanceBox = $("live-balance");
  const expectedBox = $("live-expected");
  const done = $("live-done");
  const failed = $("live-failed");
  const buttons = form.querySelectorAll("button[type=submit]");
  let fallback = false;
  let stored = false;
  let submitter = null;

  for (const button of buttons) {
    button.addEventListener("click", () => { submitter = button; });
  }

  form.addEventListener("submit", async (event) => {
    if (fallback) return; // the plain post, e.g. to show a validation message
    event.preventDefault();
    const data = new FormData(form);
    const pressed = event.submitter || submitter;
    if (pressed && pressed.name) data.set(pressed.name, pressed.value);
    for (const button of buttons) button.disabled = true;
    try {
      const response = await fetch(form.dataset.streamUrl, {
        method: "POST",
        body: new URLSearchParams(data),
        credentials: "same-origin",
      });
      if (!response.ok || !response.body) {
        submitPlainly(pressed);
        return;
      }
      stored = false;
      await readEvents(response.body.getReader());
      // The stream ended without saying the run was stored: tell the user where to look.
      if (!stored) failed.hidden = false;
    } catch (error) {
      failed.hidden = false;
    } finally {
      for (const button of buttons) button.disabled = false;
    }
  });

  function submitPlainly(pressed) {
    fallback = true;
    if (form.requestSubmit) form.requestSubmit(pressed || undefined);
    else form.submit();
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
      case "expected": return expected(event);
      case "before": return;
      case "row": return row(event);
      case "balance": return balance(event);
      case "final": return final(event);
      case "done": return finish(event);
      default: failed.hidden = false;
    }
  }

  function start(event) {
    total = event.check ? 0 : event.total;
    finishedRows = 0;
    rows.replaceChildren();
    for (const model of event.models) {
      const tr = rowTemplate.content.firstElementChild.cloneNode(true);
      tr.querySelector("th").textContent = model;
      rows.appendChild(tr);
    }
    balanceBox.hidden = true;
    expectedBox.hidden = true;
    done.hidden = true;
    failed.hidden = true;
    section.hidden = false;
    updateProgress();
    section.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  function expected(event) {
    expectedBox.querySelector("[data-field=expected]").textContent = event.cost;
    expectedBox.hidden = false;
  }

  function word(selector) {
    const found = sources.content.querySelector(selector);
    return found ? found.textContent : "";
  }

  function fillRow(tr, data) {
    tr.className = "row-" + data.code;
    const calls = tr.querySelector("[data-field=calls]");
    calls.replaceChildren();
    const strong = document.createElement("strong");
    strong.className = "calls";
    strong.textContent = data.calls_left;
    calls.appendChild(strong);
    const source = word('[data-source="' + CSS.escape(data.source) + '"]');
    if (source) {
      const detail = document.createElement("span");
      detail.className = "detail";
      detail.textContent = data.source === "headers" && data.account
        ? source + "：" + data.account + " · " + data.model_quota
        : source;
      calls.appendChild(detail);
    }
    const price = tr.querySelector("[data-field=price]");
    price.replaceChildren(document.createTextNode(data.price || word('[data-price="unknown"]')));
    if (data.price) {
      const detail = document.createElement("span");
      detail.className = "detail";
      detail.textContent = word('[data-price-source="' + CSS.escape(data.price_source) + '"]');
      price.appendChild(detail);
    }
    tr.querySelector("[data-field=latency]").textContent = data.latency_ms + " ms";
    const status = tr.querySelector("[data-field=status]");
    const label = labels.content.querySelector('[data-code="' + CSS.escape(data.code) + '"]');
    status.replaceChildren(label ? label.cloneNode(true) : document.createTextNode(data.code));
    if (data.detail) {
      const detail = document.createElement("span");
      detail.className = "detail";
      detail.textContent = data.detail; // text, never HTML
      status.appendChild(detail);
    }
  }

  function row(event) {
    const tr = rows.children[event.index];
    if (!tr) return;
    fillRow(tr, event);
    finishedRows += 1;
    updateProgress();
  }

  function final(event) {
    event.rows.forEach((data, index) => {
      const tr = rows.children[index];
      if (tr) fillRow(tr, data);
    });
  }

  function balance(event) {
    balanceBox.hidden = false;
    const ok = event.code === "ok";
    balanceBox.querySelector("[data-field=error]").hidden = ok;
    balanceBox.querySelector("[data-field=available]").textContent = ok ? event.available : "—";
    balanceBox.querySelector("[data-field=total]").textContent = ok ? event.total : "—";
    const frozen = balanceBox.querySelector("[data-part=frozen]");
    frozen.hidden = !event.frozen;
    balanceBox.querySelector("[data-field=frozen]").textContent = event.frozen || "";
    const spent = balanceBox.querySelector("[data-part=spent]");
    spent.hidden = event.spent === null || event.spent === undefined;
    balanceBox.querySelector("[data-field=spent]").textContent = spent.hidden ? "" : event.spent;
    balanceBox.querySelector("[data-part=tiers]").hidden = !ok;
    for (const tier of event.tiers || []) {
      const cell = balanceBox.querySelector('[data-tier="' + CSS.escape(tier.price) + '"]');
      if (cell) cell.textContent = tier.calls;
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
    progress.value = total ? finishedRows : 1;
    count.textContent = finishedRows + " / " + total;
  }
})();
