/**
 * Polls `done` every `everyMs` until it holds, failing after `ms` with a message naming what was
 * awaited (`what` may be a function, to put the last value seen into the message).
 */
export async function waitFor(what: string | (() => string), ms: number, done: () => boolean | Promise<boolean>, everyMs = 25): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
