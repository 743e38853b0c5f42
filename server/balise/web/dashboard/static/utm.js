// The link form's UTM builder: shows the destination readers will be sent to, live, as the
// server builds it (links/controls.py with_params): the UTM values replace the destination's
// own parameters of the same name, the others keep their place and spelling.
(function () {
  "use strict";
  var box = document.getElementById("utm-final");
  var out = document.getElementById("utm-final-url");
  var target = document.getElementById("f-url");
  var inputs = document.querySelectorAll("[data-utm]");
  if (!box || !out || !target) return;

  function encode(value) {  // Python's quote(value, safe=""): !'()* encoded too
    return encodeURIComponent(value).replace(/[!'()*]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }
  function nameOf(pair) {
    var name = pair.split("=")[0].replace(/\+/g, " ");
    try { return decodeURIComponent(name); } catch (e) { return name; }
  }
  function finalUrl() {
    var url = target.value.trim();
    if (!url) return "";
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(url) && url.charAt(0) !== "/") url = "https://" + url;
    var added = [];
    inputs.forEach(function (input) {
      var value = input.value.trim();
      if (value) added.push([input.getAttribute("data-utm"), value]);
    });
    if (!added.length) return url;
    var hash = url.indexOf("#");
    var fragment = hash >= 0 ? url.slice(hash) : "";
    var base = hash >= 0 ? url.slice(0, hash) : url;
    var q = base.indexOf("?");
    var path = q >= 0 ? base.slice(0, q) : base;
    var query = q >= 0 ? base.slice(q + 1) : "";
    var names = added.map(function (p) { return p[0]; });
    var kept = query.split("&").filter(function (part) {
      return part && names.indexOf(nameOf(part)) < 0;
    });
    added.forEach(function (p) { kept.push(encode(p[0]) + "=" + encode(p[1])); });
    return path + "?" + kept.join("&") + fragment;
  }
  function update() {
    var url = finalUrl();
    out.textContent = url;
    box.hidden = !url;
  }
  target.addEventListener("input", update);
  inputs.forEach(function (input) { input.addEventListener("input", update); });
  update();
})();
