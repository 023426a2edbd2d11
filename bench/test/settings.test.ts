import { describe, expect, it } from 'vitest';
import { parseSettings } from '../src/settings.js';

const NAMES = ['sync', 'async'];

describe('bench settings', () => {
  it('times each load run by default, 10 s after a 3 s warm-up', () => {
    const settings = parseSettings([], NAMES);
    expect(settings).toMatchObject({ durationS: 10, warmupS: 3, smoke: false });
    expect(settings?.requestsPerRun).toBeUndefined();
  });

  it('in smoke mode, counts 200 requests a load run instead of timing it, with no warm-up', () => {
    expect(parseSettings(['--smoke'], NAMES)).toMatchObject({ requestsPerRun: 200, warmupS: 0, runs: 1 });
  });

  it('in smoke mode with --duration, times the runs as asked', () => {
    const settings = parseSettings(['--smoke', '--duration', '2'], NAMES);
    expect(settings).toMatchObject({ durationS: 2, smoke: true });
    expect(settings?.requestsPerRun).toBeUndefined();
  });
});
