// Balise dashboard: small enhancements; every page works without this script.
(function () {
  "use strict";

  // Remember the browser's time zone so dates and stats are shown in it.
  var TZ_COOKIE = "balise_tz";
  function cookie(name) {
    var found = document.cookie.split("; ").filter(function (c) { return c.indexOf(name + "=") === 0; })[0];
    return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
  }
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && !cookie(TZ_COOKIE)) {
      document.cookie = TZ_COOKIE + "=" + zone + "; path=/; max-age=31536000; samesite=lax";
      var shown = document.documentElement.getAttribute("data-tz");
      if (shown && shown !== zone && document.body.hasAttribute("data-tz-reload") && cookie(TZ_COOKIE)) {
        location.reload();
      }
    }
  } catch (e) { /* no Intl: times stay in UTC, the account page offers a choice */ }

  // One-click copy of short URLs and new API keys.
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "sr-only";
      document.body.appendChild(area);
      area.select();
      var ok = document.execCommand("copy");
      document.body.removeChild(area);
      (ok ? resolve : reject)();
    });
  }
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.hidden = false;
    var label = button.textContent;
    button.addEventListener("click", function () {
      copyText(button.getAttribute("data-copy")).then(function () {
        button.textContent = button.getAttribute("data-copied") || label;
        button.classList.add("done");
        setTimeout(function () { button.textContent = label; button.classList.remove("done"); }, 1800);
      });
    });
  });

  // Read-only copy fields select their whole text on focus.
  document.querySelectorAll(".copy input[readonly]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
})();
