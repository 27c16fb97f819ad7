// Progressive enhancement, one small file, no framework. Without it every form posts normally
// and the server shows the result; with it:
// - a form with data-stream-url streams its run row by row into the page's live results
//   (progress in the button, elapsed time, "retry failed" when a call failed, "again"), and a
//   second click while a run is going starts nothing;
// - a button with data-copy copies the text of the element it names;
// - a results table sorts by a column when its heading is pressed (again: the other way);
// - on the dashboard, a key's card (and its headline) is read again after a run or a free
//   refresh from it, in place;
// - a part of a form marked data-when="name:a,b" shows only while the form's control `name`
//   has one of those values (its inputs are disabled while hidden, so they are not sent).
// Every value arrives display-ready from the server; every word comes from the page.
"use strict";

(function () {
  const section = document.getElementById("live-results");
  const rowTemplate = document.getElementById("live-row");
  const words = document.getElementById("live-words");
  let running = false;
  let lastRun = null; // { form, data } of the last streamed run

  for (const button of document.querySelectorAll("[data-copy]")) {
    const target = document.getElementById(button.dataset.copy);
    if (!target || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      await navigator.clipboard.writeText(target.textContent.trim());
      button.textContent = button.dataset.copied || button.textContent;
    });
  }

  // Parts of a form that matter for one choice only. Without this script every part shows,
  // each with words saying what it is for; the server ignores fields the choice does not use.
  for (const form of document.querySelectorAll("form")) {
    const parts = form.querySelectorAll("[data-when]");
    if (!parts.length) continue;
    const apply = () => {
      for (const part of parts) {
        const [name, values] = part.dataset.when.split(":");
        const control = form.elements[name];
        if (!control) continue;
        const shown = values.split(",").includes(control.value);
        part.hidden = !shown;
        for (const input of part.querySelectorAll("input, select, textarea")) input.disabled = !shown;
      }
    };
    form.addEventListener("change", apply);
    apply();
  }

  // A cell sorts by its data-sort, else by its first text: numbers as numbers ("125–500" by
  // 125, "303 ms" by 303) before words in the page's language; "—" and blanks always last.
  const collator = new Intl.Collator(document.documentElement.lang || undefined, { numeric: true });
  const sortKey = (cell) => {
    if (!cell) return null;
    const text = (cell.dataset.sort || (cell.firstChild ? cell.firstChild.textContent : "")).trim();
    return text && text !== "—" ? { text, number: parseFloat(text.replace(/,/g, "")) } : null;
  };
  const compare = (a, b) => {
    if (!isNaN(a.number) && !isNaN(b.number)) return a.number - b.number;
    if (!isNaN(a.number) || !isNaN(b.number)) return isNaN(a.number) ? 1 : -1;
    return collator.compare(a.text, b.text);
  };
  const sortable = (table) => {
    if (!table.tHead || !table.tBodies.length) return;
    const heads = Array.from(table.tHead.rows[0].cells);
    heads.forEach((th, column) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.append(...th.childNodes);
      th.replaceChildren(button);
      button.addEventListener("click", () => {
        const descending = th.getAttribute("aria-sort") === "ascending";
        for (const other of heads) other.removeAttribute("aria-sort");
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows).map((tr) => ({ tr, key: sortKey(tr.cells[column]) }));
        rows.sort((x, y) => {
          if (!x.key || !y.key) return (x.key ? 0 : 1) - (y.key ? 0 : 1);
          return descending ? compare(y.key, x.key) : compare(x.key, y.key);
        });
        body.append(...rows.map((row) => row.tr));
      });
    });
  };
  for (const table of document.querySelectorAll("table.results-table")) sortable(table);

  // The dashboard: key `id`'s card and headline again from the dashboard `answer` (else
  // fetched), with the page's confirmation in the card.
  async function renew(id, answer) {
    const card = "key-" + id;
    if (!document.getElementById(card)) return;
    const response = answer || (await fetch("/"));
    if (!response.ok) throw response.status;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const name of [card, "head-" + id]) {
      const fresh = page.getElementById(name);
      if (fresh) document.getElementById(name)?.replaceWith(fresh);
    }
    const shown = document.getElementById(card);
    shown.prepend(...page.querySelectorAll("main > .flash"));
    shown.querySelectorAll("table.results-table").forEach(sortable);
    shown.querySelectorAll("form[data-card]").forEach(refreshes);
  }
  // A free refresh posts in the background; should that fail, the form posts as usual.
  function refreshes(form) {
    form.addEventListener("submit", async (event) => {
      if (form.dataset.plain) return;
      event.preventDefault();
      const button = form.querySelector("button");
      button.disabled = true;
      button.textContent = button.dataset.busy;
      try {
        const body = new URLSearchParams(new FormData(form));
        await renew(form.dataset.card, await fetch(form.action, { method: "POST", body }));
      } catch (error) {
        form.dataset.plain = "yes";
        form.submit();
      }
    });
  }
  document.querySelectorAll("form[data-card]").forEach(refreshes);

  if (!section || !rowTemplate || !words || !window.fetch || !window.TextDecoder) return;
  // Rows are found by their index in the run, whatever order a sort put them in.
  const rowAt = (index) => field("rows").querySelector('tr[data-index="' + index + '"]');

  const part = (name) => section.querySelector('[data-part="' + name + '"]');
  const field = (name) => section.querySelector('[data-field="' + name + '"]');
  const word = (selector) => {
    const found = words.content.querySelector(selector);
    return found ? found.textContent : "";
  };
  const fill = (template, key, value) => template.split("{" + key + "}").join(value);

  for (const form of document.querySelectorAll("form[data-stream-url]")) {
    let pressed = null;
    for (const button of form.querySelectorAll("button[type=submit]")) {
      button.addEventListener("click", () => { pressed = button; });
    }
    form.addEventListener("submit", (event) => {
      const button = event.submitter || pressed || form.querySelector("button[type=submit]");
      // The fallback post, and a button that posts the form elsewhere (formaction), go as is.
      if (form.dataset.plain === "yes" || (button && button.hasAttribute("formaction"))) return;
      event.preventDefault();
      if (running) return;
      const data = new FormData(form);
      if (button && button.name) data.set(button.name, button.value);
      run(form, data, button);
    });
  }

  section.querySelector('[data-action="again"]').addEventListener("click", () => {
    if (lastRun && !running) run(lastRun.form, lastRun.data, null);
  });
  section.querySelector('[data-action="retry"]').addEventListener("click", () => {
    if (!lastRun || running) return;
    const failed = Array.from(field("rows").children)
      .filter((tr) => tr.dataset.retry === "1")
      .map((tr) => tr.querySelector("th").textContent);
    if (!failed.length) return;
    const data = new FormData();
    for (const [name, value] of lastRun.data.entries()) {
      if (name !== "preset_id" && name !== "models") data.append(name, value);
    }
    data.set("models", failed.join("\n"));
    run(lastRun.form, data, null);
  });

  async function run(form, data, button) {
    running = true;
    lastRun = { form, data };
    const buttons = Array.from(document.querySelectorAll("form[data-stream-url] button[type=submit]"))
      .concat(Array.from(section.querySelectorAll("[data-action]")));
    const labels = new Map(buttons.map((b) => [b, b.textContent]));
    for (const b of buttons) b.disabled = true;
    if (button && button.dataset.busy) button.textContent = button.dataset.busy;
    const state = { total: 0, done: 0, stored: false, started: Date.now(), button, busy: button && button.dataset.busy };
    const ticker = setInterval(() => tick(state), 1000);
    let fellBack = false;
    try {
      const response = await fetch(form.dataset.streamUrl, {
        method: "POST",
        body: new URLSearchParams(data),
        credentials: "same-origin",
      });
      if (!response.ok || !response.body) {
        // Bad input: the plain post shows the message where it belongs.
        fellBack = true;
        form.dataset.plain = "yes";
        if (form.requestSubmit) form.requestSubmit(button || undefined);
        else form.submit();
        return;
      }
      await read(response.body.getReader(), state);
      if (state.stored) renew(data.get("key_id")).catch(() => {});
      const stores = form.getAttribute("action") !== "/quick";
      if (stores && !state.stored && !state.storeFailed) part("failed").hidden = false;
      part("after").hidden = false;
      const anyFailed = Array.from(field("rows").children).some((tr) => tr.dataset.retry === "1");
      section.querySelector('[data-action="retry"]').hidden = !anyFailed;
    } catch (error) {
      part("failed").hidden = false;
    } finally {
      clearInterval(ticker);
      if (!fellBack) {
        running = false;
        for (const b of buttons) {
          b.disabled = false;
          b.textContent = labels.get(b);
        }
      }
    }
  }

  function tick(state) {
    const seconds = Math.round((Date.now() - state.started) / 1000);
    if (seconds >= 2) field("elapsed").textContent = fill(word("[data-elapsed]"), "s", seconds);
  }

  async function read(reader, state) {
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) handle(JSON.parse(line), state);
      }
    }
  }

  function handle(event, state) {
    switch (event.type) {
      case "start": return start(event, state);
      case "expected": return expected(event);
      case "before": return;
      case "row": return row(event, state);
      case "balance": return balance(event);
      case "final": return final(event);
      case "done": return done(event, state);
      case "error": return storeFailed(event, state);
      default: return;
    }
  }

  function start(event, state) {
    state.total = event.check ? 0 : event.total;
    state.done = 0;
    const title = field("title");
    if (!title.dataset.probe) title.dataset.probe = title.textContent;
    title.textContent = event.check ? title.dataset.check : title.dataset.probe;
    const rows = field("rows");
    rows.replaceChildren();
    for (const name of section.querySelectorAll("th[aria-sort]")) name.removeAttribute("aria-sort");
    event.models.forEach((model, index) => {
      const tr = rowTemplate.content.firstElementChild.cloneNode(true);
      tr.className = "row-pending";
      tr.dataset.index = index;
      tr.querySelector("th").textContent = model;
      rows.appendChild(tr);
    });
    for (const name of ["balance", "expected", "after", "failed", "store-failed", "done"]) part(name).hidden = true;
    part("progress").hidden = !!event.check;
    field("elapsed").textContent = "";
    section.hidden = false;
    progress(state);
    section.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  function expected(event) {
    const box = part("expected");
    box.textContent = fill(word("[data-expected]"), "cost", event.cost);
    box.hidden = false;
  }

  function detail(text, className) {
    const span = document.createElement("span");
    span.className = className || "detail";
    span.textContent = text; // text, never HTML
    return span;
  }

  function fillRow(tr, data) {
    tr.className = "row-" + data.code;
    tr.dataset.retry = data.retry ? "1" : "";
    const calls = tr.querySelector("[data-field=calls]");
    const strong = document.createElement("strong");
    strong.className = "calls";
    strong.textContent = data.calls_left;
    calls.replaceChildren(strong);
    let source = word('[data-source="' + CSS.escape(data.source) + '"]');
    if (source) {
      source = fill(fill(source, "account", data.account || "—"), "model", data.model_quota || "—");
      calls.appendChild(detail(source));
    }
    if (data.month_left != null) calls.appendChild(detail(fill(word("[data-month]"), "n", data.month_left)));
    const price = tr.querySelector("[data-field=price]");
    price.replaceChildren(document.createTextNode(data.price || word('[data-price="unknown"]')));
    if (data.price) price.appendChild(detail(word('[data-price-source="' + CSS.escape(data.price_source) + '"]')));
    else if (data.candidates) price.appendChild(detail(fill(word("[data-candidates]"), "prices", data.candidates)));
    tr.querySelector("[data-field=latency]").textContent = data.checked ? data.latency_ms + " ms" : "—";
    const status = tr.querySelector("[data-field=status]");
    const badge = words.content.querySelector('[data-code="' + CSS.escape(data.code) + '"]');
    status.replaceChildren(badge ? badge.cloneNode(true) : document.createTextNode(data.code));
    if (data.detail) status.appendChild(detail(data.detail));
    const advice = data.code === "ok" ? "" : word('[data-advice="' + CSS.escape(data.code) + '"]');
    if (advice) status.appendChild(detail(advice, "detail advice"));
  }

  function row(event, state) {
    const tr = rowAt(event.index);
    if (!tr) return;
    fillRow(tr, event);
    state.done += 1;
    progress(state);
  }

  function final(event) {
    event.rows.forEach((data, index) => {
      const tr = rowAt(index);
      if (tr) fillRow(tr, data);
    });
  }

  function balance(event) {
    const box = part("balance");
    box.hidden = false;
    const ok = event.code === "ok";
    part("balance-error").hidden = ok;
    field("available").textContent = ok ? event.available : "—";
    field("total").textContent = ok ? event.total : "—";
    part("frozen").hidden = !event.frozen;
    field("frozen").textContent = event.frozen || "";
    const spent = part("spent");
    spent.hidden = event.spent === null || event.spent === undefined;
    field("spent").textContent = spent.hidden ? "" : event.spent;
    part("tiers").hidden = !ok;
    for (const tier of event.tiers || []) {
      const cell = section.querySelector('[data-tier="' + CSS.escape(tier.price) + '"]');
      if (cell) cell.textContent = fill(word("[data-calls]"), "n", tier.calls);
    }
  }

  // The run finished and its rows are on the page, but it is not in history: say exactly that.
  function storeFailed(event, state) {
    state.storeFailed = true;
    part("store-failed").hidden = false;
  }

  function done(event, state) {
    state.stored = true;
    const link = part("done");
    link.href = event.url;
    link.hidden = false;
  }

  function progress(state) {
    const bar = field("progress");
    bar.max = Math.max(state.total, 1);
    bar.value = state.total ? state.done : 1;
    field("count").textContent = state.done + " / " + state.total;
    if (state.button && state.busy) state.button.textContent = state.busy + " " + state.done + "/" + state.total;
  }
})();

