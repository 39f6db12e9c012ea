/**
 * The table of 2D toy datasets (names, class counts, what each needs), without their generators:
 * plain data with no tfjs import, so the experiment schema's cross-field rules (which run in every
 * process, the renderer included) can read class counts from the same table core/data/toy2d.ts
 * samples from.
 */
import type { Toy2DName } from '../catalog';

/** The toy datasets a config names, and the two that need the user's data: a mixture or points. */
export type Dataset2DName = Toy2DName | 'gmm' | 'points';

/** What the UI and configs need to know about a dataset. */
export interface Dataset2DInfo {
  readonly name: Dataset2DName;
  /** Human-readable name. */
  readonly label: string;
  /** True when the dataset is a Gaussian mixture, so core/oracle gives its exact flow and density. */
  readonly exactOracle: boolean;
  /** Number of distinct labels the generator emits. 0 means "as many as the user's mixture has". */
  readonly classes: number;
  /** Which option the dataset requires, if any. */
  readonly requires?: 'mixture' | 'points';
  readonly description: string;
}

export const DATASETS_2D: readonly Dataset2DInfo[] = [
  {
    name: 'moons',
    label: 'Two moons',
    exactOracle: false,
    classes: 2,
    description: 'scikit-learn make_moons(n, noise = 0.2, shuffle = True), mapped x -> 3x - 1 (as torchcfm). noise is in make_moons units.',
  },
  {
    name: '8gaussians',
    label: '8 Gaussians',
    exactOracle: true,
    classes: 8,
    description: 'Equal-weight mixture, means 5 (cos(k pi/4), sin(k pi/4)), k = 0..7, std 0.3.',
  },
  {
    name: 'circles',
    label: 'Concentric circles',
    exactOracle: false,
    classes: 2,
    description: 'scikit-learn make_circles(n, noise = 0.05, factor = 0.5, shuffle = True), scaled by 3. noise is in make_circles units.',
  },
  {
    name: 'checkerboard',
    label: 'Checkerboard',
    exactOracle: false,
    classes: 1,
    description: 'Uniform on the 8 dark squares of a 4 x 4 board covering [-4, 4]^2 (squares of side 2).',
  },
  {
    name: '2spirals',
    label: 'Two spirals',
    exactOracle: false,
    classes: 2,
    description: 'Two interleaved arms r = theta / 3, theta in [0, 3 pi], plus Gaussian noise of std 0.1 (output units).',
  },
  {
    name: 'swissroll',
    label: 'Swiss roll',
    exactOracle: false,
    classes: 1,
    description: 'scikit-learn make_swiss_roll projected on (x, z), noise 1.0 in its units, divided by 5 (as FFJORD).',
  },
  {
    name: 'gmm',
    label: 'Gaussian mixture (custom)',
    exactOracle: true,
    classes: 0,
    requires: 'mixture',
    description: 'A user-defined isotropic Gaussian mixture in 2D; labels are component indices.',
  },
  {
    name: 'points',
    label: 'Point set (custom)',
    exactOracle: false,
    classes: 1,
    requires: 'points',
    description: 'Uniform resampling, with replacement, of a user-given finite set of 2D points.',
  },
];
