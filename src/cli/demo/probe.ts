// Finding the gateway at --url: whether anything answers, whether it is driftgate, whether the model
// is ready.
import { oneLine } from '../args.js';
import { sleep } from './client.js';

export type Probe = { kind: 'driftgate' } | { kind: 'none'; message: string } | { kind: 'error'; message: string };

/** Whether a driftgate gateway answers at `url`; `none` when nothing listens there. */
export async function probe(url: string): Promise<Probe> {
  try {
    const res = await fetch(`${url}/v2/health/live`, { signal: AbortSignal.timeout(3_000) });
    await res.arrayBuffer();
    if (res.status === 200) return { kind: 'driftgate' };
    return { kind: 'error', message: `${url}/v2/health/live answered ${res.status}: is this a driftgate gateway?` };
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EADDRNOTAVAIL') return { kind: 'none', message: code };
    return { kind: 'error', message: `${url} is unreachable: ${oneLine((err as { cause?: unknown }).cause ?? err)}` };
  }
}

export async function waitReady(url: string, model: string, ms: number, signal?: AbortSignal): Promise<string | undefined> {
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline && !signal?.aborted) {
    try {
      const res = await fetch(`${url}/v2/models/${encodeURIComponent(model)}/ready`, { signal: AbortSignal.timeout(3_000) });
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) return undefined;
      if (res.status === 404) return `the gateway at ${url} does not serve model ${model} (${last.trim()})`;
    } catch (err) {
      last = oneLine(err);
    }
    await sleep(250, signal);
  }
  return `model ${model} is not ready at ${url} after ${ms / 1000} s (${last.trim()})`;
}
