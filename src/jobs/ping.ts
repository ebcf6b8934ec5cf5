// A job that does nothing: checks a worker end to end and measures the queue itself (bench/jobs.ts).
import { Type } from '@sinclair/typebox';
import { defineJob } from './deps.js';

export const pingJob = defineJob({
  name: 'jobs.ping',
  lane: 'default',
  payload: { n: Type.Optional(Type.Integer()) },
  attempts: 1,
  async handle() {},
});
