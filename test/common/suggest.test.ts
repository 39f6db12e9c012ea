// The edit distance behind "did you mean": properties any string distance of this kind must have,
// checked on random names, and the edits it counts as one (insert, delete, substitute, swap).
import { describe, expect, it } from 'vitest';
import { closestName, editDistance } from '../../common/suggest';
import { Rng } from '../../core/util/random';

const rng = new Rng(7);
const letters = 'abcdefgh';
const word = (n: number): string => Array.from({ length: n }, () => letters[rng.int(letters.length)]).join('');
const words = Array.from({ length: 200 }, () => word(1 + rng.int(9)));

describe('editDistance', () => {
  it('is 0 exactly for equal strings, symmetric, at least the length difference and at most the longer length', () => {
    for (let i = 0; i + 1 < words.length; i++) {
      const [a, b] = [words[i]!, words[i + 1]!];
      expect(editDistance(a, a)).toBe(0);
      expect(editDistance(a, '')).toBe(a.length);
      expect(editDistance(a, b)).toBe(editDistance(b, a));
      expect(editDistance(a, b) === 0).toBe(a === b);
      expect(editDistance(a, b)).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
      expect(editDistance(a, b)).toBeLessThanOrEqual(Math.max(a.length, b.length));
    }
  });

  it('one insertion, deletion, substitution or swap of neighbours is distance 1', () => {
    for (const a of words.filter((w) => w.length >= 2)) {
      const k = rng.int(a.length - 1);
      const edits = [
        a.slice(0, k) + 'z' + a.slice(k), // insert
        a.slice(0, k) + a.slice(k + 1), // delete
        a.slice(0, k) + 'z' + a.slice(k + 1), // substitute
        a.slice(0, k) + a[k + 1] + a[k] + a.slice(k + 2), // swap
      ];
      for (const e of edits) expect(editDistance(a, e), `${a} -> ${e}`).toBe(e === a ? 0 : 1);
    }
  });
});

describe('closestName', () => {
  it('prefers an exact match up to case and separators over a nearer spelling', () => {
    expect(closestName('STEP_S', ['step', 'steps'])).toBe('steps');
  });

  it('takes the nearest spelling within the bound, and nothing beyond it', () => {
    expect(closestName('stepz', ['steps', 'seed'])).toBe('steps');
    expect(closestName('xyzzy', ['steps', 'seed'])).toBeNull();
  });
});
