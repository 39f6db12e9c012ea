import { describe, expect, it } from 'vitest';
import { arrowScale, boundsOf, nearest, positionsAt, transform } from '../../renderer/src/lib/plot';
import { formatHash, parseHash } from '../../renderer/src/lib/route';
import { base64ToBytes, fmtDuration, fmtNum } from '../../renderer/src/lib/format';

describe('plot geometry', () => {
  it('bounds are square with a margin; empty input gives the fallback', () => {
    const b = boundsOf(
      [
        [0, 0],
        [2, 1],
      ],
      0,
    );
    expect(b).toEqual([0, 2, -0.5, 1.5]);
    expect(boundsOf([])).toEqual([-4, 4, -4, 4]);
  });

  it('transform round-trips and puts y up', () => {
    const tr = transform([-1, 1, -1, 1], 200, 100, 0);
    const [px, py] = tr.toPx(0, 1);
    expect(px).toBeCloseTo(100);
    expect(py).toBeCloseTo(0);
    const [x, y] = tr.toWorld(...tr.toPx(0.3, -0.7));
    expect(x).toBeCloseTo(0.3);
    expect(y).toBeCloseTo(-0.7);
  });

  it('positions interpolate linearly between stored times and clamp', () => {
    const times = [0, 0.5, 1];
    const paths = [
      [
        [0, 0],
        [1, 2],
        [3, 2],
      ],
    ];
    expect(positionsAt(times, paths, 0.25)[0]).toEqual([0.5, 1]);
    expect(positionsAt(times, paths, 0.75)[0]).toEqual([2, 2]);
    expect(positionsAt(times, paths, 1)[0]).toEqual([3, 2]);
    expect(positionsAt(times, paths, -1)[0]).toEqual([0, 0]);
  });

  it('arrow scale maps the 95th percentile norm to the max length', () => {
    const v = Array.from({ length: 100 }, (_, i) => [i + 1, 0]);
    v.push([1e6, 0]);
    const s = arrowScale(v, 0.5);
    expect(96 * s).toBeCloseTo(0.5, 1);
    expect(arrowScale([], 1)).toBe(0);
  });

  it('nearest finds the closest point within the radius', () => {
    expect(
      nearest(
        [
          [0, 0],
          [1, 1],
        ],
        0.9,
        0.9,
        0.5,
      ),
    ).toBe(1);
    expect(nearest([[0, 0]], 3, 3, 0.5)).toBe(-1);
  });
});

describe('routes and formats', () => {
  it('hash round trip', () => {
    for (const r of [{ view: 'live', runId: 'r-1' }, { view: 'compare', ids: ['a', 'b,c'] }, { view: 'settings' }] as const) {
      expect(parseHash(formatHash(r as never))).toEqual(r);
    }
    expect(parseHash('#/nonsense')).toEqual({ view: 'experiment' });
    expect(parseHash('')).toEqual({ view: 'experiment' });
  });

  it('formats numbers and durations', () => {
    expect(fmtNum(0.000123)).toBe('1.23e-4');
    expect(fmtNum(1.23456)).toBe('1.235');
    expect(fmtNum(null)).toBe('—');
    expect(fmtDuration(65)).toBe('1 min 05 s');
    expect(fmtDuration(7300)).toBe('2 h 01 min');
    expect(Array.from(base64ToBytes(btoa('AB')))).toEqual([65, 66]);
  });
});
