// A models textarea (data-models) suggests ids for the one at the caret, in a short list under
// it: type two characters or more; arrows move, Enter or Tab takes, Escape closes. The ids come
// from models.js's one fetch (the user's own first), so this file comes after it.
"use strict";

(function () {
  const separator = /[\s,\uff0c]/;
  // Where the id around `at` starts and ends.
  const around = (text, at) => {
    let start = at;
    let end = at;
    while (start > 0 && !separator.test(text[start - 1])) start--;
    while (end < text.length && !separator.test(text[end])) end++;
    return [start, end];
  };
  let boxes = 0;

  function attach(field, list) {
    const box = document.createElement("ul");
    box.className = "suggest";
    box.id = "suggest-" + ++boxes;
    box.setAttribute("role", "listbox");
    box.hidden = true;
    field.after(box);
    field.setAttribute("aria-controls", box.id);
    field.setAttribute("aria-autocomplete", "list");
    let active = -1;
    const close = () => {
      box.hidden = true;
      active = -1;
      field.removeAttribute("aria-activedescendant");
    };
    const take = (id) => {
      const [start, end] = around(field.value, field.selectionStart);
      field.value = field.value.slice(0, start) + id + field.value.slice(end);
      field.selectionStart = field.selectionEnd = start + id.length;
      close();
    };
    const mark = (index) => {
      const items = Array.from(box.children);
      active = (index + items.length) % items.length;
      items.forEach((li, at) => li.setAttribute("aria-selected", at === active));
      field.setAttribute("aria-activedescendant", items[active].id);
    };
    field.addEventListener("input", () => {
      const [start, end] = around(field.value, field.selectionStart);
      const word = field.value.slice(start, end).toLowerCase();
      const found = word.length < 2 ? [] : list
        .filter((id) => id.toLowerCase().includes(word) && id.toLowerCase() !== word).slice(0, 8);
      box.replaceChildren(...found.map((id, at) => {
        const li = document.createElement("li");
        li.id = box.id + "-" + at;
        li.setAttribute("role", "option");
        li.textContent = id;
        li.addEventListener("mousedown", (event) => {
          event.preventDefault();
          take(id);
        });
        return li;
      }));
      active = -1;
      box.hidden = !found.length;
    });
    field.addEventListener("blur", close);
    field.addEventListener("keydown", (event) => {
      if (box.hidden) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        mark(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if ((event.key === "Enter" || event.key === "Tab") && active >= 0) {
        event.preventDefault();
        take(box.children[active].textContent);
      } else if (event.key === "Escape") {
        close();
      }
    });
  }

  document.addEventListener("focusin", async (event) => {
    const field = event.target;
    if (field.tagName !== "TEXTAREA" || !field.matches("[data-models]") || field.dataset.ready) return;
    if (!window.modelIds) return;
    field.dataset.ready = "yes";
    attach(field, await window.modelIds());
  });
})();
