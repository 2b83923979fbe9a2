// `driftgate demo`: the retrain loop, seen from outside. It drives Iris traffic with delayed labels at
// a running stack (or starts one in this process when nothing answers at --url), injects a drift
// after --at, and prints what happens as it happens: the client's own accuracy, the monitor's
// decisions, the retrain job and its phases, the gate's verdict, the swap, the accuracy after. It
// ends with a summary and the time-to-recover split of bench/loop.ts, and exits 0 only when the
// model recovered (1 when not within --timeout, 2 on bad flags or no stack, 130 on Ctrl-C).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT_USAGE, isInputError, oneLine } from './args.js';
import { DemoClient, RollingAccuracy, sleep } from './demo/client.js';
import type { RoundResult } from './demo/client.js';
import { DEMO_USAGE, parseDemoFlags } from './demo/flags.js';
import type { DemoOptions } from './demo/flags.js';
import { MetricsObserver, StatusObserver, hasStatusPage } from './demo/observe.js';
import type { Snapshot, StackObserver } from './demo/observe.js';
import { probe, waitReady } from './demo/probe.js';
import { startOwnStack } from './demo/own-stack.js';
import type { OwnStack } from './demo/own-stack.js';
import { DemoOutput, accuracyOf, emptyPeriod, judge, recoverySplit, summaryLines, RECOVERY_RATIO } from './demo/report.js';
import type { Period, Split } from './demo/report.js';
import { EXIT_TERMINATED, StopSignal } from './demo/stop-signal.js';
import { Timeline } from './demo/timeline.js';
import { describeDrift, irisTraffic, loadIrisRows } from './demo/traffic.js';

export const EXIT_RECOVERED = 0;
export const EXIT_NOT_RECOVERED = 1;

/** Rows the progress line's accuracy is over. */
const ROLLING_ROWS = 200;
const POLL_MS = 400;
/** After the monitor saw the drift (or a job ended without a promotion): how long to wait for a retrain request. */
const STALL_MS = 30_000;
/** The default policy's cooldown, used to explain a missing retrain on a stack the demo did not start. */
const DEFAULT_COOLDOWN_MS = 3_600_000;
/** Failed requests in a row after which the gateway counts as gone. */
const MAX_FAILURES_IN_ROW = 50;
const PACKAGE_MODELS = fileURLToPath(new URL('../../models', import.meta.url));

export async function demoCommand(argv: string[]): Promise<number> {
  let opts: DemoOptions | 'help';
  try {
    opts = parseDemoFlags(argv);
  } catch (err) {
    if (!isInputError(err)) throw err;
    process.stderr.write(`driftgate demo: ${oneLine(err)}\n`);
    return EXIT_USAGE;
  }
  if (opts === 'help') {
    process.stdout.write(DEMO_USAGE + '\n');
    return 0;
  }
  const stop = new StopSignal();
  try {
    return await demo(opts, stop);
  } finally {
    stop.dispose();
  }
}

async function demo(opts: DemoOptions, stop: StopSignal): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`driftgate demo: ${message}\n`);
    return EXIT_USAGE;
  };
  const repo = !existsSync(opts.repo) && opts.repo === './models' && existsSync(PACKAGE_MODELS) ? PACKAGE_MODELS : opts.repo;
  let data: ReturnType<typeof loadIrisRows>;
  try {
    data = loadIrisRows(repo, opts.model);
  } catch (err) {
    return fail(oneLine(err));
  }

  const found = await probe(opts.url);
  let own: OwnStack | undefined;
  let url = opts.url;
  if (found.kind === 'error') return fail(found.message);
  if (found.kind === 'none') {
    const target = new URL(opts.url);
    const host = target.hostname.replace(/^\[|\]$/g, '');
    if (opts.attachOnly) return fail(`nothing answers at ${opts.url} (${found.message}) and --attach forbids starting a stack`);
    if (!['localhost', '127.0.0.1', '::1', '0.0.0.0'].includes(host) || target.protocol !== 'http:') {
      return fail(`nothing answers at ${opts.url} (${found.message}); the demo starts a stack of its own only on this machine (http://localhost:<port>)`);
    }
    const port = Number(target.port || 80);
    process.stdout.write(`nothing answers at ${opts.url}: starting driftgate in this process on port ${port}…\n`);
    try {
      own = await startOwnStack({ repo, model: opts.model, host: host === 'localhost' ? '127.0.0.1' : host, port, labelToken: opts.token });
    } catch (err) {
      return fail(`could not start a stack on port ${port}: ${oneLine(err)}`);
    }
    url = own.url;
  }

  try {
    if (stop.stopped) return stop.exitCode;
    return await run(opts, url, own, data, stop);
  } finally {
    await own?.close();
  }
}

async function run(opts: DemoOptions, url: string, own: OwnStack | undefined, data: ReturnType<typeof loadIrisRows>, stop: StopSignal): Promise<number> {
  const notReady = await waitReady(url, opts.model, 30_000, stop.signal);
  if (stop.stopped) return stop.exitCode;
  if (notReady) {
    process.stderr.write(`driftgate demo: ${notReady}\n`);
    return EXIT_USAGE;
  }
  const startedAt = Date.now();
  const out = new DemoOutput(process.stdout, process.stdout.isTTY === true, startedAt, 5_000, () => process.stdout.columns ?? 0);
  const observer: StackObserver = (await hasStatusPage(url)) ? new StatusObserver(url, opts.model) : new MetricsObserver(url, opts.model, own?.adminToken ?? opts.adminToken);
  const atText = 'seconds' in opts.at ? `${opts.at.seconds} s` : `${opts.at.labels} labels`;
  out.text(
    own
      ? `driftgate running in this process at ${url} (status page ${url}/status): embedded bus, a temporary copy of ${opts.model} in ${own.dir}, demo policy (performance over 100 labels, drift windows of 150, both retrain, no cooldown; 300 rows to train on)`
      : `attached to the stack at ${url}: its own policy applies (the default judges 500 labels, from 200, with a 1 h cooldown between retrains)`,
  );
  out.text(`model ${opts.model}; ${opts.rate} requests/s of ${opts.batch} rows, labels ${opts.labelDelayMs} ms later; drift (${opts.drift}) after ${atText}; timeout ${opts.timeoutMs / 1000} s`);
  out.text(`rows: ${data.rows.length} Iris flowers from ${data.source}`);
  out.text(
    observer.kind === 'status'
      ? `following ${url}/status/models`
      : `no status page on this gateway (GET /status/models is not there): following ${url}/metrics${observer.exact ? ` and the job records of /admin/models/${opts.model}/retrains` : ' (job phases from counters; gate scores need /status or --admin-token)'}`,
  );

  const client = new DemoClient({ url, model: opts.model, rate: opts.rate, labelDelayMs: opts.labelDelayMs, token: opts.token });
  const next = irisTraffic(data.rows, opts.seed);
  const timeline = new Timeline(startedAt);
  const rolling = new RollingAccuracy(ROLLING_ROWS);
  const periods: Record<'before' | 'during' | 'after', Period> = { before: emptyPeriod(), during: emptyPeriod(), after: emptyPeriod() };
  const abort = new AbortController();
  let phase: 'before' | 'during' | 'after' = 'before';
  let onset: number | undefined;
  let served: number | undefined;
  let afterStart: number | undefined;
  let initialVersion = '';
  let lastVersion = '';
  let last: Snapshot | undefined;
  let stopReason: string | undefined;
  let interrupted = false;
  let finished = false;
  let failuresInRow = 0;
  let waitingNoted = false;
  /** When the monitor saw the drift or a job ended unpromoted, and no retrain request came since. */
  let stallSince: number | undefined;
  let observeError: string | undefined;

  const onStop = () => {
    interrupted = true;
    abort.abort();
  };
  if (stop.stopped) onStop();
  else stop.signal.addEventListener('abort', onStop, { once: true });

  const observe = async (): Promise<void> => {
    try {
      last = await observer.snapshot();
      for (const l of timeline.update(last)) out.line(l.text, Math.min(l.at, Date.now()));
      observeError = undefined;
    } catch (err) {
      if (observeError === undefined) out.line(`could not read the stack's state: ${oneLine(err)}`);
      observeError = oneLine(err);
    }
  };
  await observe();
  const lastRequest = timeline.retrainRequests.at(-1);
  const cooldownSuspected = !own && lastRequest !== undefined && Date.now() - lastRequest < DEFAULT_COOLDOWN_MS;
  if (cooldownSuspected) {
    out.text(
      `note: the monitor asked for a retrain of ${opts.model} ${minutesAgo(lastRequest!)}; with the default policy's 1 h cooldown it asks again only after ${clock(lastRequest! + DEFAULT_COOLDOWN_MS)}, so this run may see the drift detected but no retrain`,
    );
  }
  const observing = (async () => {
    while (!finished) {
      await sleep(POLL_MS, abort.signal);
      if (!finished) await observe();
    }
  })();

  const deadline = startedAt + opts.timeoutMs;
  const record = (r: RoundResult) => {
    if (r.rows === 0) return;
    const p = periods[phase];
    p.rows += r.rows;
    p.correct += r.correct;
    p.versions.add(r.version);
    rolling.add(r.correct, r.rows);
  };

  while (!interrupted) {
    const now = Date.now();
    if (now > deadline) {
      stopReason = `timeout: ${opts.timeoutMs / 1000} s passed`;
      break;
    }
    if (client.authError) {
      stopReason = client.authError.message;
      break;
    }
    if (phase === 'before' && ('seconds' in opts.at ? now - startedAt >= opts.at.seconds * 1000 : periods.before.rows >= opts.at.labels)) {
      phase = 'during';
      out.line(`drift injected: ${describeDrift(opts.drift)}; accuracy before ${fmt(accuracyOf(periods.before))} on version ${initialVersion || '?'}`);
    }
    const r = await client.round(next(opts.batch, phase === 'before' ? undefined : opts.drift), abort.signal);
    if (interrupted) break;
    failuresInRow = r.rows === 0 ? failuresInRow + 1 : 0;
    if (failuresInRow >= MAX_FAILURES_IN_ROW) {
      stopReason = `${MAX_FAILURES_IN_ROW} requests in a row failed: the gateway stopped answering`;
      break;
    }
    if (r.version) lastVersion = r.version;
    if (phase === 'before' && r.version) initialVersion = r.version;
    if (phase === 'during') {
      onset ??= r.sentAt;
      if (r.version && r.version !== initialVersion) {
        served = r.doneAt;
        phase = 'after';
        afterStart = Date.now();
        out.line(`swap: version ${r.version} serving (first answer from it, ${((r.doneAt - onset) / 1000).toFixed(1)} s after the drift)`, r.doneAt);
      } else {
        const verdict = loopVerdict(timeline, onset, periods, stallSince, cooldownSuspected);
        stallSince = verdict.stallSince;
        if (verdict.ended && !verdict.dropped) {
          phase = 'after';
          afterStart = Date.now();
          out.line(`the loop ended without a new version and accuracy never dropped: measuring ${opts.afterS} s more on version ${initialVersion}`);
        } else if (verdict.ended && !waitingNoted) {
          waitingNoted = true;
          out.line(`version ${initialVersion} keeps serving; waiting for the monitor to ask for another retrain`);
        }
        if (stallSince !== undefined && Date.now() - stallSince > STALL_MS) {
          stopReason = stallMessage(timeline, own !== undefined, stallSince, startedAt);
          break;
        }
      }
    }
    if (phase === 'after' && served === undefined && r.version && r.version !== initialVersion) {
      // The loop went round again after a job that kept the champion (a data-drift retrain without a
      // cooldown): measure the version it promoted instead.
      served = r.doneAt;
      afterStart = Date.now();
      periods.after = emptyPeriod();
      out.line(`swap: version ${r.version} serving (first answer from it, ${((r.doneAt - onset!) / 1000).toFixed(1)} s after the drift); measuring ${opts.afterS} s on it`, r.doneAt);
    }
    record(r);
    if (phase === 'after' && afterStart !== undefined && Date.now() - afterStart >= opts.afterS * 1000) break;
    out.progress(progressText(client.requests, rolling, lastVersion, last, phase, onset, startedAt, deadline));
  }

  finished = true;
  abort.abort();
  await client.stop();
  await observing;
  if (interrupted) out.line(`${stop.exitCode === EXIT_TERMINATED ? 'terminated (SIGTERM)' : 'interrupted (Ctrl-C)'}: traffic stopped`);
  else if (stopReason) out.line(`stopped: ${stopReason}`);
  // The job record of a swap seen by the client may not have been polled yet.
  const promotedJob = () => [...timeline.promoted.values()].find((j) => String(j.challenger) === lastVersion);
  if (served !== undefined && observer.exact) {
    for (let i = 0; i < 10 && !promotedJob(); i++) {
      await sleep(POLL_MS);
      await observe();
    }
  }
  out.clear();

  const facts = {
    before: periods.before,
    during: periods.during,
    after: periods.after,
    initialVersion,
    finalVersion: lastVersion,
    drifted: onset !== undefined,
    measuredAfter: afterStart !== undefined,
  };
  const verdict = judge(facts);
  let split: Split | undefined;
  let splitNote: string | undefined;
  if (onset !== undefined && served !== undefined) {
    const job = promotedJob();
    split = recoverySplit(onset, served, job);
    if (!job) splitNote = 'no job record of the promotion was read: only the total is known';
    else if (!observer.exact) splitNote = 'from /metrics counters: detect is when the demo saw the request, wait and gateway are unknown';
  } else if (onset !== undefined) {
    splitNote = 'no new version served: no time to recover to split';
  }
  for (const line of summaryLines({ ...facts, verdict, split, splitNote, requests: client.requests, failedRequests: client.failedRequests, labelsSent: client.labelsSent, failedLabels: client.failedLabels, elapsedS: (Date.now() - startedAt) / 1000 })) {
    out.text(line);
  }
  if (own && own.errors.length > 0 && !verdict.recovered) out.text(`\nthe stack logged ${own.errors.length} errors; the last: ${own.errors.at(-1)}`);
  if (interrupted) return stop.exitCode;
  if (client.authError) return EXIT_USAGE;
  return verdict.recovered ? EXIT_RECOVERED : EXIT_NOT_RECOVERED;
}

/**
 * Where the loop stands after the drift: whether a job asked for after it ended without a promotion,
 * whether accuracy dropped, and since when the monitor has seen the drift without a retrain request
 * (undefined while a job is open or a request came after the last sighting).
 */
function loopVerdict(
  timeline: Timeline,
  onset: number,
  periods: Record<'before' | 'during', Period>,
  stallSince: number | undefined,
  cooldownSuspected: boolean,
): { ended: boolean; dropped: boolean; stallSince: number | undefined } {
  const jobs = [...timeline.jobs.values()].filter((j) => Date.parse(j.trigger.requestedAt) >= onset - 1000);
  const open = jobs.some((j) => !['promoted', 'rejected', 'failed', 'cancelled'].includes(j.state));
  const endedAt = jobs.filter((j) => ['rejected', 'failed', 'cancelled'].includes(j.state)).map((j) => Date.parse(j.updatedAt ?? '') || Date.now());
  const before = accuracyOf(periods.before) ?? 1;
  const during = accuracyOf(periods.during);
  const dropped = during !== undefined && periods.during.rows >= 100 && during < RECOVERY_RATIO * before;
  const ended = !open && endedAt.length > 0;
  if (open) return { ended, dropped, stallSince: undefined };
  const lastRequest = timeline.retrainRequests.at(-1) ?? 0;
  // A stack in its cooldown may not even report the drift again (a version stays degraded): the
  // drift itself then starts the wait.
  const seen = [...timeline.detections.filter((t) => t >= onset - 1000), ...endedAt, ...(cooldownSuspected ? [onset] : [])].filter((t) => t > lastRequest);
  const since = seen.length > 0 ? Math.min(...seen) : undefined;
  return { ended, dropped, stallSince: since === undefined ? undefined : (stallSince ?? Date.now()) };
}

function stallMessage(timeline: Timeline, ownStack: boolean, stallSince: number, startedAt: number): string {
  const lastRequest = timeline.retrainRequests.at(-1);
  const quiet = `no retrain.requested came within ${STALL_MS / 1000} s of +${((stallSince - startedAt) / 1000).toFixed(1)}s`;
  if (!ownStack && lastRequest !== undefined && Date.now() - lastRequest < DEFAULT_COOLDOWN_MS) {
    return `${quiet}: the monitor's last retrain.requested was at ${clock(lastRequest)} (${minutesAgo(lastRequest)}), and the default policy's cooldown (1 h) holds the next one until ${clock(lastRequest + DEFAULT_COOLDOWN_MS)}. Run the demo on a stack of its own (e.g. --url http://localhost:8090, where nothing listens) or restart this one`;
  }
  return `${quiet}: the monitor saw the drift but its policy asked for no retrain (an action of 'report', or a cooldown)`;
}

function progressText(requests: number, rolling: RollingAccuracy, version: string, s: Snapshot | undefined, phase: string, onset: number | undefined, startedAt: number, deadline: number): string {
  const parts = [`requests ${requests}`, `accuracy (last ${rolling.count}) ${fmt(rolling.value)}`, `serving v${version || '?'}`];
  if (s?.live) parts.push(`monitor ${s.live.metric} ${fmt(s.live.value)} on ${s.live.labels} labels (v${s.live.version})`);
  parts.push(phase === 'before' ? 'clean traffic' : `drifted since +${(((onset ?? Date.now()) - startedAt) / 1000).toFixed(1)}s`);
  parts.push(`${Math.max(0, Math.round((deadline - Date.now()) / 1000))} s left`);
  return parts.join(' · ');
}

function fmt(x: number | undefined): string {
  return x === undefined ? '-' : x.toFixed(3);
}

function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8);
}

function minutesAgo(ms: number): string {
  const min = Math.round((Date.now() - ms) / 60_000);
  return min < 1 ? 'less than a minute ago' : `${min} min ago`;
}
