// What the serving benchmarks share: starting a server script in a child process and learning its
// port, stopping it, a free port, a summary of a V8 CPU profile, and the machine line every table
// starts with.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import { resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '..');

export interface Server {
  child: ChildProcess;
  port: number;
  /** What the process wrote to stdout and stderr so far. */
  log: () => string;
}

/** Starts a server script in its own process and resolves with its port once it listens. */
export function startProcess(script: string, env: Record<string, string>, extraNodeArgs: string[] = []): Promise<Server> {
  return new Promise((resolvePort, reject) => {
    const child = spawn(process.execPath, [...extraNodeArgs, '--import', 'tsx', script, ...(script.endsWith('main.ts') ? ['serve'] : [])], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    let started = false;
    const onData = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-200_000);
      if (started) return;
      const port = /listening (\d+)/.exec(log)?.[1] ?? (/"msg":"models loaded"/.test(log) ? /"port":(\d+)/.exec(log)?.[1] : undefined);
      if (port) {
        started = true;
        resolvePort({ child, port: Number(port), log: () => log });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      if (!started) reject(new Error(`${script} exited with ${code}: ${log.slice(-2000)}`));
    });
  });
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
}

/** A port nothing listens on now (for a port that must be chosen before a server starts). */
export function freePort(): Promise<number> {
  return new Promise((resolveFree, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      server.close(() => (typeof addr === 'object' && addr ? resolveFree(addr.port) : reject(new Error('no port'))));
    });
  });
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Top self-time functions of a V8 CPU profile, as markdown table rows `| share | function |`. */
export function summarizeProfile(file: string, top = 15): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const byFrame = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    total += hits;
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(root + '/', '');
    const key = `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
    byFrame.set(key, (byFrame.get(key) ?? 0) + hits);
  }
  return [...byFrame]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => `| ${((100 * v) / total).toFixed(1)}% | ${k.replace(/\|/g, '\\|')} |`)
    .join('\n');
}

/** The machine, Node, the load average now, and the run length: the line above every table. */
export function machineLine(seconds: number): string {
  return `Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the end; ${seconds} s per run, load generators in the same machine.`;
}

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc; undefined when it is gone. */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command name (which may hold spaces), so utime and stime are its 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds used so far by a process and every process below it (uvicorn's and MLServer's
 * workers), from /proc: a process's own counters only cover its children once they have exited.
 */
export function processTreeCpuSeconds(rootPid: number | undefined): number | undefined {
  if (rootPid === undefined) return undefined;
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone since the listing
    }
  }
  const inTree = (pid: number): boolean => {
    for (let at: number | undefined = pid, hops = 0; at !== undefined && at > 1 && hops < 64; at = parents.get(at), hops++) if (at === rootPid) return true;
    return false;
  };
  let total: number | undefined;
  for (const pid of parents.keys()) {
    if (!inTree(pid)) continue;
    const own = processCpuSeconds(pid);
    if (own !== undefined) total = (total ?? 0) + own;
  }
  return total;
}

/** CPU seconds the whole machine has been busy (every state but idle and iowait), from /proc/stat. */
export function machineBusySeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** The pid of the development broker that deploy/kafka/kafka.sh runs, when it runs. */
export function kafkaBrokerPid(): number | undefined {
  try {
    const pid = Number(readFileSync(resolve(root, process.env.DRIFTGATE_KAFKA_DIR ?? 'deploy/kafka/run', 'kafka.pid'), 'utf8').trim());
    return processCpuSeconds(pid) === undefined ? undefined : pid;
  } catch {
    return undefined;
  }
}
