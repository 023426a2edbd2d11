// Summarises V8 CPU profiles (`pnpm bench -- --profile` writes them to
// bench/results/profiles): self time by function and by package, busy time
// only (idle excluded). Usage: node bench/dist/profile-summary.js [--top N] FILE...
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly ms: number;
  /** Of the busy (non-idle) time. */
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly busyMs: number;
  readonly functions: readonly SelfTime[];
  readonly packages: readonly SelfTime[];
}

const IDLE = '(idle)';

/** Where code comes from: a package, node's internals, or a workspace's own dist. */
export function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node:internal';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scope, name] = url.slice(modules + '/node_modules/'.length).split('/');
    return scope?.startsWith('@') ? `${scope}/${name ?? ''}` : (scope ?? url);
  }
  const workspace = /\/(apps\/[^/]+|packages\/[^/]+|bench)\//.exec(url);
  return workspace?.[1] ?? url;
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  return url.replace(/^file:\/\/.*?\/(apps|packages|bench)\//, '$1/');
}

function ranked(totals: Map<string, number>, busyMs: number): SelfTime[] {
  return [...totals.entries()]
    .filter(([name]) => name !== IDLE)
    .map(([name, ms]) => ({ name, ms, share: busyMs > 0 ? ms / busyMs : 0 }))
    .sort((a, b) => b.ms - a.ms);
}

/** Self time per function and per package; the time before each sample is charged to that sample's node. */
export function summariseProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  profile.samples.forEach((nodeId, index) => {
    const ms = (profile.timeDeltas[index] ?? 0) / 1000;
    const node = byId.get(nodeId);
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    totalMs += ms;
    if (functionName === IDLE) {
      idleMs += ms;
      return;
    }
    const name = url ? `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}` : functionName;
    functions.set(name, (functions.get(name) ?? 0) + ms);
    const pkg = packageOf(url, functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + ms);
  });
  const busyMs = totalMs - idleMs;
  return { totalMs, busyMs, functions: ranked(functions, busyMs), packages: ranked(packages, busyMs) };
}

function lines(rows: readonly SelfTime[], top: number): string[] {
  return rows
    .slice(0, top)
    .map((row) => `${row.ms.toFixed(0).padStart(8)} ms ${(row.share * 100).toFixed(1).padStart(5)}%  ${row.name}`);
}

function main(): void {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string' } }, allowPositionals: true });
  const top = Number(values.top ?? '25');
  if (positionals.length === 0) {
    process.stderr.write('usage: node bench/dist/profile-summary.js [--top N] FILE.cpuprofile...\n');
    process.exitCode = 2;
    return;
  }
  for (const file of positionals) {
    const summary = summariseProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
    const out = [
      `== ${basename(file)}: ${(summary.totalMs / 1000).toFixed(1)} s profiled, ${(summary.busyMs / 1000).toFixed(1)} s busy`,
      '-- self time by package',
      ...lines(summary.packages, 12),
      `-- self time by function (top ${top})`,
      ...lines(summary.functions, top),
      '',
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  }
}

if (process.argv[1] && import.meta.url.endsWith(basename(process.argv[1]))) main();
