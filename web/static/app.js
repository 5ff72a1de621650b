// Progress for long operations. With htmx, a form's hx-indicator shows while the request runs and
// the upload's progress fills its <progress>; without htmx (the script missing or off), a form
// marked data-busy shows the same indicator and disables its button while the page is sent.
(function () {
  "use strict";
  document.addEventListener("htmx:xhr:progress", function (event) {
    var detail = event.detail || {};
    if (!detail.lengthComputable || !detail.total) return;
    var form = event.target.closest ? event.target.closest("form") : null;
    var bar = form ? form.querySelector("progress") : null;
    if (bar) bar.value = Math.round((detail.loaded / detail.total) * 100);
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-busy") || window.htmx) return;
    form.classList.add("is-sending");
    var button = form.querySelector("button[type='submit']");
    if (button) setTimeout(function () { button.disabled = true; }, 0);
  });
  // Coming back with the browser's Back button shows the form ready again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form.is-sending").forEach(function (form) {
      form.classList.remove("is-sending");
      var button = form.querySelector("button[type='submit']");
      if (button) button.disabled = false;
    });
  });
  // A fieldset marked data-off-when="<checkbox id>" is switched off while that box is ticked
  // (the identity of an anonymous report: nothing typed there is sent). Also after an htmx swap.
  function applyOff() {
    document.querySelectorAll("[data-off-when]").forEach(function (set) {
      var box = document.getElementById(set.getAttribute("data-off-when"));
      if (box) set.disabled = box.checked;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target && event.target.type === "checkbox") applyOff();
  });
  document.addEventListener("DOMContentLoaded", function () { applyOff(); });
  document.addEventListener("htmx:afterSwap", function () { applyOff(); });
  // An error swapped into the page gets the focus, so keyboard and screen-reader users hear it.
  document.addEventListener("htmx:afterSwap", function (event) {
    var alert = event.target.querySelector ? event.target.querySelector("[role='alert']") : null;
    if (alert) {
      if (!alert.hasAttribute("tabindex")) alert.setAttribute("tabindex", "-1");
      alert.focus();
    }
  });
})();
