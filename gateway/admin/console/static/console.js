// The console's one script (the Content-Security-Policy allows no inline script): an element with
// `data-copy` copies that value to the clipboard when it is activated (click, Enter or Space), as
// seed 001's "Share Rule ID" does, and `#copy-status` says so. A link with it still navigates: the
// message then appears on the page it opens (htmx swaps the page in, hx-boost).
(function () {
  "use strict";
  var message = null;

  function show() {
    var status = document.getElementById("copy-status");
    if (status && message) {
      status.textContent = message;
      message = null;
    }
  }

  document.addEventListener("click", function (event) {
    var element = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
    if (!element || !navigator.clipboard) {
      return; // not a secure context: the id stays on the page to select and copy
    }
    var value = element.getAttribute("data-copy");
    navigator.clipboard.writeText(value).then(
      function () {
        message = "Rule ID " + value + " copied to the clipboard.";
        if (element.tagName !== "A") {
          show();
        }
      },
      function () {
        message = "Copying was refused by the browser: select the rule ID and copy it.";
        show();
      }
    );
  });
  document.addEventListener("htmx:afterSettle", show);
})();
