// Model fields (data-models) suggest ids: the user's own first, then ModelScope's catalogue,
// from GET /models/suggestions, fetched once the first time such a field is focused (no page
// carries the list). An input gets a <datalist>; a box with data-append-to moves each picked
// id into that textarea, so several picks make one save. Textareas, which cannot use a
// datalist, get theirs from model-box.js (linked by the pages that have one), which shares
// this fetch. Without scripts the fields are plain; the server still answers "did you mean".
"use strict";

(function () {
  let ids = null;
  window.modelIds = () => ids || (ids = fetch("/models/suggestions", { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : {}))
    .then((body) => body.models || [])
    .catch(() => []));

  document.addEventListener("focusin", async (event) => {
    const field = event.target;
    if (field.tagName !== "INPUT" || !field.matches("[data-models]") || field.dataset.ready) return;
    field.dataset.ready = "yes";
    const list = await window.modelIds();
    if (!field.list || !field.list.options.length) {
      let datalist = document.getElementById("model-suggestions");
      if (!datalist) {
        datalist = document.createElement("datalist");
        datalist.id = "model-suggestions";
        datalist.append(...list.map((id) => new Option(id)));
        document.body.append(datalist);
      }
      field.setAttribute("list", datalist.id);
    }
    const target = document.getElementById(field.dataset.appendTo || "");
    if (!target) return;
    field.addEventListener("change", () => {
      const picked = field.value.trim();
      if (!list.includes(picked)) return;
      target.value = (target.value.trim() ? target.value.replace(/\s*$/, "\n") : "") + picked;
      field.value = "";
    });
  });
})();
