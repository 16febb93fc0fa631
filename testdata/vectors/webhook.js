// Webhook formula (Node): crypto.createHmac("sha256", secret).update(t + "." + body).digest("hex")
const crypto = require("crypto");
const fs = require("fs");
const inputs = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
inputs.secrets.forEach((secret, s) => inputs.timestamps.forEach((t, ti) => inputs.bodies.forEach((body, b) => {
  console.log(`${s}\t${ti}\t${b}\t${crypto.createHmac("sha256", secret).update(t + "." + body).digest("hex")}`);
})));
