// A node:test reporter that prints, when the run ends, how long each test file took and whether it failed (the sum
// of its top-level tests and suites, slowest first), then each failed test with the start of its error. The
// failures come last so that a log cut to its tail (a CI summary) still names them.
const MAX_FAILURES_LISTED = 20;
const ERROR_CHARS = 600;

export default async function* suiteTimes(source) {
  const files = new Map();
  const failures = [];
  const openTests = [];
  let cancelled = 0;
  for await (const event of source) {
    if (event.type === 'test:start') openTests[event.data.nesting] = event.data.name;
    if (event.type === 'test:fail' && isCancelledByParent(event.data)) cancelled++;
    else if (event.type === 'test:fail' && !isOnlyFailedSubtests(event.data)) failures.push(failureOf(event.data, openTests));
    if ((event.type !== 'test:pass' && event.type !== 'test:fail') || event.data.nesting !== 0 || !event.data.file) continue;
    const file = files.get(event.data.file) ?? { ms: 0, failed: false };
    file.ms += event.data.details?.duration_ms ?? 0;
    file.failed ||= event.type === 'test:fail';
    files.set(event.data.file, file);
  }
  const root = process.cwd() + '/';
  const relative = (path) => (path ?? '(no file)').replace(root, '');
  for (const [path, { ms, failed }] of [...files].sort((a, b) => b[1].ms - a[1].ms)) {
    yield `suite   ${relative(path).padEnd(60)} ${String(Math.round(ms / 1000)).padStart(5)}s${failed ? '  FAILED' : ''}\n`;
  }
  if (failures.length === 0 && cancelled === 0) return;
  yield `\n== ${failures.length} failed test(s)${cancelled ? `, and ${cancelled} cancelled because their suite failed` : ''}\n`;
  for (const failure of failures.slice(0, MAX_FAILURES_LISTED)) {
    yield `FAILED  ${relative(failure.file)} > ${failure.path}\n${indent(failure.error)}\n`;
  }
  if (failures.length > MAX_FAILURES_LISTED) yield `... and ${failures.length - MAX_FAILURES_LISTED} more\n`;
}

// A suite fails when one of its tests does; that test is listed itself.
function isOnlyFailedSubtests(data) {
  return data.details?.error?.failureType === 'subtestsFailed';
}

// A suite whose hook failed cancels its tests: the hook's failure, listed as the suite's, is the one to read.
function isCancelledByParent(data) {
  return data.details?.error?.failureType === 'cancelledByParent';
}

function failureOf(data, openTests) {
  const path = [...openTests.slice(0, data.nesting), data.name].join(' > ');
  const error = data.details?.error;
  const cause = error?.cause ?? error;
  const message = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause ?? 'failed');
  return { file: data.file, path, error: message.slice(0, ERROR_CHARS) };
}

function indent(text) {
  return text.split('\n').slice(0, 12).map((line) => `        ${line}`).join('\n');
}
