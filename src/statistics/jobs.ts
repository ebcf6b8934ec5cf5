// statistics.rollup (yesterday and its month, twice a day: idempotent) and statistics.purge
// (per-person counts, usage_person_days, past the declaration's retention), scheduled in src/jobs/schedules.ts.
import { Type } from '@sinclair/typebox';
import { UnrecoverableError } from 'bullmq';
import { defineJob } from '../jobs/deps.js';
import { addDays, dayIn, purgeEvents, rollupDay, rollupMonth, statisticsSettings } from './rollup.js';

export const statisticsRollupJob = defineJob({
  name: 'statistics.rollup',
  lane: 'default',
  payload: {
    /** The day to roll up (YYYY-MM-DD); yesterday in Europe/Paris when absent (the schedule). */
    day: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
  },
  attempts: 5,
  async handle(payload, { log }, { database, registry }) {
    const tenant = registry.byId(payload.tenantId);
    if (!tenant) throw new UnrecoverableError(`no tenant ${payload.tenantId} in the registry`);
    const { retentionDays } = statisticsSettings(tenant.declaration);
    const day = payload.day ?? addDays(dayIn(new Date()), -1);
    const daily = await rollupDay(database, tenant.id, day, retentionDays);
    const monthly = await rollupMonth(database, tenant.id, day, retentionDays);
    log.info({ day, daily, monthly }, 'usage rolled up');
    return { day, daily, monthly };
  },
});

export const statisticsPurgeJob = defineJob({
  name: 'statistics.purge',
  lane: 'default',
  payload: {},
  attempts: 3,
  async handle(payload, { log }, { database, registry }) {
    const tenant = registry.byId(payload.tenantId);
    if (!tenant) throw new UnrecoverableError(`no tenant ${payload.tenantId} in the registry`);
    const { retentionDays } = statisticsSettings(tenant.declaration);
    const deleted = await purgeEvents(database, tenant.id, retentionDays);
    log.info({ deleted, retentionDays }, 'usage events past retention purged');
    return { deleted };
  },
});
