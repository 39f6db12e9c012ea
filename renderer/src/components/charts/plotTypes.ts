/** Layers a Plot2D draws, bottom to top in array order. Colours are CSS colours or var(--name). */
export type Layer =
  | { kind: 'cells'; points: number[][]; values: number[]; cell: number; vmax: number }
  | { kind: 'paths'; paths: number[][][]; color: string; alpha?: number; width?: number }
  | { kind: 'points'; points: number[][]; color: string; size?: number; alpha?: number }
  | { kind: 'arrows'; origins: number[][]; vectors: number[][]; scale: number; color: string }
  | { kind: 'circles'; centers: number[][]; radii: number[]; color: string; labels?: string[] };
