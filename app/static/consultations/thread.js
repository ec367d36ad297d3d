// Consultations: let htmx swap in the server's answer for form errors and refusals (422, 409, 429, 403),
// so messages appear next to the form instead of nothing happening. No inline script (strict CSP).
document.addEventListener("htmx:beforeSwap", function (event) {
  var status = event.detail.xhr.status;
  if (status === 422 || status === 409 || status === 429 || status === 403 || status === 404) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
