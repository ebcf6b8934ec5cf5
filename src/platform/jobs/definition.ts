// A job: its name, its payload schema (TypeBox, always with tenantId) and its handler. The
// handler gets the validated payload, the job's context and the dependencies its role wires.
import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Logger } from 'pino';

export const TenantId = Type.String({
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
  description: 'the tenant the job works for',
});

export interface JobContext {
  readonly jobId: string;
  /** 1 on the first run, 2 on the first retry... */
  readonly attempt: number;
  readonly log: Logger;
}

export interface JobDefinition<N extends string = string, P extends TProperties = TProperties, D = unknown> {
  readonly name: N;
  /** The queue family the job runs in (per tenant): mail is rate-limited and never waits behind imports. */
  readonly lane: string;
  readonly schema: TObject<P & { tenantId: typeof TenantId }>;
  /** Tries in all (first run included); retries back off exponentially from backoffMs. */
  readonly attempts: number;
  readonly backoffMs: number;
  handle(payload: Static<TObject<P & { tenantId: typeof TenantId }>>, context: JobContext, deps: D): Promise<unknown>;
}

export type PayloadOf<J> = J extends JobDefinition<string, infer P> ? Static<TObject<P & { tenantId: typeof TenantId }>> : never;

/** tenantId is added to every payload schema here, so no job can be declared without it. */
export function defineJob<D>() {
  return <const N extends string, P extends TProperties>(definition: {
    name: N;
    lane: string;
    payload: P;
    attempts?: number;
    backoffMs?: number;
    handle: JobDefinition<N, P, D>['handle'];
  }): JobDefinition<N, P, D> => ({
    name: definition.name,
    lane: definition.lane,
    schema: Type.Object({ ...definition.payload, tenantId: TenantId }, { additionalProperties: false }) as JobDefinition<N, P, D>['schema'],
    attempts: definition.attempts ?? 8,
    backoffMs: definition.backoffMs ?? 2000,
    handle: definition.handle,
  });
}

export class InvalidPayloadError extends Error {
  override name = 'InvalidPayloadError';
}

/** The payload's problems, as one line naming each field (or nothing when it is valid). */
export function payloadProblems(definition: JobDefinition<string, TProperties, never>, data: unknown): string | undefined {
  if (Value.Check(definition.schema, data)) return undefined;
  const problems = [...Value.Errors(definition.schema, data)].slice(0, 5).map((e) => `${e.path || '/'}: ${e.message}`);
  return `invalid payload for ${definition.name}: ${problems.join('; ')}`;
}
