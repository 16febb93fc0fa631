// Offline stand-in for Prefinery's widget (package standin), for development
// and tests. It takes the calls the embed snippet queued, records every
// prefinery(...) call in window.prefineryCalls, lists them in a panel at the
// bottom of the page, renders a fake referral page where the page asks for
// one (embedReferralPage in its element, popupReferralPage in the panel) and
// nowhere else, answers callbacks with a placeholder, and reports each call to the Go
// handler that served it (same origin: no CSP change needed). It sends nothing
// anywhere else.
(function () {
  var script = document.currentScript;
  var base = script && script.src ? script.src.replace(/[^/]*$/, "") : "/prefinery-standin/";
  var calls = (window.prefineryCalls = []);

  function describe(arg) {
    return typeof arg === "function" ? "function () {…}" : JSON.stringify(arg);
  }
  function panel() {
    var el = document.getElementById("prefinery-standin-panel");
    if (!el && document.body) {
      el = document.createElement("pre");
      el.id = "prefinery-standin-panel";
      el.className = "prefinery-standin";
      document.body.appendChild(el);
    }
    return el;
  }
  var popup = null;     // the parameters of the page's popupReferralPage call, shown in the panel
  var verdicts = [];    // per call: whether its signature verifies under the app's secret
  function show() {
    var el = panel();
    if (!el) return;
    el.textContent = "Prefinery stand-in: " + (calls.length
      ? calls.map(function (c, i) { return "prefinery(" + c.map(describe).join(", ") + ")" + (verdicts[i] || ""); }).join("\n")
      : "(no calls yet)");
    var row = document.createElement("div");
    row.className = "prefinery-standin-actions";
    row.style.marginTop = "0.75em";
    el.appendChild(row);
    var send = document.createElement("button");
    send.type = "button";
    send.id = "prefinery-standin-send-webhook";
    send.textContent = "Send a test webhook";
    send.addEventListener("click", function () {
      send.disabled = true;
      fetch(base + "webhook", { method: "POST" })
        .then(function (res) { return res.json(); })
        .then(function (r) { send.textContent = "Webhook answered " + (r.status || r.error); })
        .catch(function (e) { send.textContent = "Webhook failed: " + e; })
        .then(function () { send.disabled = false; });
    });
    row.appendChild(send);
    if (popup) { // the live widget opens a popup; the stand-in shows it in the panel
      var slot = document.createElement("div");
      el.appendChild(slot);
      referralPage(popup, slot);
    }
  }
  function referralPage(params, target) {
    target = target || (params && params.dom_id && document.getElementById(params.dom_id));
    if (!target) return;
    var page = document.createElement("div");
    page.className = "prefinery-standin-referral-page";
    page.setAttribute("data-email", params.email || "");
    page.textContent = "Referral page for " + (params.email || params.referral_code || params.id || "?") + " (offline stand-in)";
    target.replaceChildren(page);
  }
  function report(list, index) {
    var data = list.filter(function (a) { return typeof a !== "function"; });
    try {
      fetch(base + "calls", { method: "POST", keepalive: true, headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) })
        .then(function (res) { return res.status === 200 ? res.json() : null; })
        .then(function (r) {
          if (!r || !r.signature) return;
          verdicts[index] = r.signature === "verified"
            ? "  \u2713 the signature verifies under the app's secret"
            : "  \u2717 the signature does NOT verify under the app's secret: Prefinery would answer 403";
          show();
        })
        .catch(function () { /* recording is best effort */ });
    } catch (e) { /* recording is best effort */ }
  }
  function record(args) {
    var list = Array.prototype.slice.call(args);
    calls.push(list);
    // A referral page only where the page asks for one: authenticateUser
    // alone shows none (a page that never embeds one shows none).
    if (list[0] === "embedReferralPage") referralPage(list[1]);
    if (list[0] === "popupReferralPage") popup = list[1] || {};
    report(list, calls.length - 1);
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
  function start() {
    for (var i = 0; i < queued.length; i++) record(queued[i]);
    show();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
