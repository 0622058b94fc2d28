// Validate glTF/GLB files with the Khronos glTF validator and print one JSON summary per file.
// Usage: node validate.mjs FILE...   Exit status: 0 when every file has 0 errors and 0 warnings, else 1.
import { readFile } from "node:fs/promises";
import validator from "gltf-validator";

let failed = false;
for (const path of process.argv.slice(2)) {
  const data = new Uint8Array(await readFile(path));
  const report = await validator.validateBytes(data, { maxIssues: 100 });
  const { numErrors, numWarnings, numInfos, numHints } = report.issues;
  const messages = report.issues.messages
    .filter((m) => m.severity <= 1)
    .map((m) => ({ code: m.code, message: m.message, pointer: m.pointer, severity: m.severity }));
  console.log(JSON.stringify({ path, errors: numErrors, warnings: numWarnings, infos: numInfos, hints: numHints, messages }));
  if (numErrors > 0 || numWarnings > 0) failed = true;
}
process.exit(failed ? 1 : 0);
