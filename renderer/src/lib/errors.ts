/**
 * What the user reads when a call fails: the host's message in plain words (common/messages.ts), a
 * field named by its label rather than its dotted path, and the usual failures (the host gone, a
 * refused token, a cancelled task) said the way a person would.
 */
import { StudioError } from '../../../common/contract';
import { fieldSentence, plainMessage, readableField } from '../../../common/messages';

/** A sentence for any error a studio call threw. */
export function describeError(err: unknown): string {
  if (err instanceof StudioError) {
    if (err.code === 'cancelled') return 'Cancelled.';
    if (err.code === 'unauthorized') return 'The host no longer accepts this page: open the address it printed (ending in ?token=…).';
    const msg = err.message.trim();
    if (err.field) {
      // Core's errors read "field: what is wrong"; the host's request errors are sentences already.
      const prefix = `${err.field}: `;
      if (msg.startsWith(prefix)) return fieldSentence(err.field, msg.slice(prefix.length));
      const inner = /^([\w.[\]]+): (.*)$/s.exec(msg);
      if (inner && inner[1] === err.field) return fieldSentence(err.field, inner[2]!);
    }
    // "name: message" lines of a config the host refused: one sentence per line, in words.
    return msg
      .split('\n')
      .map((line) => {
        const m = /^\s*([A-Za-z_][\w.[\]]*): (.+)$/.exec(line);
        return m && /[.[]/.test(m[1]!) ? `${readableField(m[1]!)}: ${plainMessage(m[2]!)}` : line.trim();
      })
      .filter(Boolean)
      .join(' ');
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
