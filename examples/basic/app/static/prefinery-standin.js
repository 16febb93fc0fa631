// Offline stand-in for Prefinery's widget (examples/basic only). It takes the
// calls queued by the embed snippet's stub, records every prefinery(...) call in
// window.prefineryCalls, shows them on the page, and answers callbacks with a
// placeholder so pages relying on them keep working. It sends nothing anywhere.
(function () {
  var calls = (window.prefineryCalls = []);
  function describe(arg) {
    return typeof arg === "function" ? "function () {…}" : JSON.stringify(arg);
  }
  function show() {
    var el = document.getElementById("prefinery-calls");
    if (!el) return;
    el.textContent = calls.length
      ? calls.map(function (c) { return "prefinery(" + c.map(describe).join(", ") + ")"; }).join("\n")
      : "(no calls yet)";
  }
  function record(args) {
    var list = Array.prototype.slice.call(args);
    calls.push(list);
    show();
    for (var i = 0; i < list.length; i++) {
      if (typeof list[i] === "function") {
        setTimeout(list[i], 0, { stand_in: true });
        break;
      }
    }
  }
  var queued = (window.prefinery && window.prefinery.q) || [];
  window.prefinery = function () { record(arguments); };
  for (var i = 0; i < queued.length; i++) record(queued[i]);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", show);
  else show();
})();
