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

  // Buttons that destroy something ask first (revoking a key, removing a summary).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
  });

  // Read-only copy fields select their whole text on focus.
  document.querySelectorAll(".copy input[readonly]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
})();

// Summary editor: character counts and live previews of the reader page and the hover card.
(function () {
  "use strict";
  var form = document.getElementById("summary-form");
  if (!form) return;
  var reader = document.getElementById("reader-preview");
  var card = document.getElementById("card-preview");
  var nojs = form.querySelectorAll("[data-nojs-only]");
  nojs.forEach(function (el) { el.hidden = true; });

  function paragraphs(text) {
    return text.replace(/\r\n?/g, "\n").split(/\n[ \t]*\n+/).map(function (p) { return p.trim(); })
      .filter(function (p) { return p.length > 0; });
  }
  function hostOf(url) {
    try { return new URL(url).hostname.replace(/^www\./, ""); } catch (e) { return ""; }
  }
  function labelOf(url) {
    try {
      var u = new URL(url);
      return (u.hostname + (u.pathname !== "/" ? u.pathname : "")).replace(/^www\./, "");
    } catch (e) { return url; }
  }
  function value(name) {
    var field = form.elements.namedItem(name);
    return field ? field.value : "";
  }
  function setText(root, key, text) {
    root.querySelectorAll('[data-show="' + key + '"]').forEach(function (el) { el.textContent = text; });
  }
  var target = form.getAttribute("data-target") || "";

  function counts() {
    form.querySelectorAll("[data-count-for]").forEach(function (counter) {
      var field = document.getElementById(counter.getAttribute("data-count-for"));
      var limit = parseInt(counter.getAttribute("data-limit"), 10);
      var length = field.value.trim().length;
      counter.firstElementChild.textContent = String(length);
      counter.classList.toggle("over", length > limit);
    });
  }

  function sections(root) {
    root.querySelectorAll("[data-section]").forEach(function (section) {
      var name = section.getAttribute("data-section");
      var paras = paragraphs(value(name));
      section.hidden = paras.length === 0;
      var holder = section.querySelector('[data-paras="' + name + '"]');
      if (!holder) return;
      holder.textContent = "";
      paras.forEach(function (p) {
        var node = document.createElement("p");
        node.textContent = p;
        holder.appendChild(node);
      });
    });
  }

  function update() {
    var lang = value("lang") === "en" ? "en" : "fr";
    var source = value("source_url").trim() || target;
    [reader, card].forEach(function (root) {
      if (!root) return;
      root.setAttribute("lang", lang);
      setText(root, "title", value("title").replace(/\s+/g, " ").trim());
      setText(root, "teaser", value("teaser").replace(/\s+/g, " ").trim());
      setText(root, "host", hostOf(source));
      setText(root, "source_label", labelOf(source));
      root.querySelectorAll("[data-heading]").forEach(function (h) {
        h.textContent = h.getAttribute("data-" + lang);
      });
      sections(root);
    });
    counts();
  }
  form.addEventListener("input", update);
  form.addEventListener("change", update);

  // Leaving with unsaved changes asks first; sending the form (save, preview, draft) does not.
  var dirty = form.hasAttribute("data-unsaved");
  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (event) {
    if (!dirty) return;
    event.preventDefault();
    event.returnValue = "";
  });
  update();
})();

// Charts: a tooltip with the bucket's numbers on hover or touch (the SVG <title> is the fallback).
(function () {
  "use strict";
  var buckets = document.querySelectorAll(".chart .bucket[data-tip]");
  if (!buckets.length) return;
  var tip = document.createElement("div");
  tip.className = "chart-tip";
  tip.setAttribute("role", "tooltip");
  tip.hidden = true;
  document.body.appendChild(tip);
  function show(event) {
    var bucket = event.currentTarget;
    tip.textContent = bucket.getAttribute("data-tip");
    tip.hidden = false;
    var x = Math.min(event.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    var y = event.clientY - tip.offsetHeight - 12;
    tip.style.left = Math.max(8, x) + "px";
    tip.style.top = (y < 8 ? event.clientY + 18 : y) + "px";
  }
  buckets.forEach(function (bucket) {
    var title = bucket.querySelector("title");
    if (title) title.remove();  // our tooltip replaces the browser's
    bucket.addEventListener("pointermove", show);
    bucket.addEventListener("pointerleave", function () { tip.hidden = true; });
  });
})();

// Live page: poll the server's fresh copy of the live block (see web/dashboard/live.py for
// why polling and not Server-Sent Events). Paused while the tab is hidden.
(function () {
  "use strict";
  var box = document.getElementById("live");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-live-url");
  var every = 1000 * (parseInt(box.getAttribute("data-live-every"), 10) || 5);
  function refresh() {
    if (document.hidden) return;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) box.innerHTML = html; })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }
  setInterval(refresh, every);
})();
