// A node:test reporter that prints, when the run ends, how long each test file took and whether it failed:
// the sum of its top-level tests and suites, slowest first.
export default async function* suiteTimes(source) {
  const files = new Map();
  for await (const event of source) {
    if ((event.type !== 'test:pass' && event.type !== 'test:fail') || event.data.nesting !== 0 || !event.data.file) continue;
    const file = files.get(event.data.file) ?? { ms: 0, failed: false };
    file.ms += event.data.details?.duration_ms ?? 0;
    file.failed ||= event.type === 'test:fail';
    files.set(event.data.file, file);
  }
  const root = process.cwd() + '/';
  for (const [path, { ms, failed }] of [...files].sort((a, b) => b[1].ms - a[1].ms)) {
    yield `suite   ${path.replace(root, '').padEnd(60)} ${String(Math.round(ms / 1000)).padStart(5)}s${failed ? '  FAILED' : ''}\n`;
  }
}
