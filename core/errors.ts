/**
 * Typed errors. Every message names the field, file or value at fault, so a user (or the UI, which
 * shows `field` next to the form input) can fix it without reading a stack trace.
 */
export class FlowStudioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A configuration value is invalid. `field` is its dotted path, e.g. "scheduler.sigmaMin". */
export class ConfigError extends FlowStudioError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** A tensor or array has the wrong shape, e.g. "x must have shape [batch, 2]. Got [3]". */
export class ShapeError extends FlowStudioError {}

/** Input data is unusable (unreadable file, NaN in points, empty set ...). */
export class DataError extends FlowStudioError {}

/** A numerical procedure could not finish (step size underflow, too many steps ...). */
export class SolverError extends FlowStudioError {}

/** Work was cancelled through an abort signal. */
export class CancelledError extends FlowStudioError {
  constructor(what = 'operation') {
    super(`${what} was cancelled`);
  }
}

/** Throws a ConfigError unless `ok`. The message is built lazily (as tfjs does) so hot paths stay cheap. */
export function check(ok: boolean, field: string, message: () => string): asserts ok {
  if (!ok) throw new ConfigError(field, message());
}

/** Throws a ShapeError unless `ok`. */
export function checkShape(ok: boolean, message: () => string): asserts ok {
  if (!ok) throw new ShapeError(message());
}
