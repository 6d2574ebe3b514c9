// The source tree's layers: capabilities at the bottom, then the three roles, then the front ends that serve a
// role to users (HTTP APIs, the apps' gateway, batches), then the daemon's wiring and the CLI. A module imports only
// its own folder and the layers below it, so a reader finds a job's failover in src/aggregator and its resume in
// the role that resumes it, and a capability (payments, verification, storage...) can be tested without a daemon.
// Test files are exempt: they start daemons to prove a capability against real parts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const sourceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

const ROLES = ['client', 'aggregator', 'provider'];
const FRONT_ENDS = ['api', 'app-gateway', 'batch'];
const LAYER_OF: Record<string, number> = {
  ...Object.fromEntries(ROLES.map((folder) => [folder, 1])),
  ...Object.fromEntries(FRONT_ENDS.map((folder) => [folder, 2])),
  node: 3,
  cli: 4,
};
const layerOf = (folder: string): number => LAYER_OF[folder] ?? 0;

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.contract.ts') ? [path] : [];
  });
}

interface SourceModule {
  path: string;
  text: string;
}

/** The top folder under src/ of each relative module a file imports. */
function importedFolders(module: SourceModule): string[] {
  const specifiers = [...module.text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((match) => match[1]!);
  return specifiers.map((specifier) => relative(sourceRoot, resolve(dirname(module.path), specifier)).split('/')[0]!);
}

/** Every import that reaches a layer above its own, or a sibling role, as "file -> folder/" lines. */
function layerViolations(modules: readonly SourceModule[]): string[] {
  return modules.flatMap((module) => {
    const folder = relative(sourceRoot, module.path).split('/')[0]!;
    return importedFolders(module)
      .filter((target) => target !== folder && target !== '..')
      .filter((target) => layerOf(target) > layerOf(folder) || (layerOf(folder) === 1 && layerOf(target) === 1))
      .map((target) => `${relative(sourceRoot, module.path)} -> ${target}/`);
  });
}

test('no module imports a layer above its own, and the roles do not import each other', () => {
  const modules = sourceFiles(sourceRoot).map((path) => ({ path, text: readFileSync(path, 'utf8') }));
  assert.ok(modules.length > 100, `read ${modules.length} modules under ${sourceRoot}`);
  assert.deepEqual(layerViolations(modules), []);
});

test('the rule finds a capability importing a role, a role importing the wiring and one role importing another', () => {
  const at = (path: string, text: string): SourceModule => ({ path: join(sourceRoot, path), text });
  const modules = [
    at('payments/settle.ts', "import { AggregatorService } from '../aggregator/index.js';"),
    at('aggregator/match.ts', "import { NodeDaemon } from '../node/index.js';\nimport type { Price } from '../protocol/index.js';"),
    at('client/run.ts', "import { ProviderService } from '../provider/provider-service.js';"),
    at('api/routes.ts', "import { runJob } from '../client/index.js';\nimport { x } from './parts.js';"),
    at('node/daemon.ts', "import { serveApi } from '../api/index.js';"),
  ];
  assert.deepEqual(layerViolations(modules), ['payments/settle.ts -> aggregator/', 'aggregator/match.ts -> node/', 'client/run.ts -> provider/']);
});
