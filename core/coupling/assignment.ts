/**
 * Exact linear assignment: given a cost matrix C (n rows, m >= n columns), find the injective map
 * sigma from rows to columns minimising  sum_i C[i, sigma(i)].
 *
 * Algorithm: shortest augmenting paths with dual potentials (Jonker & Volgenant 1987; the
 * rectangular, initialisation-free form analysed by Crouse 2016). Rows are added one at a time; for
 * each, a Dijkstra search over reduced costs  C[i, j] - u[i] - v[j] >= 0  finds the cheapest path of
 * alternating (row, column) edges that ends at a free column, the path is flipped, and the potentials
 * are updated so that every reduced cost stays non-negative and every assigned edge has reduced cost 0.
 * Complementary slackness then certifies optimality: sum_i u[i] + sum_j v[j] equals the assignment cost.
 * Worst case O(n^2 m); dense random problems are much faster because most searches end early.
 *
 * Everything runs in float64 on the host: the algorithm is branchy and sequential (no use for a
 * tensor backend), and float64 keeps ties and near-ties between permutations resolved correctly.
 *
 * Why hand-written: core imports nothing but tfjs-core, and no assignment package is installed (npm's
 * munkres and munkres-js implement the Hungarian method). This one is tested against brute force over
 * all permutations (test/core/coupling).
 */
import { DataError, ShapeError } from '../errors';

/** An optimal assignment of rows to columns. */
export interface Assignment {
  /** rowToCol[i] = column assigned to row i (length n). */
  readonly rowToCol: Int32Array;
  /** colToRow[j] = row assigned to column j, or -1 for columns left free when m > n (length m). */
  readonly colToRow: Int32Array;
  /** Total cost sum_i C[i, rowToCol[i]], summed in float64. */
  readonly cost: number;
}

/**
 * Solves the linear assignment problem exactly.
 *
 * @param cost Either a row-major flat array of n*m numbers (then pass `n`, and `m` if not square), or
 *   an array of n rows of m numbers each. Entries must be finite; any real values are allowed
 *   (negative costs too; maximise a profit P by passing -P).
 * @param n Number of rows (flat input only).
 * @param m Number of columns (flat input only; default n). Must satisfy m >= n: every row is assigned,
 *   surplus columns stay free. For n > m, solve the transposed problem.
 * @returns The row-to-column map, its inverse, and the total cost.
 *
 * @example
 * solveAssignment([[4, 1], [2, 3]]) // { rowToCol: [1, 0], colToRow: [1, 0], cost: 3 }
 */
export function solveAssignment(cost: ArrayLike<number> | readonly (readonly number[])[], n?: number, m?: number): Assignment {
  const { c, rows, cols } = toFlat(cost, n, m);
  return solveFlat(c, rows, cols);
}

function toFlat(
  cost: ArrayLike<number> | readonly (readonly number[])[],
  n: number | undefined,
  m: number | undefined,
): { c: Float64Array; rows: number; cols: number } {
  if (cost.length === 0 && (n ?? 0) === 0) return { c: new Float64Array(0), rows: 0, cols: m ?? 0 };
  if (isNested(cost)) {
    const rows = cost.length;
    const cols = rows === 0 ? 0 : cost[0]!.length;
    if (n !== undefined && n !== rows) throw new ShapeError(`assignment: n = ${n} but the cost has ${rows} rows`);
    if (m !== undefined && m !== cols) throw new ShapeError(`assignment: m = ${m} but the cost has ${cols} columns`);
    const c = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      const row = cost[i]!;
      if (row.length !== cols) {
        throw new ShapeError(`assignment: cost rows must have equal lengths; row 0 has ${cols}, row ${i} has ${row.length}`);
      }
      for (let j = 0; j < cols; j++) c[i * cols + j] = row[j]!;
    }
    checkFinite(c, cols);
    return { c, rows, cols };
  }
  if (n === undefined) throw new ShapeError('assignment: a flat cost array needs the row count n');
  const cols = m ?? n;
  if (!(Number.isInteger(n) && n >= 0 && Number.isInteger(cols) && cols >= 0)) {
    throw new ShapeError(`assignment: n and m must be non-negative integers, got n = ${n}, m = ${cols}`);
  }
  if (cost.length !== n * cols) {
    throw new ShapeError(`assignment: cost must have n*m = ${n}*${cols} = ${n * cols} entries, got ${cost.length}`);
  }
  const c = cost instanceof Float64Array ? cost : Float64Array.from(cost);
  checkFinite(c, cols);
  return { c, rows: n, cols };
}

function isNested(x: ArrayLike<number> | readonly (readonly number[])[]): x is readonly (readonly number[])[] {
  return Array.isArray(x) && x.length > 0 && Array.isArray(x[0]);
}

function checkFinite(c: Float64Array, cols: number): void {
  for (let k = 0; k < c.length; k++) {
    if (!Number.isFinite(c[k]!)) {
      const i = Math.floor(k / cols);
      throw new DataError(`assignment: cost[${i}][${k - i * cols}] is ${c[k]}; every cost must be finite`);
    }
  }
}

function solveFlat(c: Float64Array, n: number, m: number): Assignment {
  if (n > m) {
    throw new ShapeError(`assignment: needs at least as many columns as rows, got ${n} rows and ${m} columns; pass the transpose`);
  }
  const u = new Float64Array(n); // row potentials
  const v = new Float64Array(m); // column potentials
  const rowToCol = new Int32Array(n).fill(-1);
  const colToRow = new Int32Array(m).fill(-1);
  // Per-search scratch, allocated once.
  const dist = new Float64Array(m); // shortest reduced path length to each column
  const pred = new Int32Array(m); // row from which each column was reached
  const settled = new Float64Array(m); // final distance of each settled column, in settling order
  const scannedRows = new Int32Array(n);
  const scannedCols = new Int32Array(m);

  // Column reduction (the first phase of Jonker-Volgenant): v[j] = min_i C[i, j] makes every reduced
  // cost non-negative with u = 0, and each column's cheapest row, if still free, can take that column
  // at reduced cost 0 without breaking optimality. On square problems this settles a good share of
  // the rows before any search runs.
  if (n === m) {
    for (let j = 0; j < m; j++) {
      let best = Infinity;
      let bestRow = -1;
      for (let i = 0; i < n; i++) {
        const x = c[i * m + j]!;
        if (x < best) {
          best = x;
          bestRow = i;
        }
      }
      v[j] = best;
      if (rowToCol[bestRow]! < 0) {
        rowToCol[bestRow] = j;
        colToRow[j] = bestRow;
      }
    }
  }

  for (let start = 0; start < n; start++) {
    if (rowToCol[start]! >= 0) continue;
    // Dijkstra from row `start` over reduced costs, until a free column is reached. Columns are
    // visited in index order (sequential memory access); a settled column's tentative distance is
    // set to NaN, which fails every comparison, so the hot loop needs no "already scanned" test.
    dist.fill(Infinity);
    let numSR = 0;
    let numSC = 0;
    let i = start;
    let minVal = 0;
    let sink = -1;
    while (sink < 0) {
      scannedRows[numSR++] = i;
      const base = i * m;
      const shift = minVal - u[i]!;
      let lowest = Infinity;
      let lowestAt = -1;
      for (let j = 0; j < m; j++) {
        let d = dist[j]!;
        const r = shift + c[base + j]! - v[j]!;
        if (r < d) {
          d = r;
          dist[j] = r;
          pred[j] = i;
        }
        // Ties go to a free column: it ends the search at once, keeping paths short.
        if (d < lowest || (d === lowest && colToRow[j]! < 0)) {
          lowest = d;
          lowestAt = j;
        }
      }
      // With finite costs and m >= n some column is always reachable, unless sums overflowed.
      if (lowestAt < 0) throw new DataError('assignment: cost sums overflow float64; rescale the costs');
      minVal = lowest;
      const j = lowestAt;
      settled[numSC] = lowest;
      scannedCols[numSC++] = j;
      dist[j] = NaN;
      const owner = colToRow[j]!;
      if (owner < 0) sink = j;
      else i = owner;
    }

    // Potential update: keeps reduced costs >= 0 everywhere and 0 on assigned edges plus the new path.
    // Scanned row k >= 1 was reached through column scannedCols[k - 1], its current column.
    u[start] = u[start]! + minVal;
    for (let k = 1; k < numSR; k++) {
      const r = scannedRows[k]!;
      u[r] = u[r]! + minVal - settled[k - 1]!;
    }
    for (let k = 0; k < numSC; k++) {
      const j = scannedCols[k]!;
      v[j] = v[j]! - (minVal - settled[k]!);
    }

    // Flip the augmenting path back from the sink.
    let j = sink;
    for (;;) {
      const r = pred[j]!;
      colToRow[j] = r;
      const prev = rowToCol[r]!;
      rowToCol[r] = j;
      if (r === start) break;
      j = prev;
    }
  }

  let total = 0;
  for (let i = 0; i < n; i++) total += c[i * m + rowToCol[i]!]!;
  return { rowToCol, colToRow, cost: total };
}
