// The directory's jobs: a CSV import run (dry or real), recorded in directory_imports.
import { Type } from '@sinclair/typebox';
import { defineJob } from '../jobs/deps.js';
import { createImports, DEFAULT_DEACTIVATION_THRESHOLD } from './imports.js';

export const directoryImportCsvJob = defineJob({
  name: 'directory.import-csv',
  lane: 'default',
  payload: { importId: Type.String({ pattern: '^[0-9a-f-]{36}$' }) },
  attempts: 3,
  backoffMs: 5000,
  async handle(payload, context, deps) {
    const tenant = deps.registry.all().find((t) => t.id === payload.tenantId);
    const threshold = tenant?.declaration.directory?.deactivationThreshold ?? DEFAULT_DEACTIVATION_THRESHOLD;
    return { status: await createImports(deps.database).runCsv(payload.tenantId, payload.importId, threshold, context.log) };
  },
});
