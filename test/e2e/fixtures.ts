/**
 * E2E fixtures: a web host per test with a fresh data folder (FLOW_STUDIO_HOME), a page opened on its
 * URL that fails the test on any page error or console error, and helpers for the common steps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test as base, expect, type Page, type TestInfo } from '@playwright/test';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface Host {
  url: string;
  home: string;
  proc: ChildProcess;
  /** Everything the host printed so far. */
  output(): string;
}

async function startHost(home: string): Promise<Host> {
  const proc = spawn(process.execPath, [join(ROOT, 'bin/flow-studio.mjs'), 'serve', '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, FLOW_STUDIO_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the host printed no URL within 60 s:\n${out}`)), 60_000);
    const check = () => {
      const m = /flow-studio: open (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the host exited (${code ?? signal}) before printing its URL:\n${out}`));
    });
  });
  return { url, home, proc, output: () => out };
}

async function stopHost(h: Host): Promise<void> {
  if (h.proc.exitCode !== null || h.proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => h.proc.once('exit', () => r()));
  h.proc.kill('SIGTERM');
  const timer = setTimeout(() => h.proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export const test = base.extend<{ host: Host; errors: string[] }>({
  // eslint-disable-next-line no-empty-pattern
  host: async ({}, use, testInfo) => {
    const home = mkdtempSync(join(tmpdir(), 'flow-studio-e2e-'));
    const host = await startHost(home);
    try {
      await use(host);
    } finally {
      await stopHost(host);
      writeFileSync(testInfo.outputPath('host.log'), host.output());
      if (testInfo.status !== testInfo.expectedStatus)
        await testInfo.attach('host.log', { body: host.output(), contentType: 'text/plain' });
      rmSync(home, { recursive: true, force: true });
    }
  },
  // Playwright reads a fixture's dependencies from its first parameter's pattern: none here.
  // eslint-disable-next-line no-empty-pattern
  errors: async ({}, use) => {
    await use([]);
  },
  page: async ({ page, host, errors }, use) => {
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console error: ${m.text()} (${m.location().url}:${m.location().lineNumber})`);
    });
    await page.goto(host.url);
    await expect(page.getByTestId('nav-experiment')).toBeVisible();
    await use(page);
    expect(errors, 'page errors and console errors during the test').toEqual([]);
  },
});

export { expect };

/**
 * Saves a screenshot as a test artifact (test-results/screenshots/NAME.png, kept after the run, and
 * attached to the report). `copyTo` (the README's picture) is written when it does not exist yet or
 * when UPDATE_SCREENSHOTS=1, so a plain test run leaves the checkout clean.
 */
export async function shot(page: Page, testInfo: TestInfo, name: string, copyTo?: string, opts: { top?: boolean } = {}): Promise<string> {
  if (opts.top) await page.evaluate(() => document.querySelector('.content')?.scrollTo(0, 0));
  const file = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
  const keep = join(ROOT, 'test-results', 'screenshots', `${name}.png`);
  mkdirSync(dirname(keep), { recursive: true });
  copyFileSync(file, keep);
  if (copyTo && (!existsSync(copyTo) || process.env.UPDATE_SCREENSHOTS === '1')) {
    mkdirSync(dirname(copyTo), { recursive: true });
    copyFileSync(file, copyTo);
  }
  return file;
}

/** Sets a form field by its dotted config path. */
export async function setField(page: Page, path: string, value: string): Promise<void> {
  const input = page.getByTestId(`field-${path}`);
  const tag = await input.evaluate((el) => el.tagName);
  if (tag === 'SELECT') await input.selectOption(value);
  else await input.fill(value);
}

/** Sets several fields in order (a select's value or an input's text), keyed by config path. */
export async function setFields(page: Page, values: Record<string, string>): Promise<void> {
  for (const [path, value] of Object.entries(values)) await setField(page, path, value);
}

/**
 * Picks the moons preset and makes it quick: a small network, few steps, frequent logs and samples.
 * Returns after the form is valid.
 */
export async function quickMoons(page: Page, opts: { name?: string; steps?: number } = {}): Promise<void> {
  await page.getByTestId('nav-experiment').click();
  await page.getByTestId('preset-select').selectOption('moons');
  await expect(page.getByTestId('field-data.kind')).toHaveValue('toy2d');
  await setFields(page, {
    name: opts.name ?? 'moons quick',
    'model.width': '64',
    'model.depth': '2',
    'train.steps': String(opts.steps ?? 400),
    'train.batchSize': '128',
    'train.logEvery': '5',
    'train.sampleEvery': '50',
    'train.sampleCount': '300',
    'train.checkpointEvery': '50',
    'optim.warmupSteps': '10',
  });
  await expect(page.getByTestId('config-valid')).toBeVisible();
}

/** Presses Train and waits for the live view of the new run; returns the run id. */
export async function train(page: Page): Promise<string> {
  await page.getByTestId('btn-train').click();
  await expect(page.getByTestId('view-live')).toBeVisible();
  const m = /#\/live\/([^/]+)/.exec(page.url());
  expect(m, `live view URL ${page.url()}`).not.toBeNull();
  return decodeURIComponent(m![1]!);
}

/** The step the live view shows. */
export async function liveStep(page: Page): Promise<number> {
  return Number(await page.getByTestId('live-step').getAttribute('data-step'));
}
