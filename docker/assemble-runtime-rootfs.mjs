// Plans and writes the root filesystem of the local runtime image (see scripts/build-runtime-image.sh): the node
// binary, the shared libraries it and llama.cpp link against, the worker's compiled modules and the production
// packages they import. Plain JavaScript so that it runs before and apart from the TypeScript build.
//
//   node assemble-runtime-rootfs.mjs hash <repo-root>          prints the content hash of the planned tree
//   node assemble-runtime-rootfs.mjs write <repo-root> <dir>   writes the tree into <dir> (which must be empty)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Where the worker lives inside the image; src/execution/execution-templates.ts names the same paths. */
const APP_DIR = '/app';
/** The per-job worker and the warm engine (one process serving many jobs of a model). */
const WORKER_ENTRIES = ['dist/src/execution/container-worker.js', 'dist/src/execution/engine-worker.js'];
const NODE_TARGET = '/usr/local/bin/node';
const RUNTIME_USER = { name: 'infernet', uid: 10001, gid: 10001 };
/** Files no running worker reads: sources of a llama.cpp build from scratch, type declarations, source maps. */
const SKIPPED_FILES = [/\.d\.ts$/, /\.d\.mts$/, /\.d\.cts$/, /\.map$/, /\.tsbuildinfo$/, /(^|\/)node-llama-cpp\/llama\/(gitRelease\.bundle|addon|cmake|toolchains|xpack|patches|profiles)(\/|$)/];

const [mode, repoRootArgument, outDirArgument] = process.argv.slice(2);
if (!mode || !repoRootArgument || (mode === 'write' && !outDirArgument) || !['hash', 'write'].includes(mode)) {
  console.error('usage: assemble-runtime-rootfs.mjs hash <repo-root> | write <repo-root> <dir>');
  process.exit(2);
}
const repoRoot = resolve(repoRootArgument);

const plan = planRootfs(repoRoot);
if (mode === 'hash') {
  process.stdout.write(`${hashPlan(plan)}\n`);
} else {
  writeRootfs(plan, resolve(outDirArgument));
}

/**
 * The tree as a list of entries, sorted by target path: a file copied from a source, or one written from text.
 * @returns {{ target: string, source?: string, text?: string, mode: number }[]}
 */
function planRootfs(root) {
  const entries = new Map();
  const addFile = (target, source, mode) => entries.set(target, { target, source, mode: mode ?? (statSync(source).mode & 0o111 ? 0o755 : 0o644) });
  const addText = (target, text, mode = 0o644) => entries.set(target, { target, text, mode });

  const workers = WORKER_ENTRIES.map((entry) => join(root, entry));
  for (const worker of workers) if (!existsSync(worker)) fail(`${worker} is missing: build the TypeScript first (npm run build)`);

  const nodeBinary = findNodeBinary(root);
  addFile(NODE_TARGET, nodeBinary, 0o755);

  const { modules, packages } = moduleClosure(root, workers);
  for (const module of modules) addFile(join(APP_DIR, relative(root, module)), module, 0o644);
  addText(join(APP_DIR, 'package.json'), `${JSON.stringify({ name: 'infernet-runtime', private: true, type: 'module' }, null, 2)}\n`);

  const nativeFiles = [];
  for (const packageDir of packageClosure(root, packages)) {
    for (const file of listFiles(packageDir)) {
      const target = join(APP_DIR, relative(root, file));
      if (SKIPPED_FILES.some((pattern) => pattern.test(target))) continue;
      addFile(target, file);
      if (/\.(node|so(\.\d+)*)$/.test(file)) nativeFiles.push(file);
    }
  }

  for (const library of sharedLibraries([nodeBinary, ...nativeFiles])) {
    if (library.startsWith(root)) continue;
    addFile(library, realpathSync(library), 0o755);
  }

  addText('/etc/passwd', `root:x:0:0:root:/root:/sbin/nologin\n${RUNTIME_USER.name}:x:${RUNTIME_USER.uid}:${RUNTIME_USER.gid}:${RUNTIME_USER.name}:/tmp:/sbin/nologin\n`);
  addText('/etc/group', `root:x:0:\n${RUNTIME_USER.name}:x:${RUNTIME_USER.gid}:\n`);
  return [...entries.values()].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
}

function findNodeBinary(root) {
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
  return existsSync(pinned) ? realpathSync(pinned) : realpathSync(process.execPath);
}

/** The worker's own compiled modules (relative imports, followed) and the bare package names they import. */
function moduleClosure(root, entries) {
  const modules = new Set();
  const packages = new Set();
  const pending = [...entries];
  const specifiers = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  while (pending.length) {
    const file = pending.pop();
    if (modules.has(file)) continue;
    modules.add(file);
    for (const match of readFileSync(file, 'utf8').matchAll(specifiers)) {
      const specifier = match[1] ?? match[2] ?? match[3];
      if (specifier.startsWith('node:')) continue;
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier);
        if (!existsSync(target)) fail(`${relative(root, file)} imports ${specifier}, which is not built`);
        pending.push(target);
      } else {
        packages.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]);
      }
    }
  }
  return { modules: [...modules], packages: [...packages] };
}

/** Package folders needed at run time: dependencies and installed optional dependencies, resolved as Node does. */
function packageClosure(root, names) {
  const found = new Set();
  const pending = names.map((name) => ({ name, from: root }));
  while (pending.length) {
    const { name, from } = pending.pop();
    const dir = resolvePackage(name, from, root);
    if (!dir) fail(`package ${name} (needed from ${relative(root, from) || '.'}) is not installed: run npm ci`);
    if (found.has(dir)) continue;
    found.add(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    for (const dependency of Object.keys(manifest.dependencies ?? {})) pending.push({ name: dependency, from: dir });
    for (const dependency of Object.keys(manifest.optionalDependencies ?? {})) {
      if (resolvePackage(dependency, dir, root)) pending.push({ name: dependency, from: dir });
    }
  }
  return [...found];
}

function resolvePackage(name, from, root) {
  for (let dir = from; dir.startsWith(root); dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root) break;
  }
  return undefined;
}

/** Every file below a package, leaving out its nested node_modules (those are packages of their own). */
function listFiles(dir) {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') files.push(...listFiles(path));
    } else if (entry.isFile()) {
      files.push(path);
    } else if (entry.isSymbolicLink() && statSync(path).isFile()) {
      files.push(path);
    }
  }
  return files;
}

/** The absolute paths `ldd` resolves for these binaries, the dynamic loader included. */
function sharedLibraries(binaries) {
  const libraries = new Set();
  for (const binary of binaries) {
    let output;
    try {
      output = execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      fail(`ldd ${binary} failed: ${error.message}`);
    }
    for (const line of output.split('\n')) {
      const match = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
      if (match) libraries.add(match[1]);
      if (/not found/.test(line)) fail(`${binary} needs a library that is not installed: ${line.trim()}`);
    }
  }
  return [...libraries];
}

function hashPlan(entries) {
  const hash = createHash('sha256');
  for (const entry of entries) {
    hash.update(`${entry.target}\0${entry.mode.toString(8)}\0`);
    hash.update(entry.text ?? readFileSync(entry.source));
    hash.update('\0');
  }
  return hash.digest('hex');
}

function writeRootfs(entries, outDir) {
  // Everything must be readable by the unprivileged runtime user, whatever the caller's umask.
  process.umask(0o022);
  mkdirSync(outDir, { recursive: true });
  if (readdirSync(outDir).length) fail(`${outDir} is not empty`);
  for (const entry of entries) {
    const target = join(outDir, entry.target);
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    if (entry.text !== undefined) writeFileSync(target, entry.text);
    else copyFileSync(entry.source, target);
    chmodSync(target, entry.mode);
  }
  // Mount points: the model is bind-mounted under /models, /tmp is a tmpfs; both exist in the image so that a
  // read-only root filesystem needs no directory created at start.
  for (const dir of ['tmp', 'models', 'root']) mkdirSync(join(outDir, dir), { recursive: true });
  chmodSync(join(outDir, 'tmp'), 0o1777);
  chmodSync(join(outDir, 'root'), 0o700);
}

function fail(message) {
  console.error(`assemble-runtime-rootfs: ${message}`);
  process.exit(1);
}
