// Vendor formula (Node): crypto.createHmac("sha256", secret).update(identifier).digest("hex")
const crypto = require("crypto");
const fs = require("fs");
const inputs = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
inputs.secrets.forEach((secret, s) => {
  inputs.identifiers.forEach((identifier, i) => {
    const sig = crypto.createHmac("sha256", secret).update(identifier).digest("hex");
    console.log(`${s}\t${i}\t${sig}`);
  });
});
