// Every htmx request in the app: show the server's answer when it refuses (422 form errors, 409 conflicts,
// 429 rate limits, 403, 404, 413, 500), instead of htmx's default of doing nothing for an error status.
// Loaded once by base.html; no inline script (strict CSP).
//
// - A re-rendered form fragment (the route answered 422/409/429 with the form and its errors) is swapped in
//   like a success, so each error appears next to its field.
// - The generic error message (templates/errors/_inline.html, marked data-civic-error) is shown just before
//   the form or link that made the request, and the form stays as it is, with what the person typed.
// Then focus moves to the error summary (or the first invalid field), so keyboard and screen-reader users
// land on the message.
(function () {
  "use strict";

  var FORM_STATUSES = [409, 422, 429];
  var pendingFocus = null;

  function findErrorIn(region) {
    if (!region) { return null; }
    return region.querySelector(".error-summary, [data-civic-error]") ||
      region.querySelector("[aria-invalid='true']") ||
      region.querySelector(".error[role='alert'], .error");
  }

  function focusError(el) {
    if (!el) { return; }
    if (!el.matches("a, button, input, select, textarea, [tabindex]")) { el.setAttribute("tabindex", "-1"); }
    el.focus();
    if (el.scrollIntoView) { el.scrollIntoView({block: "nearest"}); }
  }

  function showGenericError(elt, html) {
    var anchor = (elt && elt.closest && (elt.closest("form") || elt)) || document.getElementById("main");
    if (!anchor || !anchor.parentNode) { return; }
    var previous = anchor.previousElementSibling;
    if (previous && previous.hasAttribute("data-civic-error")) { previous.remove(); }
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var message = holder.querySelector("[data-civic-error]");
    if (!message) { return; }
    anchor.parentNode.insertBefore(message, anchor);
    focusError(message);
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var status = detail.xhr ? detail.xhr.status : 0;
    if (status < 400) { return; }
    var html = detail.serverResponse || "";
    if (html.indexOf("data-civic-error") !== -1) {
      detail.shouldSwap = false;
      detail.isError = false;
      showGenericError(detail.requestConfig ? detail.requestConfig.elt : detail.elt, html);
      return;
    }
    if (FORM_STATUSES.indexOf(status) !== -1) {
      detail.shouldSwap = true;
      detail.isError = false;
      pendingFocus = detail.target && detail.target.id ? detail.target.id : null;
    }
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (pendingFocus === null) { return; }
    var region = document.getElementById(pendingFocus);
    pendingFocus = null;
    focusError(findErrorIn(region));
  });

  // A swapped region that marks a heading with data-civic-focus (e.g. the next statement to vote on): focus moves
  // there, so keyboard and screen-reader users continue from the new content.
  document.addEventListener("htmx:afterSettle", function () {
    var target = document.querySelector("[data-civic-focus]");
    if (!target) { return; }
    target.removeAttribute("data-civic-focus");
    if (pendingFocus === null && !target.parentNode.querySelector(".error[role='alert']")) { focusError(target); }
  });

  // A dropped connection: say so next to the form rather than leaving it silently as it was.
  document.addEventListener("htmx:sendError", function (event) {
    var text = document.body.getAttribute("data-network-error");
    if (!text) { return; }
    var div = document.createElement("div");
    div.className = "error-inline";
    div.setAttribute("role", "alert");
    div.setAttribute("data-civic-error", "");
    div.textContent = text;
    showGenericError(event.detail.elt, div.outerHTML);
  });
}());
