// The check page: any change of a column or an option recomputes the check on the server
// (the same preview `leadup validate` makes) and shows it without a page reload.
"use strict";
(function () {
  const form = document.getElementById("check-form");
  const results = document.getElementById("check-results");
  const start = document.getElementById("start-upload");
  const quote = form.querySelector("[data-testid=quote-first]");
  const dialog = document.getElementById("confirm");
  const pingNote = dialog.querySelector(".ping-note");
  let pending = null;
  let generation = 0;

  function showCount(n) {
    document.querySelectorAll(".n-leads").forEach((el) => { el.textContent = String(n); });
  }

  async function recheck() {
    const mine = ++generation;
    form.setAttribute("aria-busy", "true");
    let response;
    try {
      response = await fetch(form.dataset.checkUrl, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
      });
    } catch (error) {
      response = null; // the server is gone (stopped?)
    }
    if (mine !== generation) return; // a later change is on its way
    form.removeAttribute("aria-busy");
    if (!response || !response.ok) {
      const why = response ? "answer " + response.status : "no answer from leadup web";
      results.textContent = "The check could not be made (" + why + "); reload the page.";
      start.disabled = true;
      return;
    }
    const data = await response.json();
    if (data.results_html !== undefined) {
      // Rendered by the server's templates, every value escaped: text, never markup.
      results.innerHTML = data.results_html;
    } else {
      results.textContent = data.error;
    }
    (data.columns || []).forEach((column) => {
      const select = form.querySelector('select[data-ref="' + CSS.escape(column.ref) + '"]');
      if (select && select.value !== column.target) {
        if (![...select.options].some((option) => option.value === column.target)) {
          const option = document.createElement("option");
          option.value = column.target;
          option.textContent = column.label;
          select.insertBefore(option, select.lastElementChild);
        }
        select.value = column.target;
      }
      const evidence = form.querySelector('[data-evidence-for="' + CSS.escape(column.ref) + '"]');
      if (evidence) evidence.textContent = column.evidence;
    });
    showCount(data.would_send || 0);
    const blocked = Boolean(data.error) || !data.would_send;
    start.disabled = blocked;
    quote.disabled = Boolean(data.error);
    form.dataset.checked = String(mine);
  }

  function later() {
    clearTimeout(pending);
    pending = setTimeout(recheck, 150);
  }
  // The columns the person chose; the other selects show what the mapping made of them.
  const touchedInput = document.getElementById("touched");
  const touched = new Set(JSON.parse(touchedInput.value || "[]"));
  form.addEventListener("change", (event) => {
    if (event.target.dataset.ref !== undefined) {
      touched.add(event.target.dataset.ref);
      touchedInput.value = JSON.stringify([...touched]);
    }
    later();
  });
  form.addEventListener("input", (event) => {
    if (event.target.type === "number") later();
  });
  start.addEventListener("click", () => {
    pingNote.hidden = !document.getElementById("ping").checked;
    dialog.showModal();
  });
  document.getElementById("cancel-upload").addEventListener("click", () => dialog.close());
  form.dataset.checked = "0";
})();
