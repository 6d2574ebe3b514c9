import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidPlanOptionsError } from './planner-errors.js';
import { splitLayers, type LayerRange } from './split-layers.js';

describe('splitLayers', () => {
  const cases: [string, number, number[], LayerRange[]][] = [
    ['splits 80 layers evenly over two equal stages', 80, [1, 1], [[0, 40], [40, 80]]],
    ['gives the leftover layers to the stages closest to another one: 32 over 3', 32, [1, 1, 1], [[0, 11], [11, 22], [22, 32]]],
    ['follows memory: 72 and 36 GiB take 2/3 and 1/3 of 30 layers', 30, [72, 36], [[0, 20], [20, 30]]],
    ['keeps at least one layer on a tiny stage', 5, [100, 1, 1], [[0, 3], [3, 4], [4, 5]]],
    ['splits evenly when no stage has any weight', 4, [0, 0], [[0, 2], [2, 4]]],
    ['keeps a single stage whole', 7, [3], [[0, 7]]],
  ];
  for (const [title, layers, weights, ranges] of cases) it(title, () => assert.deepEqual(splitLayers(layers, weights), ranges));

  it('refuses more stages than layers', () => assert.throws(() => splitLayers(2, [1, 1, 1]), InvalidPlanOptionsError));
});
