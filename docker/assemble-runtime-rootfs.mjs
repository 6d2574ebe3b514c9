// Plans and writes the root filesystem of the local runtime image (see scripts/build-runtime-image.sh): the node
// binary, the shared libraries it and llama.cpp link against, the worker's compiled modules and the production
// packages they import. Plain JavaScript so that it runs before and apart from the TypeScript build.
//
//   node assemble-runtime-rootfs.mjs hash <repo-root>          prints the content hash of the planned tree
//   node assemble-runtime-rootfs.mjs write <repo-root> <dir>   writes the tree into <dir> (which must be empty)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

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

const plan = await planRootfs(repoRoot);
if (mode === 'hash') {
  process.stdout.write(`${hashPlan(plan)}\n`);
} else {
  writeRootfs(plan, resolve(outDirArgument));
}

/**
 * The tree as a list of entries, sorted by target path: a file copied from a source, or one written from text.
 * @returns {{ target: string, source?: string, text?: string, mode: number }[]}
 */
async function planRootfs(root) {
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
  const gpuBuilds = await usableGpuBuilds(root);
  for (const packageDir of packageClosure(root, packages)) {
    if (gpuBuilds.leftOut.has(packageDir)) continue;
    for (const file of listFiles(packageDir)) {
      const target = join(APP_DIR, relative(root, file));
      if (SKIPPED_FILES.some((pattern) => pattern.test(target))) continue;
      addFile(target, file);
      if (/\.(node|so(\.\d+)*)$/.test(file)) nativeFiles.push(file);
    }
  }

  const { libraries, libraryDir } = sharedLibraries([nodeBinary, ...nativeFiles], gpuBuilds);
  for (const { name, path, loader } of libraries) {
    if (path.startsWith(root)) continue;
    // One found outside the C library's folder (a CUDA toolkit under /usr/local) goes into it: the image has no
    // ld.so cache, and the loader searches only its default folders. The loader stays where binaries name it.
    addFile(loader || !libraryDir || dirname(path) === libraryDir ? path : join(libraryDir, name), realpathSync(path), 0o755);
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

/**
 * node-llama-cpp's GPU builds in this checkout (scripts/install-llama-gpu-build.sh installs them where a GPU is),
 * checked as the provider checks them (src/execution/llama-gpu-build.ts): a backend that cannot load here leaves
 * its packages out of the image, said on stderr, rather than failing the image every engine (llama-server's too)
 * runs in. `built`: the packages kept, whose libraries ldd may not all find (the CUDA 13 build beside a CUDA 12
 * runtime: node-llama-cpp loads the fallback).
 */
async function usableGpuBuilds(root) {
  const checker = join(root, 'dist', 'src', 'execution', 'llama-gpu-build.js');
  if (!existsSync(checker)) fail(`${checker} is missing: build the TypeScript first (npm run build)`);
  const { checkLlamaGpuBuild, llamaGpuBuildsFor, isGpuDriverLibrary } = await import(pathToFileURL(checker).href);
  const leftOut = new Set();
  const built = new Set();
  for (const gpu of ['cuda', 'vulkan']) {
    const dirs = llamaGpuBuildsFor(gpu, process.platform, process.arch)
      .map((build) => join(root, 'node_modules', build.packageName))
      .filter((dir) => existsSync(join(dir, 'package.json')));
    if (!dirs.length) continue;
    try {
      await checkLlamaGpuBuild(gpu, { packagesRoot: root });
      for (const dir of dirs) built.add(dir);
    } catch (error) {
      console.error(`assemble-runtime-rootfs: node-llama-cpp's ${gpu} build is left out of the image: ${error.message}`);
      for (const dir of dirs) leftOut.add(dir);
    }
  }
  return { leftOut, built, isGpuDriverLibrary };
}

/**
 * The libraries `ldd` resolves for these binaries (the dynamic loader included), by the name they are linked by,
 * and the folder holding the C library. The GPU driver's own (libcuda, libnvidia-*) are left out, found or not: the
 * NVIDIA container toolkit mounts the host's, which match its kernel module. A library ldd does not find fails the
 * image, except one a binary of a kept GPU build needs (see usableGpuBuilds) or that another binary here provides.
 */
function sharedLibraries(binaries, { built: gpuPackageDirs, isGpuDriverLibrary: gpuDriverLibrary }) {
  const libraries = new Map();
  const provided = new Set(binaries.map((binary) => basename(binary)));
  let libraryDir;
  for (const binary of binaries) {
    let output;
    try {
      output = execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      fail(`ldd ${binary} failed: ${error.message}`);
    }
    for (const line of output.split('\n')) {
      const linked = /^\s*(\S+)\s+=>\s*(\/\S+)/.exec(line);
      const loader = /^\s*(\/\S+)\s+\(/.exec(line);
      const name = linked?.[1] ?? (loader ? basename(loader[1]) : undefined);
      if (name && gpuDriverLibrary(name)) continue;
      if (linked) libraries.set(linked[2], { name, path: linked[2] });
      if (loader) libraries.set(loader[1], { name, path: loader[1], loader: true });
      if (linked && name === 'libc.so.6') libraryDir = dirname(linked[2]);
      const missing = /^\s*(\S+)\s+=>\s+not found/.exec(line)?.[1];
      if (!missing || gpuDriverLibrary(missing) || provided.has(missing)) continue;
      if ([...gpuPackageDirs].some((dir) => binary.startsWith(`${dir}/`))) continue;
      fail(`${binary} needs a library that is not installed: ${line.trim()}`);
    }
  }
  return { libraries: [...libraries.values()], libraryDir };
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
