/**
 * Compare's derived data: the config diff fills the schema's defaults (a config that leaves a field
 * out equals one that sets the default), best values follow the metric's direction, and the
 * prediction targets come from the configs.
 */
import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../common/config';
import { bestOf, configDiff, flatten, predictionsOf } from '../../renderer/src/lib/compare';

const base = { data: { kind: 'toy2d', name: 'moons' }, model: { kind: 'mlp' } };

describe('configDiff', () => {
  it('marks exactly the settings that differ, with the default filled in for a missing one', () => {
    const parsed = parseExperiment(base);
    if (!parsed.ok) throw new Error('base config must parse');
    const defaultWidth = (parsed.value.model as { width: number }).width;
    const a = { ...base, model: { kind: 'mlp', width: defaultWidth } };
    const b = { ...base, model: { kind: 'mlp', width: defaultWidth * 2 }, optim: { lr: 0.01 } };
    const rows = configDiff([a, base, b]);
    const differing = rows.filter((r) => r.differs).map((r) => r.path);
    expect(differing).toContain('model.width');
    expect(differing).toContain('optim.lr');
    // Every other leaf of the resolved configs is the same in all three.
    const leaves = flatten(parsed.value);
    expect(rows.length).toBe(leaves.size);
    expect(differing.length).toBe(2);
    const width = rows.find((r) => r.path === 'model.width')!;
    expect(width.values).toEqual([defaultWidth, defaultWidth, defaultWidth * 2]);
  });

  it('takes a config that does not parse as written', () => {
    const rows = configDiff([
      { a: 1, b: { c: [1, 2] } },
      { a: 2, b: { c: [1, 2] } },
    ]);
    expect(rows).toEqual([
      { path: 'a', values: [1, 2], differs: true },
      {
        path: 'b.c',
        values: [
          [1, 2],
          [1, 2],
        ],
        differs: false,
      },
    ]);
  });
});

describe('bestOf', () => {
  it('picks the lowest or the highest, all tied indices, nothing without a direction', () => {
    expect(bestOf([0.3, 0.1, 0.2], 'lower')).toEqual([1]);
    expect(bestOf([0.3, 0.1, 0.3], 'higher')).toEqual([0, 2]);
    expect(bestOf([0.3, 0.1], undefined)).toEqual([]);
  });
  it('ignores non-numbers and needs two numbers that are not all equal', () => {
    expect(bestOf([null, 'n/a', 4, Number.NaN, 2], 'lower')).toEqual([4]);
    expect(bestOf([null, 3], 'lower')).toEqual([]);
    expect(bestOf([3, 3], 'lower')).toEqual([]);
  });
});

describe('predictionsOf', () => {
  it('reads the prediction target, the default when unset', () => {
    const parsed = parseExperiment(base);
    if (!parsed.ok) throw new Error('base config must parse');
    expect(predictionsOf([base, { ...base, prediction: 'noise' }])).toEqual([parsed.value.prediction, 'noise']);
  });
});
