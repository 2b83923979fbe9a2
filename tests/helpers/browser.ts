// A real headless browser for the status page tests and the screenshot script: Debian's `chromium`,
// driven over the Chrome DevTools Protocol on `--remote-debugging-pipe` (fd 3 in, fd 4 out, JSON
// messages ended by a NUL byte), so no WebSocket client or browser download is needed. It records what
// a person would see in the console: console.error calls, uncaught exceptions, failed loads and
// Content-Security-Policy violations (all reported as errors), and dialogs a script opened.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { waitFor as poll } from './wait.js';

/** Where the browser is: CHROMIUM_PATH, else Debian's and other usual places. */
export function findChromium(): string | undefined {
  const candidates = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];
  return candidates.find((p): p is string => p !== undefined && p !== '' && existsSync(p));
}

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

export interface BrowserOptions {
  /** Viewport width and height in CSS pixels. @defaultValue 1280 x 900 */
  width?: number;
  height?: number;
}

export class HeadlessBrowser {
  /** Console errors, exceptions, failed loads and CSP violations, as text. */
  readonly errors: string[] = [];
  /** Messages of alert/confirm/prompt dialogs a page opened (dismissed at once). */
  readonly dialogs: string[] = [];
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void; method: string }>();
  private buffer = '';
  private session = '';
  private exited = false;
  private stderr = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly profile: string,
  ) {
    const out = child.stdio[4] as Readable;
    out.setEncoding('utf8');
    out.on('data', (chunk: string) => this.onData(chunk));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    child.once('exit', (code) => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`chromium exited (${code}) during ${p.method}: ${this.stderr.slice(-1000)}`));
      this.pending.clear();
    });
  }

  /** Starts chromium headless with a fresh profile and opens one blank page. */
  static async launch(opts: BrowserOptions = {}): Promise<HeadlessBrowser> {
    const path = findChromium();
    if (!path) throw new Error('chromium not found: install Debian\'s chromium (.ci/run does) or set CHROMIUM_PATH');
    const profile = mkdtempSync(join(tmpdir(), 'dg-chromium-'));
    const width = opts.width ?? 1280;
    const height = opts.height ?? 900;
    const child = spawn(
      path,
      [
        '--headless',
        '--remote-debugging-pipe',
        `--user-data-dir=${profile}`,
        // CI runs as root in a container, where chromium's sandbox cannot start
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--no-first-run',
        '--no-default-browser-check',
        '--disable-extensions',
        '--disable-background-networking',
        '--disable-component-update',
        '--hide-scrollbars',
        '--mute-audio',
        `--window-size=${width},${height}`,
        'about:blank',
      ],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
    );
    const browser = new HeadlessBrowser(child, profile);
    const target = await browser.send('Target.createTarget', { url: 'about:blank' });
    const attached = await browser.send('Target.attachToTarget', { targetId: target['targetId'], flatten: true });
    browser.session = String(attached['sessionId']);
    await browser.call('Page.enable');
    await browser.call('Runtime.enable');
    await browser.call('Log.enable');
    await browser.call('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    return browser;
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\0')) >= 0) {
      const message = JSON.parse(this.buffer.slice(0, end)) as Message;
      this.buffer = this.buffer.slice(end + 1);
      if (message.id !== undefined) {
        const waiting = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error) waiting?.reject(new Error(`${waiting.method}: ${message.error.message}`));
        else waiting?.resolve(message);
      } else if (message.method) {
        this.onEvent(message.method, message.params ?? {});
      }
    }
  }

  private onEvent(method: string, params: Record<string, unknown>): void {
    if (method === 'Runtime.consoleAPICalled' && (params['type'] === 'error' || params['type'] === 'assert')) {
      const args = (params['args'] as { value?: unknown; description?: string }[] | undefined) ?? [];
      this.errors.push(`console.${String(params['type'])}: ${args.map((a) => (a.value !== undefined ? String(a.value) : (a.description ?? ''))).join(' ')}`);
    } else if (method === 'Runtime.exceptionThrown') {
      const details = params['exceptionDetails'] as { text?: string; exception?: { description?: string } } | undefined;
      this.errors.push(`exception: ${details?.exception?.description ?? details?.text ?? 'unknown'}`);
    } else if (method === 'Log.entryAdded') {
      const entry = params['entry'] as { level?: string; text?: string; url?: string } | undefined;
      if (entry?.level === 'error') this.errors.push(`log: ${entry.text ?? ''}${entry.url ? ` (${entry.url})` : ''}`);
    } else if (method === 'Page.javascriptDialogOpening') {
      this.dialogs.push(String(params['message'] ?? ''));
      void this.call('Page.handleJavaScriptDialog', { accept: false }).catch(() => undefined);
    }
  }

  private send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    if (this.exited) return Promise.reject(new Error(`chromium has exited: ${this.stderr.slice(-1000)}`));
    const id = ++this.nextId;
    const message: Message = { id, method, params, ...(sessionId ? { sessionId } : {}) };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: (m) => resolve(m.result ?? {}), reject, method });
      (this.child.stdio[3] as Writable).write(`${JSON.stringify(message)}\0`);
    });
  }

  /** A CDP command on the page. */
  call(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.send(method, params, this.session);
  }

  /** Navigates and waits until the document's load event has fired. */
  async open(url: string, timeoutMs = 15_000): Promise<void> {
    await this.call('Page.navigate', { url });
    await this.waitFor(() => 'document.readyState === "complete" && location.href !== "about:blank"', timeoutMs, `${url} to load`);
  }

  /** Evaluates an expression in the page; the value comes back as JSON. */
  async evaluate<T>(expression: string): Promise<T> {
    const result = await this.call('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    const thrown = result['exceptionDetails'] as { text?: string; exception?: { description?: string } } | undefined;
    if (thrown) throw new Error(`evaluate failed: ${thrown.exception?.description ?? thrown.text}`);
    return (result['result'] as { value?: T }).value as T;
  }

  /** Polls an expression until it is truthy. */
  async waitFor(expression: () => string, timeoutMs: number, what: string): Promise<void> {
    await poll(what, timeoutMs, () => this.evaluate<boolean>(`Boolean(${expression()})`).catch(() => false), 100);
  }

  /** A PNG of the page; `fullPage` captures its whole height. */
  async screenshot(fullPage = false): Promise<Buffer> {
    let clip: Record<string, unknown> | undefined;
    if (fullPage) {
      const size = await this.evaluate<{ w: number; h: number }>('({ w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight })');
      clip = { x: 0, y: 0, width: size.w, height: size.h, scale: 1 };
    }
    const shot = await this.call('Page.captureScreenshot', { format: 'png', ...(clip ? { clip, captureBeyondViewport: true } : {}) });
    return Buffer.from(String(shot['data']), 'base64');
  }

  async close(): Promise<void> {
    if (!this.exited) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      await this.send('Browser.close').catch(() => undefined);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.profile, { recursive: true, force: true });
  }
}
