#!/usr/bin/env node
// The installed `infernet` command; the code lives in dist/ (run `npm run build`).
// Infernet needs Node 22 (js-libp2p 3 uses Promise.withResolvers). `npm ci` installs the project's own Node 22 in
// node_modules/node, so a command started by an older system Node hands itself over to that one; without it, the
// command refuses at once with one line that says what to do, instead of failing later in discovery.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MIN_NODE_MAJOR = 22;
const args = process.argv.slice(2);

if (Number(process.versions.node.split('.')[0]) < MIN_NODE_MAJOR) {
  const projectNode = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(projectNode)) {
    const repo = fileURLToPath(new URL('..', import.meta.url));
    console.error(`infernet: needs Node.js ${MIN_NODE_MAJOR} or newer, this is ${process.version}: run \`npm ci\` in ${repo} (it installs the project's own Node ${MIN_NODE_MAJOR}) or install Node ${MIN_NODE_MAJOR}`);
    process.exit(1);
  }
  runOnProjectNode(projectNode);
} else {
  const entry = new URL('../dist/src/cli/main.js', import.meta.url);
  if (!existsSync(entry)) {
    console.error(`infernet: not built yet: run \`npm run build\` in ${fileURLToPath(new URL('..', import.meta.url))}`);
    process.exit(1);
  }
  const { main } = await import(entry.href);
  // Exit explicitly: native engine handles must not keep a finished command alive. Writes to pipes and files
  // are synchronous on Linux, so nothing printed is lost.
  process.exit(await main(args));
}

/** The same command on the project's Node; its exit code (or signal) becomes ours. */
function runOnProjectNode(projectNode) {
  const child = spawn(projectNode, [fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
  // A signal sent to this pid reaches the command. Ctrl-C on a terminal already reaches both processes (one
  // process group): forwarding it too would be a second SIGINT, which stops a daemon without its clean-up.
  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT']) {
    process.on(signal, () => {
      if (signal !== 'SIGINT' || !process.stdin.isTTY) child.kill(signal);
    });
  }
  child.on('error', (error) => {
    console.error(`infernet: cannot start ${projectNode}: ${error.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
}
