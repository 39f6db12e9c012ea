/**
 * The same scenario in the Electron app, where an Electron binary is installed (node_modules/electron
 * writes path.txt and dist/ when its postinstall could download one). Skipped otherwise, saying why.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron as electron, expect, test } from '@playwright/test';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const pkg = join(ROOT, 'node_modules', 'electron');

function electronBinary(): { path?: string; reason?: string } {
  const pathTxt = join(pkg, 'path.txt');
  if (!existsSync(pathTxt))
    return {
      reason: `no Electron binary: ${pathTxt} is missing (the electron package's download did not run or could not reach its mirror)`,
    };
  const bin = join(pkg, 'dist', readFileSync(pathTxt, 'utf8').trim());
  if (!existsSync(bin)) return { reason: `no Electron binary at ${bin}` };
  return { path: bin };
}

const found = electronBinary();

test('electron: moons preset trains live, pauses, stops and samples', async () => {
  if (!found.path) console.log(`electron e2e skipped: ${found.reason}`);
  test.skip(!found.path, found.reason);
  const home = mkdtempSync(join(tmpdir(), 'flow-studio-electron-'));
  const app = await electron.launch({ executablePath: found.path, args: [ROOT], env: { ...process.env, FLOW_STUDIO_HOME: home } });
  try {
    const page = await app.firstWindow();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.getByTestId('nav-experiment').click();
    await page.getByTestId('preset-select').selectOption('moons');
    await page.getByTestId('field-model.width').fill('64');
    await page.getByTestId('field-train.steps').fill('20000');
    await page.getByTestId('field-train.logEvery').fill('5');
    await page.getByTestId('field-train.checkpointEvery').fill('50');
    await page.getByTestId('btn-train').click();
    await expect(page.getByTestId('live-status')).toHaveText('running', { timeout: 60_000 });
    await expect
      .poll(async () => Number(await page.getByTestId('chart-loss').getAttribute('data-points')), { timeout: 60_000 })
      .toBeGreaterThan(5);
    await page.getByTestId('btn-pause').click();
    await expect(page.getByTestId('live-status')).toHaveText('paused');
    await page.getByTestId('btn-resume').click();
    await expect(page.getByTestId('live-status')).toHaveText('running');
    await page.getByTestId('btn-cancel').click();
    await expect(page.getByTestId('live-status')).toHaveText('cancelled');
    await page.getByTestId('btn-sample-now').click();
    await expect(page.getByTestId('trajectory-plot')).toBeVisible({ timeout: 60_000 });
    expect(errors).toEqual([]);
  } finally {
    await app.close();
    rmSync(home, { recursive: true, force: true });
  }
});
