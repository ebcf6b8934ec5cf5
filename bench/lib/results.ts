// bench/results/<name>.json: {"figures": {"<figure>": {value, unit, target?, better}}}, plus the
// conditions of the run, so a figure can be compared with the next run of the same bench.
import { mkdir, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import os from 'node:os';

export interface Figure {
  value: number;
  unit: string;
  target?: number;
  better: 'higher' | 'lower';
}

export type Figures = Record<string, Figure>;

export function meetsTarget(figure: Figure): boolean | undefined {
  if (figure.target === undefined) return undefined;
  return figure.better === 'higher' ? figure.value >= figure.target : figure.value <= figure.target;
}

function commit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export async function writeResults(name: string, figures: Figures, conditions: Record<string, unknown>): Promise<string> {
  const file = `bench/results/${name}.json`;
  await mkdir('bench/results', { recursive: true });
  const run = { date: new Date().toISOString(), commit: commit(), node: process.version, cpus: os.cpus().length, ...conditions };
  await writeFile(file, `${JSON.stringify({ figures, conditions: run }, null, 2)}\n`);
  return file;
}

export function printFigures(figures: Figures): void {
  const width = Math.max(...Object.keys(figures).map((k) => k.length));
  for (const [name, f] of Object.entries(figures)) {
    const met = meetsTarget(f);
    const target = f.target === undefined ? '' : `  (target ${f.better === 'higher' ? '>=' : '<='} ${f.target}${f.unit}: ${met ? 'met' : 'MISSED'})`;
    console.log(`${name.padEnd(width)}  ${String(f.value).padStart(9)} ${f.unit}${target}`);
  }
}
