// Every installed package must declare support for the Node.js running here (machines run 20):
// a dependency that moved to `node >= 22` fails here, in CI, rather than in production.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const version = process.versions.node;
const bad = [];
for (const [path, info] of Object.entries(lock.packages ?? {})) {
  if (!path || info.dev && process.env.CHECK_ENGINES_PROD_ONLY) continue;
  const range = info.engines?.node;
  if (range && !semver.satisfies(version, range, { includePrerelease: true })) bad.push(`${path.replace(/^node_modules\//, '')} needs node ${range}`);
}
if (bad.length) {
  console.error(`packages that do not declare support for node ${version}:\n  ${bad.join('\n  ')}`);
  process.exit(1);
}
console.log(`engines: all ${Object.keys(lock.packages).length - 1} locked packages support node ${version}`);
