// Runs the inline scripts of rendered pages in a fresh JS realm each, the way a
// browser would run them in order, and reports what reached prefinery().
// Input (stdin): JSON array of pages, each an array of inline script sources.
// Output (stdout): JSON array of {calls, pwned, error} per page, where calls are
// the argument lists queued by Prefinery's stub (window.prefinery.q).
const vm = require("vm");
const pages = JSON.parse(require("fs").readFileSync(0, "utf8"));
const results = pages.map((scripts) => {
  const sandbox = {};
  sandbox.window = sandbox;
  const ctx = vm.createContext(sandbox);
  try {
    for (const src of scripts) vm.runInContext(src, ctx, { timeout: 1000 });
  } catch (e) {
    return { calls: [], pwned: sandbox.pwned, error: String(e) };
  }
  const q = (sandbox.prefinery && sandbox.prefinery.q) || [];
  return { calls: q.map((args) => Array.from(args)), pwned: sandbox.pwned, error: "" };
});
process.stdout.write(JSON.stringify(results));
