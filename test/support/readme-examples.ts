// The README's runnable examples: a ```sh block with curl commands, followed by
// one or more answer blocks, each right after an HTML comment naming the
// situation (the "scene") the test sets up before running the commands:
//
//   <!-- example: get-running -->
//   ```http                                   ```text
//   HTTP/1.1 400 Bad Request                  what the commands print (stdout);
//   retry-after: 1                            consecutive repeated lines count
//                                             once (a poll prints as many as
//   {"error":"Prediction is still ..."}       it takes)
//   ```                                       ```
//
// An http block holds one answer per curl the commands run, in order: the
// status line, the headers it names (each compared with the header of that
// exact name), a blank line, the body (compared byte for byte).
// `<prediction_id>` stands for a UUID v4, the same one wherever it appears in
// one example, and the scene's `$ID` when the scene gives one.

export interface ShownAnswer {
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly (readonly [name: string, value: string])[];
  readonly body: string;
}

export interface ReadmeExample {
  /** Line of the answer block in README.md (1-based), to name the example in failures. */
  readonly line: number;
  readonly scene: string;
  /** The shell lines, as written. */
  readonly commands: string;
  readonly shown:
    | { readonly kind: 'http'; readonly answers: readonly ShownAnswer[] }
    | { readonly kind: 'output'; readonly text: string };
}

/** One exchange the curl stand-in recorded (test/support/readme-curl.mjs). */
export interface RecordedExchange {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly statusText: string;
  /** The raw header names and values, in the order received. */
  readonly rawHeaders: readonly string[];
  readonly body: string;
}

interface FencedBlock {
  readonly line: number;
  readonly lang: string;
  readonly text: string;
  /** The scene of `<!-- example: NAME -->` on the last non-blank line before the fence. */
  readonly scene: string | undefined;
}

const FENCE = /^```(\S*)\s*$/;
const MARKER = /^<!-- example: ([a-z0-9-]+) -->$/;
const CURL = /(^|[\s;|&(])curl\s/m;

function fencedBlocks(markdown: string): FencedBlock[] {
  const lines = markdown.split('\n');
  const blocks: FencedBlock[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = FENCE.exec(lines[i] ?? '');
    if (!open) continue;
    let before = i - 1;
    while (before >= 0 && (lines[before] ?? '').trim() === '') before -= 1;
    const marker = MARKER.exec((lines[before] ?? '').trim());
    const start = i;
    i += 1;
    while (i < lines.length && (lines[i] ?? '').trim() !== '```') i += 1;
    if (i >= lines.length) throw new Error(`README.md:${start + 1}: a code block that is never closed`);
    blocks.push({
      line: start + 1,
      lang: open[1] ?? '',
      text: lines.slice(start + 1, i).join('\n'),
      scene: marker?.[1],
    });
  }
  return blocks;
}

function parseHttpAnswers(block: FencedBlock): ShownAnswer[] {
  const where = `README.md:${block.line}`;
  const lines = block.text.split('\n');
  const starts = lines.flatMap((line, index) => (/^HTTP\/1\.1 /.test(line) ? [index] : []));
  if (starts[0] !== 0) throw new Error(`${where}: an http answer block starts with its status line`);
  return starts.map((start, n) => {
    const own = lines.slice(start, starts[n + 1] ?? lines.length);
    const statusLine = /^HTTP\/1\.1 (\d{3}) (.+)$/.exec(own[0] ?? '');
    if (!statusLine) throw new Error(`${where}: not a status line: ${own[0]}`);
    const blank = own.indexOf('');
    if (blank < 0) throw new Error(`${where}: no blank line between the headers and the body of "${own[0]}"`);
    const headers = own.slice(1, blank).map((line): [string, string] => {
      const colon = line.indexOf(': ');
      if (colon < 1) throw new Error(`${where}: not a header line: ${line}`);
      return [line.slice(0, colon), line.slice(colon + 2)];
    });
    return {
      status: Number(statusLine[1]),
      reason: statusLine[2] ?? '',
      headers,
      body: own
        .slice(blank + 1)
        .join('\n')
        .trim(),
    };
  });
}

/**
 * Every example of the README, in order. Throws, naming the line, on a curl
 * block without an answer, an answer without a curl block before it, or an
 * answer block that does not parse: the format is part of what is tested.
 */
export function readmeExamples(markdown: string): ReadmeExample[] {
  const examples: ReadmeExample[] = [];
  let commands: FencedBlock | undefined;
  let answered = true;
  const unanswered = () =>
    new Error(`README.md:${commands?.line ?? 0}: curl commands without an answer block after them`);
  for (const block of fencedBlocks(markdown)) {
    if (block.lang === 'sh') {
      if (!answered) throw unanswered();
      commands = CURL.test(block.text) ? block : undefined;
      answered = commands === undefined;
      continue;
    }
    if (block.scene === undefined) {
      // A curl line in a block of another language would escape the test.
      if (/^\s*curl\s/m.test(block.text)) throw new Error(`README.md:${block.line}: curl commands go in an sh block`);
      continue;
    }
    if (!commands) throw new Error(`README.md:${block.line}: an example answer with no curl block before it`);
    if (block.lang !== 'http' && block.lang !== 'text') {
      throw new Error(`README.md:${block.line}: an example answer is an http or a text block, not ${block.lang}`);
    }
    examples.push({
      line: block.line,
      scene: block.scene,
      commands: commands.text,
      shown:
        block.lang === 'http'
          ? { kind: 'http', answers: parseHttpAnswers(block) }
          : { kind: 'output', text: block.text },
    });
    answered = true;
  }
  if (!answered) throw unanswered();
  return examples;
}

const PLACEHOLDER = '<prediction_id>';
const UUID_V4 = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';

/** The ids one example's placeholders stand for: all one id, the scene's `$ID` if it gave one. */
export class PlaceholderBindings {
  private id: string | undefined;
  constructor(sceneId?: string) {
    this.id = sceneId;
  }

  /** Whether `actual` is `shown` with each placeholder replaced by the same UUID v4. */
  matches(shown: string, actual: string): boolean {
    const pattern = shown
      .split(PLACEHOLDER)
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join(`(${UUID_V4})`);
    const found = new RegExp(`^${pattern}$`).exec(actual);
    if (!found) return false;
    for (const id of found.slice(1)) {
      this.id ??= id;
      if (id !== this.id) return false;
    }
    return true;
  }
}

/**
 * What differs between an answer the README shows and the real one, as
 * readable lines; empty when they agree.
 */
export function answerDifferences(shown: ShownAnswer, real: RecordedExchange, ids: PlaceholderBindings): string[] {
  const differences: string[] = [];
  if (shown.status !== real.status || shown.reason !== real.statusText) {
    differences.push(`status: shown "${shown.status} ${shown.reason}", real "${real.status} ${real.statusText}"`);
  }
  for (const [name, value] of shown.headers) {
    const values: string[] = [];
    for (let i = 0; i < real.rawHeaders.length; i += 2) {
      if (real.rawHeaders[i] === name) values.push(real.rawHeaders[i + 1] ?? '');
    }
    if (values.length !== 1 || !ids.matches(value, values[0] ?? '')) {
      differences.push(
        `header ${name}: shown "${value}", real ${values.length === 0 ? 'absent' : JSON.stringify(values)}`,
      );
    }
  }
  if (!ids.matches(shown.body, real.body)) differences.push(`body: shown ${shown.body}\n      real  ${real.body}`);
  return differences;
}

/** Consecutive repeated lines as one, trailing blank lines dropped. */
function collapsed(text: string): string {
  return text
    .split('\n')
    .filter((line, index, lines) => index === 0 || line !== lines[index - 1])
    .join('\n')
    .trimEnd();
}

/** What differs between the output the README shows and what the commands printed. */
export function outputDifferences(shown: string, printed: string, ids: PlaceholderBindings): string[] {
  return ids.matches(collapsed(shown), collapsed(printed))
    ? []
    : [`output: shown\n${collapsed(shown)}\n      printed\n${collapsed(printed)}`];
}
