// Checks an individual number's check digit as it is typed (domain R39); the server checks
// it again. Nothing is sent anywhere: the result is only written next to the field, and the
// server's error on the number sent before is removed once the number is changed.
(function () {
  "use strict";
  function compact(text) {
    // Full-width digits to ASCII; spaces and hyphens (both widths) dropped.
    return text.replace(/[０-９]/g, function (c) {
      return String.fromCharCode(c.charCodeAt(0) - 0xfee0);
    }).replace(/[\s\-－ー‐−]/g, "");
  }
  function checkDigit(digits) {
    var sum = 0;
    for (var n = 1; n <= 11; n++) {
      var p = Number(digits.charAt(11 - n));
      var q = n <= 6 ? n + 1 : n - 5;
      sum += p * q;
    }
    var r = sum % 11;
    return r <= 1 ? 0 : 11 - r;
  }
  function verdict(text) {
    var digits = compact(text);
    if (digits === "") return "";
    if (!/^\d+$/.test(digits)) return "chars";
    if (digits.length !== 12) return "short";
    return checkDigit(digits) === Number(digits.charAt(11)) ? "ok" : "bad";
  }
  document.addEventListener("DOMContentLoaded", function () {
    var out = document.getElementById("number_check");
    var input = document.querySelector("input[data-mynumber]");
    if (!out || !input) return;
    function show() {
      var v = verdict(input.value);
      out.textContent = v ? out.dataset[v] : "";
      out.className = v === "ok" ? "ok" : v ? "error" : "muted";
      input.setAttribute("aria-invalid", v && v !== "ok" ? "true" : "false");
    }
    // The server's verdict on the number sent before (shown after a refused submit) no longer
    // holds once the field changes: dropped then, so that it never contradicts the check above.
    function dropServerError() {
      var error = document.getElementById(input.id + "_error");
      if (error) error.remove();
    }
    input.addEventListener("input", show);
    input.addEventListener("input", dropServerError, { once: true });
    if (input.value) show(); // typed before this script was ready
  });
})();
