import { describe, expect, it } from 'vitest';
import { packageOf, summariseProfile } from '../src/profile-summary.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

describe('summariseProfile', () => {
  it('charges each sample’s time to its function and package, idle excluded from the busy share', () => {
    const summary = summariseProfile({
      nodes: [
        { id: 1, callFrame: frame('(idle)') },
        { id: 2, callFrame: frame('predictNow', 'file:///repo/apps/api/dist/prediction-service.js', 26) },
        {
          id: 3,
          callFrame: frame('Command', 'file:///repo/node_modules/.pnpm/x/node_modules/ioredis/built/Command.js', 36),
        },
      ],
      samples: [1, 2, 3, 2],
      timeDeltas: [4000, 1000, 1000, 2000],
    });
    expect(summary.totalMs).toBe(8);
    expect(summary.busyMs).toBe(4);
    expect(summary.functions[0]).toEqual({
      name: 'predictNow apps/api/dist/prediction-service.js:27',
      ms: 3,
      share: 0.75,
    });
    expect(summary.packages.map((row) => row.name)).toEqual(['apps/api', 'ioredis']);
  });
});

describe('packageOf', () => {
  it('names scoped packages, node internals and native frames', () => {
    expect(packageOf('file:///r/node_modules/.pnpm/a/node_modules/@fastify/swagger/index.js', 'f')).toBe(
      '@fastify/swagger',
    );
    expect(packageOf('node:internal/timers', 'f')).toBe('node:internal');
    expect(packageOf('', '(garbage collector)')).toBe('(garbage collector)');
    expect(packageOf('', 'writev')).toBe('(native)');
  });
});
