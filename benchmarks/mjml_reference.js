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

// The fastest of five rounds: the figure least disturbed by other work on the machine.
let best = Infinity;
for (let round = 0; round < 5; round += 1) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) {
    result = mjml2html(source, options);
  }
  best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6 / iterations);
}

process.stdout.write(
  JSON.stringify({
    version,
    ms_per_compile: best,
    html_bytes: Buffer.byteLength(result.html, "utf8"),
    errors: result.errors.map((error) => error.formattedMessage),
  }) + "\n",
);
