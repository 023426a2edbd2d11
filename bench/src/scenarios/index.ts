import type { Scenario } from '../scenario.js';
import { asyncPredict } from './async-predict.js';
import { backlogDrain } from './backlog-drain.js';
import { exampleModel } from './example-model.js';
import { getPrediction } from './get-prediction.js';
import { jobMemory } from './job-memory.js';
import { longPoll } from './long-poll.js';
import { modelBatching } from './model-batching.js';
import { modelWorkers } from './model-workers.js';
import { slowModel } from './slow-model.js';
import { syncPredict } from './sync-predict.js';

/** Every scenario, in the order a run takes them. */
export const SCENARIOS: readonly Scenario[] = [
  syncPredict,
  asyncPredict,
  getPrediction,
  jobMemory,
  backlogDrain,
  slowModel,
  longPoll,
  modelWorkers,
  modelBatching,
  exampleModel,
];
