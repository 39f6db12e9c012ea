/**
 * Messages a person understands: zod's own wording ("Invalid input: expected number, received
 * string", "Too big: expected number to be <=9") rewritten as what the value must be ("must be a
 * number", "must be at most 9"), and dotted request fields ("task.source.classId") named by words
 * ("class"). The host uses these for request errors, the renderer for every issue it shows, so no
 * schema jargon or internal name reaches the screen. Messages the schemas wrote themselves pass
 * through unchanged.
 */
import { helpKey, OPTION_HELP } from './explain';

const NOUNS: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  string: 'text',
  boolean: 'on or off',
  array: 'a list',
  object: 'a group of settings',
  tuple: 'a list',
  bigint: 'a whole number',
};

const UNITS: Record<string, [string, string]> = {
  array: ['item', 'items'],
  string: ['character', 'characters'],
  set: ['item', 'items'],
};

function bound(op: string, value: string, kind: string): string {
  const unit = UNITS[kind];
  const n = Number(value);
  if (unit) {
    const words = n === 1 ? unit[0] : unit[1];
    if (kind === 'string' && op === '>=' && n === 1) return 'must not be empty';
    if (op === '>=') return `needs at least ${value} ${words}`;
    if (op === '>') return `needs more than ${value} ${words}`;
    if (op === '<=') return `can have at most ${value} ${words}`;
    return `must have fewer than ${value} ${words}`;
  }
  if (op === '>=') return `must be at least ${value}`;
  if (op === '>') return value === '0' ? 'must be more than 0' : `must be more than ${value}`;
  if (op === '<=') return `must be at most ${value}`;
  return `must be less than ${value}`;
}

/**
 * A validation message in plain words. Rewrites zod's default messages (which name types and
 * operators); any other message is returned as it is.
 */
export function plainMessage(message: string): string {
  const m = message.trim();
  let r = /^Invalid input: expected (\w+), received (\w+)$/.exec(m);
  if (r) return r[2] === 'undefined' ? 'is required' : `must be ${NOUNS[r[1]!] ?? r[1]}`;
  r = /^Too (?:big|small): expected (\w+) to (?:be|have) (<=|>=|<|>)\s*([^\s]+)(?: \w+)?$/.exec(m);
  if (r) return bound(r[2]!, r[3]!, r[1]!);
  // The schemas' own short forms: "must be >= 1", "must be > 0", "must be < 1".
  r = /^must be (<=|>=|<|>) ?(-?[\d.e+-]+)$/.exec(m);
  if (r) return bound(r[1]!, r[2]!, 'number');
  r = /^Invalid option: expected one of (.+)$/.exec(m);
  if (r)
    return `must be one of ${r[1]!
      .split('|')
      .map((s) => s.replace(/^"|"$/g, ''))
      .join(', ')}`;
  r = /^Invalid string: must match pattern .*$/.exec(m);
  if (r) return 'has the wrong form';
  r = /^Unrecognized keys?: (.+)$/.exec(m);
  if (r) return `has an unknown setting ${r[1]}`;
  if (/^Invalid input$/.test(m)) return 'is not valid here';
  return m.replace(/^Invalid input: /, '');
}

/** Words for request fields that are not config options (the last segment of a dotted field). */
const REQUEST_WORDS: Record<string, string> = {
  id: 'run',
  ids: 'runs',
  classId: 'class',
  classLabel: 'class',
  toClass: 'target class',
  n: 'number of samples',
  trajectories: 'paths',
  steps: 'steps',
  solver: 'solver',
  method: 'solver',
  cfg: 'guidance weight',
  t: 'time t',
  t0: 'start time t₀',
  grid: 'grid size',
  bounds: 'plot window',
  points: 'points',
  taskId: 'task',
  model: 'model',
  index: 'index',
  seed: 'seed',
  frames: 'frames',
  scale: 'scale',
  mask: 'mask',
  images: 'images',
  name: 'name',
  config: 'configuration',
  rtol: 'relative tolerance',
  atol: 'absolute tolerance',
  tol: 'tolerance',
  base64: 'file',
  kinds: 'export contents',
};

/**
 * A dotted field as words: the option's title where the config field has an explanation
 * ('optim.lr' -> 'Learning rate'), otherwise its last segment in words ('task.source.classId' ->
 * 'class', 'means[3]' -> 'means 3').
 */
export function readableField(field: string): string {
  const f = field.replace(/^config\./, '');
  const help = OPTION_HELP[helpKey(f)];
  if (help) return help.title;
  const last = /([A-Za-z_]\w*)((?:\[\d+\])*)$/.exec(f);
  if (!last) return f;
  const word = REQUEST_WORDS[last[1]!] ?? last[1]!.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  const idx = [...last[2]!.matchAll(/\[(\d+)\]/g)].map((x) => x[1]).join(', ');
  return idx ? `${word} ${idx}` : word;
}

/** A path or a file name, not a dotted config field: a separator, a space, a dash or a file extension. */
const FILE_LIKE = /[/\\\s-]|\.(png|jpe?g|gif|webp|bmp|json|csv|txt|safetensors|fst|db|zip)$/i;

/** "Class must be at most 9": a field and its message as one sentence. */
export function fieldSentence(field: string | undefined, message: string): string {
  const plain = plainMessage(message);
  if (!field || field === '(root)') return capitalise(plain);
  // A file in the field's place (an uploaded image, a points file) is named as written, not as a label.
  if (FILE_LIKE.test(field)) return `${field}: ${plain}`;
  return `${capitalise(readableField(field))} ${plain}`;
}

function capitalise(s: string): string {
  return s ? s[0]!.toUpperCase() + s.slice(1) : s;
}
