// The drop zone: a dropped file goes into the form's file input and the form is sent.
"use strict";
(function () {
  const form = document.getElementById("drop-form");
  const zone = document.getElementById("drop-zone");
  const input = document.getElementById("file-input");
  const message = document.getElementById("drop-message");
  const maxBytes = Number(form.dataset.maxBytes);

  function send() {
    const file = input.files[0];
    if (!file) return;
    if (maxBytes && file.size > maxBytes) {
      message.textContent = "This file is over the size limit of this server.";
      message.hidden = false;
      return;
    }
    form.submit();
  }
  input.addEventListener("change", send);
  ["dragenter", "dragover"].forEach((name) => zone.addEventListener(name, (event) => {
    event.preventDefault();
    zone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((name) => zone.addEventListener(name, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    send();
  });
})();
