// The reference MJML compiler (npm `mjml`, pinned in package.json), warm in one process.
// Usage: node benchmarks/mjml_reference.js FILE.mjml ITERATIONS
// Prints one JSON line: {"version", "ms_per_compile", "html_bytes", "errors"}.
"use strict";

const fs = require("fs");
const mjml2html = require("mjml");
const { version } = require("mjml/package.json");

const [file, iterationsText] = process.argv.slice(2);
const source = fs.readFileSync(file, "utf8");
const iterations = Number(iterationsText || "100");
const options = { validationLevel: "soft", keepComments: false };

let result = mjml2html(source, options);
for (let i = 0; i < 20; i += 1) {
  result = mjml2html(source, options);
}

const start = process.hrtime.bigint();
for (let i = 0; i < iterations; i += 1) {
  result = mjml2html(source, options);
}
const elapsed = Number(process.hrtime.bigint() - start) / 1e6;

process.stdout.write(
  JSON.stringify({
    version,
    ms_per_compile: elapsed / iterations,
    html_bytes: Buffer.byteLength(result.html, "utf8"),
    errors: result.errors.map((error) => error.formattedMessage),
  }) + "\n",
);
