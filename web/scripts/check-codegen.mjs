// Regenerates src/gql/ into a scratch copy and fails if it differs from the committed one,
// so a schema or document change without `npm run codegen` is caught in CI.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const generated = "src/gql";
const backup = mkdtempSync(join(tmpdir(), "tracewire-gql-"));
cpSync(generated, backup, { recursive: true });
let stale;
try {
  execFileSync("npx", ["graphql-codegen", "--config", "codegen.ts", "--silent"], {
    stdio: "inherit",
  });
  const names = new Set([...readdirSync(generated), ...readdirSync(backup)]);
  stale = [...names].filter((name) => {
    const read = (dir) => {
      try {
        return readFileSync(join(dir, name), "utf8");
      } catch {
        return null;
      }
    };
    return read(generated) !== read(backup);
  });
} finally {
  // Leave the tree as it was: the check reports, it does not fix.
  rmSync(generated, { recursive: true, force: true });
  cpSync(backup, generated, { recursive: true });
  rmSync(backup, { recursive: true, force: true });
}
if (stale.length > 0) {
  console.error(`src/gql is stale (${stale.join(", ")}): run \`npm run codegen\` and commit it`);
  process.exit(1);
}
console.log("src/gql is current");
