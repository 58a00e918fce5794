// Where downloaded and converted datasets live: $ROBUSTA_DATA, else ~/.cache/robusta.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The root folder of robusta's dataset cache (not created here). */
export function dataDir(override?: string): string {
  if (override !== undefined && override !== '') return resolve(override);
  const env = process.env.ROBUSTA_DATA;
  if (env !== undefined && env !== '') return resolve(env);
  return join(homedir(), '.cache', 'robusta');
}
