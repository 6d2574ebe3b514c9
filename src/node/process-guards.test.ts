import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uncaughtErrorAction } from './process-guards.js';

const named = (name: string): Error => Object.assign(new Error('x'), { name });

test('a rejected promise nobody handled is logged and the daemon serves on, whatever it holds', () => {
  for (const reason of [named('StreamStateError'), new TypeError('bug'), 'a string', undefined]) assert.equal(uncaughtErrorAction(reason, true), 'log');
});

test("an uncaught exception from a peer's closing stream is logged; any other one ends the process", () => {
  assert.equal(uncaughtErrorAction(named('StreamStateError'), false), 'log');
  assert.equal(uncaughtErrorAction(named('StreamResetError'), false), 'log');
  assert.equal(uncaughtErrorAction(new TypeError('undefined is not a function'), false), 'exit');
  assert.equal(uncaughtErrorAction('thrown text', false), 'exit');
});
