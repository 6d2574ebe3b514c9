// The README is the first thing a newcomer runs from: every `infernet` command it shows, every subcommand and every
// flag must be one the CLI's own usage text names (a flag renamed in the code and not in the README fails here).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { COMMAND_USAGES } from './main.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** Flags of other programs that the README mentions in backticks (llama.cpp's server). */
const OTHER_PROGRAMS_FLAGS = new Set(['--rpc', '--tensor-split']);

interface CommandLine {
  line: string;
  command: string;
  words: string[];
}

/** `infernet ...` command lines: in code blocks, and in inline code spans (which may wrap across lines). */
function commandLinesOf(markdown: string): CommandLine[] {
  const lines: string[] = [];
  const blocks = markdown.split(/^```.*$/m);
  blocks.forEach((block, i) => {
    if (i % 2 === 1) lines.push(...block.split('\n'));
    else for (const span of block.matchAll(/`([^`]+)`/g)) lines.push(span[1]!.replace(/\s*\n\s*/g, ' '));
  });
  const indented = markdown.split('\n').filter((line) => /^ {4}infernet /.test(line));
  return [...lines, ...indented]
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line.startsWith('infernet '))
    .map((line) => {
      const words = line.split(/\s+/).slice(1);
      return { line, command: words[0]!, words: words.slice(1) };
    });
}

/** Subcommands a usage text shows (`infernet wallet connect ...` -> connect). */
function subcommandsOf(command: string, usage: string): Set<string> {
  const pattern = new RegExp(`infernet ${command} ([a-z][a-z-]*)\\b`, 'g');
  return new Set([...usage.matchAll(pattern)].map((match) => match[1]!));
}

function flagsOf(text: string): string[] {
  return [...text.matchAll(/(?:^|[\s[(`])(--[a-z][a-z0-9-]*)/g)].map((match) => match[1]!);
}

describe('the README against the CLI usage text', () => {
  const commands = commandLinesOf(README);

  it('finds the command lines it checks', () => {
    assert.ok(commands.length >= 30, `only ${commands.length} command lines found in README.md`);
  });

  it('shows only commands the CLI has', () => {
    const unknown = commands.filter(({ command }) => !(command in COMMAND_USAGES)).map(({ line }) => line);
    assert.deepEqual(unknown, []);
  });

  it('shows only subcommands the usage text names', () => {
    const wrong = commands.filter(({ command, words }) => {
      const usage = COMMAND_USAGES[command];
      if (!usage) return false;
      const subcommands = subcommandsOf(command, usage);
      const [first] = words;
      // A command whose usage shows subcommands, called with a bare word first, must name one of them.
      return subcommands.size > 1 && first !== undefined && /^[a-z][a-z-]*$/.test(first) && !subcommands.has(first);
    });
    assert.deepEqual(wrong.map(({ line }) => line), []);
  });

  it('shows only flags that the command usage names', () => {
    const wrong = commands.flatMap(({ command, line, words }) => {
      const usage = COMMAND_USAGES[command];
      if (!usage) return [];
      const known = new Set(flagsOf(usage));
      return flagsOf(words.join(' ')).filter((flag) => !known.has(flag)).map((flag) => `${line}: ${flag}`);
    });
    assert.deepEqual(wrong, []);
  });

  it('mentions no flag in prose that no command has', () => {
    const allFlags = new Set(Object.values(COMMAND_USAGES).flatMap(flagsOf));
    const spans = [...README.split(/^```.*$/m).filter((_, i) => i % 2 === 0).join('\n').matchAll(/`(--[a-z][a-z0-9-]*)[^`]*`/g)].map((match) => match[1]!);
    const unknown = spans.filter((flag) => !allFlags.has(flag) && !OTHER_PROGRAMS_FLAGS.has(flag));
    assert.deepEqual([...new Set(unknown)], []);
  });

  it('names submit flags in prose ("submit --x", "`--x`" after submit) that submit has', () => {
    const submitFlags = new Set(flagsOf(COMMAND_USAGES.submit!));
    const mentioned = [...README.matchAll(/submit[^.]{0,200}?`(--[a-z][a-z0-9-]*)`/g)].map((match) => match[1]!);
    const wrong = mentioned.filter((flag) => !submitFlags.has(flag));
    assert.deepEqual([...new Set(wrong)], []);
  });
});
