// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Footprint units are checked against the server's own parser as you type.
  function checkUnit(input) {
    var message = document.getElementById("e-" + input.name);
    var help = document.getElementById("h-" + input.name);
    var value = input.value.trim();
    if (!value) { input.setCustomValidity(""); if (message) { message.hidden = true; } return; }
    fetch("/ui/units/check?unit=" + encodeURIComponent(value), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (result) {
        if (input.value.trim() !== value) { return; } // the user typed on
        if (result.ok) {
          input.setCustomValidity("");
          input.removeAttribute("aria-invalid");
          if (message) { message.hidden = true; message.textContent = ""; }
          if (help) { help.textContent = "✓ " + result.unit + " · " + result.family; }
        } else {
          var text = input.getAttribute("data-unit-bad") || result.message;
          input.setCustomValidity(text);
          input.setAttribute("aria-invalid", "true");
          if (message) { message.hidden = false; message.textContent = text; }
        }
      })
      .catch(function () { /* offline: the server validates on submit anyway */ });
  }

  // Filter forms update the results region in place (the plain form submit still works without JS).
  var pending = null; // only the latest refinement's answer is shown
  function refresh(form) {
    var target = document.querySelector(form.getAttribute("data-refresh"));
    if (!target) { form.submit(); return; }
    var url = form.action.split("?")[0] + "?" + new URLSearchParams(new FormData(form)).toString();
    if (pending) { pending.abort(); }
    pending = new AbortController();
    target.setAttribute("aria-busy", "true");
    target.classList.add("loading");
    fetch(url, { headers: { Accept: "text/html" }, signal: pending.signal })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.querySelector(form.getAttribute("data-refresh"));
        var current = document.querySelector(form.getAttribute("data-refresh"));
        if (fresh && current) { current.replaceWith(fresh); } else { window.location.assign(url); }
        history.replaceState(null, "", url);
      })
      .catch(function (error) { if (error.name !== "AbortError") { window.location.assign(url); } });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-unit-check]").forEach(function (input) {
      var timer;
      input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(function () { checkUnit(input); }, 200); });
      if (input.value) { checkUnit(input); }
    });
    document.querySelectorAll("form[data-refresh]").forEach(function (form) {
      form.addEventListener("change", function (event) {
        if (event.target.matches("[data-unit-check]") && !event.target.checkValidity()) { return; }
        refresh(form);
      });
      form.addEventListener("submit", function (event) { event.preventDefault(); refresh(form); });
    });
    // A bill of materials: each line's unit is checked against the units its kind is counted in, as it is
    // typed (the server checks again); "add a line" copies the last row, numbered on.
    document.querySelectorAll("[data-units-by-kind]").forEach(function (table) {
      var unitsByKind = JSON.parse(table.getAttribute("data-units-by-kind"));
      function checkLine(row) {
        var input = row.querySelector("[data-line-unit]");
        var error = row.querySelector("[data-unit-error]");
        var known = unitsByKind[row.querySelector("select").value] || [];
        var value = input.value.trim().toLowerCase();
        var fits = !value || known.some(function (unit) { return unit.toLowerCase() === value; });
        var text = fits ? "" : input.getAttribute("data-unit-bad") + " " + known.join(", ");
        input.setCustomValidity(text);
        if (fits) { input.removeAttribute("aria-invalid"); } else { input.setAttribute("aria-invalid", "true"); }
        error.hidden = fits;
        error.textContent = text;
      }
      function onEdit(event) {
        var row = event.target.closest("[data-bom-line]");
        if (row) { checkLine(row); }
      }
      table.addEventListener("input", onEdit);
      table.addEventListener("change", onEdit);
      table.querySelectorAll("[data-bom-line]").forEach(checkLine);
      var add = table.closest("form").querySelector("[data-add-line]");
      if (!add) { return; }
      add.addEventListener("click", function () {
        var rows = table.querySelectorAll("[data-bom-line]");
        var copy = rows[rows.length - 1].cloneNode(true);
        copy.querySelectorAll("[name]").forEach(function (field) {
          field.name = field.name.replace(/^line-\d+-/, "line-" + rows.length + "-");
          if (field.tagName === "INPUT") { field.value = ""; }
        });
        rows[rows.length - 1].parentNode.appendChild(copy);
        checkLine(copy);
        copy.querySelector("input").focus();
      });
    });
    // The language switch returns to the page as it is now (refinements applied in place included).
    document.querySelectorAll("form[action='/ui/language']").forEach(function (form) {
      form.addEventListener("submit", function () {
        form.querySelector("input[name=next]").value = window.location.pathname + window.location.search;
      });
    });
    // A form being sent shows it and cannot be sent twice.
    document.querySelectorAll("form[data-busy]").forEach(function (form) {
      form.addEventListener("submit", function () {
        var button = form.querySelector("button[type=submit]");
        if (button) { button.disabled = true; button.classList.add("busy"); }
        form.setAttribute("aria-busy", "true");
      });
    });
    // On a phone the filters follow the results (app.css), folded: the results are what was asked for.
    if (window.matchMedia("(max-width: 760px)").matches) {
      document.querySelectorAll("details[data-fold-on-phone]").forEach(function (details) {
        details.open = false;
      });
    }
    // A copy button (shown only where the clipboard can be written): a new key is shown once.
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      if (!navigator.clipboard) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        var source = document.querySelector(button.getAttribute("data-copy"));
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          button.textContent = button.getAttribute("data-copied");
        });
      });
    });
    document.querySelectorAll("[data-confirm]").forEach(function (element) {
      element.addEventListener("click", function (event) {
        if (!window.confirm(element.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  });
})();
