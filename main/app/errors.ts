/** Errors of the run use-cases (main/app/runs.ts), which the contract and the CLI map to codes. */
import { FlowStudioError } from '../../core/errors';
import { formatIssues, type FieldIssue } from '../../common/config';

/** What a caller asks of a run. */
export type RunAction = 'start' | 'pause' | 'resume' | 'cancel' | 'rename' | 'delete';

/** An action the run's state does not allow; the message says why and what to do instead. */
export class RunActionError extends FlowStudioError {
  constructor(
    readonly runId: string,
    readonly action: RunAction,
    message: string,
  ) {
    super(message);
  }
}

/** An experiment config the schema refuses; `issues` name every field. */
export class InvalidConfigError extends FlowStudioError {
  constructor(
    readonly issues: FieldIssue[],
    origin = 'invalid experiment config',
  ) {
    super(`${origin}:\n${formatIssues(issues).replace(/^/gm, '  ')}`);
  }
}
