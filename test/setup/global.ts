// Runs once before the test files (tap "before"): the migrated template they clone.
import { ensureTemplate } from '../helpers/template.js';

await ensureTemplate();
