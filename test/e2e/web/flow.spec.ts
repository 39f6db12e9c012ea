/**
 * A trained moons run in the Live view, against the real web host: the target drawn under the
 * samples; Sample now refuses what the schema refuses (steps -5, n = 0) in words; the first sample is
 * estimated before it runs; results kept side by side with NFE and energy distance, across a view
 * switch; the flow animation plays, pauses, steps and scrubs (buttons and keys); a result drawn
 * before more training is marked stale; the run exports as one zip archive whose files are read back.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync, strFromU8 } from 'fflate';
import { expect, liveStep, quickMoons, ROOT, shot, test, train } from '../fixtures';

test('sample now: validation, kept results, flow player, stale mark, zip archive', async ({ page }, testInfo) => {
  await quickMoons(page, { name: 'flow moons', steps: 3000 });
  await train(page);
  // Stop after a few checkpoints: a stopped run can continue later (to make kept results stale).
  await expect.poll(() => liveStep(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(150);
  await page.getByTestId('btn-cancel').click();
  await expect(page.getByTestId('live-status')).toHaveText('cancelled');
  // The latest sample is drawn over the target data.
  await expect.poll(async () => Number(await page.getByTestId('latest-sample').getAttribute('data-overlay'))).toBeGreaterThan(500);

  // The same rules as the schema: no rounding of -5 steps to 1, no n = 0.
  const sampleBtn = page.getByTestId('btn-sample-now');
  await page.getByTestId('sample-steps').fill('-5');
  await expect(page.getByTestId('sample-issue-steps')).toContainText('Steps must be at least 1');
  await expect(sampleBtn).toBeDisabled();
  await page.getByTestId('sample-steps').fill('8');
  await page.getByTestId('sample-n').fill('0');
  await expect(page.getByTestId('sample-issue-n')).toContainText('at least 1');
  await expect(sampleBtn).toBeDisabled();
  await page.getByTestId('sample-n').fill('400');
  await expect(sampleBtn).toBeEnabled();

  // Two results side by side: euler x 8 and rk4 x 8 (NFE 8 and 32), each with an energy distance.
  await page.getByTestId('sample-solver').selectOption('euler');
  // Before the first sample the host estimates it: euler x 8 is 8 evaluations, counted, the model timed.
  await expect(page.getByTestId('sample-estimate')).toHaveAttribute('title', /^8 evaluations at .* ms per evaluation of 400$/, {
    timeout: 30_000,
  });
  await sampleBtn.click();
  await expect(page.getByTestId('sample-history-row')).toHaveCount(1, { timeout: 60_000 });
  await page.getByTestId('sample-solver').selectOption('rk4');
  // S samples now (no text field focused).
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('s');
  await expect(page.getByTestId('sample-history-row')).toHaveCount(2, { timeout: 60_000 });
  await expect(page.getByTestId('history-nfe')).toHaveText(['8', '32']);
  for (const ed of await page.getByTestId('history-ed').allTextContents()) expect(Number(ed)).not.toBeNaN();
  await expect(page.getByTestId('nfe-chart-2d')).toBeVisible();
  await expect(
    page
      .getByTestId('sample-view')
      .filter({ has: page.getByTestId('toggle-target') })
      .first(),
  ).toBeVisible();

  // The flow player: play moves t, pause stops it, step goes grid point by grid point, scrub sets t.
  const player = page.getByTestId('flow-player');
  await page.getByTestId('time-slider').fill('0');
  await expect(player).toHaveAttribute('data-t', '0.000');
  await page.getByTestId('flow-play').click();
  await expect(player).toHaveAttribute('data-playing', 'true');
  await expect.poll(async () => Number(await player.getAttribute('data-t'))).toBeGreaterThan(0.1);
  await page.getByTestId('flow-play').click();
  await expect(player).toHaveAttribute('data-playing', 'false');
  const paused = Number(await player.getAttribute('data-t'));
  await page.waitForTimeout(300);
  expect(Number(await player.getAttribute('data-t'))).toBe(paused);
  await page.getByTestId('time-slider').fill('0.5');
  await expect(page.getByTestId('time-value')).toHaveText('0.50');
  await page.getByTestId('flow-step-fwd').click();
  const afterStep = Number(await player.getAttribute('data-t'));
  expect(afterStep).toBeGreaterThan(0.5);
  // rk4 x 8 on [0, 1]: the grid spacing is 1/8.
  expect(afterStep).toBeLessThanOrEqual(0.625 + 1e-9);
  // Keys: Left steps back, Space plays.
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('ArrowLeft');
  await expect.poll(async () => Number(await player.getAttribute('data-t'))).toBeLessThan(afterStep);
  await page.keyboard.press(' ');
  await expect(player).toHaveAttribute('data-playing', 'true');
  await expect(player).toHaveAttribute('data-playing', 'false', { timeout: 15_000 });
  await expect(player).toHaveAttribute('data-t', '1.000');
  await page.getByTestId('sample-now').scrollIntoViewIfNeeded();
  await shot(page, testInfo, 'flow', join(ROOT, 'resources', 'screenshots', 'flow.png'));

  // A sweep of solver budgets fills the NFE-versus-quality chart (16 more results, same model step).
  await page.getByTestId('btn-nfe-sweep').click();
  await expect(page.getByTestId('sweep-progress')).toBeVisible();
  await expect(page.getByTestId('btn-nfe-sweep')).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId('sample-history-row')).toHaveCount(18);
  await expect.poll(async () => Number(await page.getByTestId('nfe-chart-2d').getAttribute('data-points'))).toBeGreaterThanOrEqual(18);
  await expect(page.getByTestId('history-solver').filter({ hasText: /^dpm\+\+2m$/ })).toHaveCount(4);

  // Samplers beyond the ODE methods show their own settings; the reverse SDE and another scheduler sample.
  await expect(page.getByTestId('sample-noise')).toHaveCount(0);
  await page.getByTestId('sample-solver').selectOption('sde');
  await page.getByTestId('sample-noise').fill('1');
  await page.getByTestId('sample-steps').fill('50');
  await sampleBtn.click();
  await expect(page.getByTestId('sample-history-row')).toHaveCount(19, { timeout: 60_000 });
  await page.getByTestId('sample-solver').selectOption('heun');
  await expect(page.getByTestId('sample-noise')).toHaveCount(0);
  await page.getByTestId('sample-scheduler').selectOption('cosine');
  await sampleBtn.click();
  await expect(page.getByTestId('sample-history-row')).toHaveCount(20, { timeout: 60_000 });
  await expect(page.getByTestId('history-solver').nth(18)).toHaveText('sde');
  await expect(page.getByTestId('history-solver').nth(19)).toHaveText('heun · cosine');
  // Both still land on the moons: finite energy distances, well below plain noise's.
  for (const ed of (await page.getByTestId('history-ed').allTextContents()).slice(18)) expect(Number(ed)).toBeLessThan(0.2);
  await page.getByTestId('sample-scheduler').selectOption('');

  // A view switch keeps every result.
  await page.getByTestId('nav-runs').click();
  await expect(page.getByTestId('view-runs')).toBeVisible();
  await page.getByTestId('nav-live').click();
  await expect(page.getByTestId('sample-history-row')).toHaveCount(20);
  await expect(page.getByTestId('sample-result')).toBeVisible();

  // One archive: config, weights, metrics CSV, samples PNG + CSV, trajectories CSV.
  const download = page.waitForEvent('download');
  await page.getByTestId('btn-archive').click();
  const file = await (await download).path();
  // Everything sits in one folder named after the run.
  const raw = unzipSync(new Uint8Array(readFileSync(file)));
  const zip = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.replace(/^flow-moons\//, ''), v]));
  expect(Object.keys(raw).every((k) => k.startsWith('flow-moons/'))).toBe(true);
  const names = Object.keys(zip);
  for (const want of ['config.json', 'metrics.csv', 'samples.png', 'samples.csv']) expect(names).toContain(want);
  expect(names.some((n) => n.startsWith('trajectories'))).toBe(true);
  expect((JSON.parse(strFromU8(zip['config.json']!)) as { name: string }).name).toBe('flow moons');
  const metrics = strFromU8(zip['metrics.csv']!).trim().split('\n');
  expect(metrics.length).toBeGreaterThan(10);
  // PNG signature.
  expect([...zip['samples.png']!.slice(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);

  // Training further makes the kept results stale.
  const before = await liveStep(page);
  await expect(page.getByTestId('sample-stale')).toBeHidden();
  await page.getByTestId('btn-continue').click();
  await expect.poll(() => liveStep(page), { timeout: 60_000 }).toBeGreaterThan(before);
  await expect(page.getByTestId('sample-stale')).toBeVisible({ timeout: 30_000 });
  await page.getByTestId('btn-cancel').click();
});
