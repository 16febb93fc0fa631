// Runs widget.js in Node against a small fake DOM, for the stand-in's Go
// tests. stdin: a JSON list of pages, each {"ids": [element ids the page
// has], "calls": [[name, params], …]} (queued before the loader runs, as the
// kit's stub queues them). stdout: per page, the panel's text and every
// referral page the stand-in rendered, with the id of the element holding it
// ("panel" for the panel).
"use strict";
const fs = require("fs");
const path = require("path");
const vm = require("vm");

const source = fs.readFileSync(path.join(__dirname, "..", "widget.js"), "utf8");
const pages = JSON.parse(fs.readFileSync(0, "utf8"));

function element(tag) {
  const el = {
    tagName: tag.toUpperCase(), id: "", className: "", style: {}, attributes: {},
    children: [], parentElement: null, text: "",
    get textContent() { return this.text + this.children.map((c) => c.textContent).join(""); },
    set textContent(v) { this.text = String(v); this.children = []; },
    setAttribute(k, v) { this.attributes[k] = String(v); },
    appendChild(c) { c.parentElement = this; this.children.push(c); return c; },
    replaceChildren(...cs) { this.text = ""; this.children = []; cs.forEach((c) => this.appendChild(c)); },
    addEventListener() {},
  };
  return el;
}

function walk(el, fn) {
  fn(el);
  el.children.forEach((c) => walk(c, fn));
}

const results = [];
for (const page of pages) {
  const body = element("body");
  for (const id of page.ids) body.appendChild(element("div")).id = id;
  const document = {
    body, readyState: "complete",
    currentScript: { src: "http://app.test/prefinery-standin/widget.js" },
    createElement: element,
    getElementById(id) {
      let found = null;
      walk(body, (el) => { if (!found && el.id === id) found = el; });
      return found;
    },
    addEventListener() {},
  };
  const queue = page.calls.slice();
  const sandbox = {
    document,
    fetch: () => Promise.resolve({ status: 204, json: () => Promise.resolve(null) }),
    setTimeout: () => {},
    JSON, Array,
  };
  sandbox.window = sandbox;
  sandbox.prefinery = Object.assign(function () {}, { q: queue });
  vm.runInNewContext(source, sandbox);

  const panel = document.getElementById("prefinery-standin-panel");
  const referralPages = [];
  walk(body, (el) => {
    if (el.className !== "prefinery-standin-referral-page") return;
    let holder = el.parentElement;
    while (holder && !holder.id) holder = holder.parentElement;
    referralPages.push({ in: holder && holder.id === "prefinery-standin-panel" ? "panel" : holder && holder.id, text: el.textContent });
  });
  results.push({ panel: panel ? panel.textContent : null, referralPages });
}
process.stdout.write(JSON.stringify(results));
