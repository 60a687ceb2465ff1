// Drives the Debian `chromium` binary headless (npm test installs it: scripts/test-prereqs.mjs): no
// puppeteer download, no network, a fresh profile per call, and every browser we start is
// stopped — by its own exit after --dump-dom/--screenshot/--print-to-pdf, else by pid.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const CHROMIUM = '/usr/bin/chromium';

export function requireChromium(): void {
  // A missing browser is a broken machine, not a reason to skip: say how to fix it.
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get update && apt-get install -y chromium (npm test does this as root)`);
}

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--disable-default-apps',
  '--hide-scrollbars',
  '--mute-audio',
];

async function chromium(args: string[], timeoutMs = 60_000): Promise<{ stdout: string; stderr: string; code: number | null }> {
  requireChromium();
  const profile = mkdtempSync(join(tmpdir(), 'adc-chromium-'));
  try {
    return await new Promise((resolve, reject) => {
      const child = spawn(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        if (child.pid !== undefined) child.kill('SIGKILL');
        reject(new Error(`chromium did not exit within ${timeoutMs} ms (killed pid ${child.pid}): ${stderr.slice(-2000)}`));
      }, timeoutMs);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ stdout, stderr, code });
      });
    });
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The DOM as Chromium built it from the file (parsed, styled, serialised back). */
export async function dumpDom(file: string): Promise<string> {
  const r = await chromium(['--dump-dom', pathToFileURL(file).href]);
  if (r.code !== 0 || !r.stdout.includes('<html')) throw new Error(`chromium --dump-dom failed (exit ${r.code}): ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

export async function screenshot(file: string, png: string, size = '1280,2400'): Promise<void> {
  const r = await chromium([`--screenshot=${png}`, `--window-size=${size}`, pathToFileURL(file).href]);
  if (r.code !== 0 || !existsSync(png)) throw new Error(`chromium --screenshot failed (exit ${r.code}): ${r.stderr.slice(-2000)}`);
}

export async function printToPdf(file: string, pdf: string): Promise<void> {
  const r = await chromium(['--no-pdf-header-footer', `--print-to-pdf=${pdf}`, pathToFileURL(file).href]);
  if (r.code !== 0 || !existsSync(pdf)) throw new Error(`chromium --print-to-pdf failed (exit ${r.code}): ${r.stderr.slice(-2000)}`);
}

// Small readers over serialised DOM. Chromium normalises what it writes back (double-quoted
// attributes, entities), so these regular expressions see one shape only.
const decode = (s: string) =>
  s
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&');

/** Inner markup of the first element carrying data-testid="id", nested same-name tags balanced. */
function innerOf(dom: string, id: string): string | undefined {
  const open = new RegExp(`<([a-z0-9]+)[^>]*\\sdata-testid="${id}"[^>]*>`).exec(dom);
  if (!open) return undefined;
  const tag = open[1];
  const re = new RegExp(`<(/?)${tag}\\b[^>]*>`, 'g');
  re.lastIndex = open.index + open[0].length;
  let depth = 1;
  for (let m = re.exec(dom); m; m = re.exec(dom)) {
    depth += m[1] ? -1 : 1;
    if (depth === 0) return dom.slice(open.index + open[0].length, m.index);
  }
  return undefined;
}

/** Text of the first element carrying data-testid="id". */
export function textOf(dom: string, id: string): string | undefined {
  const inner = innerOf(dom, id);
  return inner === undefined ? undefined : decode(inner).replace(/\s+/g, ' ').trim();
}

/** The `<code>` items inside the element with data-testid="id". */
export function codesIn(dom: string, id: string): string[] {
  const inner = innerOf(dom, id);
  return inner === undefined ? [] : [...inner.matchAll(/<code[^>]*>([\s\S]*?)<\/code>/g)].map((x) => decode(x[1]));
}

/** Every step item: id, status and title, in page order. */
export function stepsIn(dom: string): { id: string; status: string; title: string }[] {
  return [...dom.matchAll(/<li data-testid="step" data-step-id="([^"]*)" data-status="([^"]*)"[\s\S]*?data-testid="step-title">([\s\S]*?)<\/span>/g)].map((m) => ({
    id: decode(m[1]),
    status: m[2],
    title: decode(m[3]),
  }));
}
