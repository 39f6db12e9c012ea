/**
 * The main scenario: moons preset, train, watch the loss chart and the step counter, pause and
 * resume, stop, sample now, scrub the trajectories' time slider.
 */
import { join } from 'node:path';
import { expect, liveStep, quickMoons, ROOT, shot, test, train } from '../fixtures';

test('moons: train live, pause/resume, stop, sample now with trajectories', async ({ page }, testInfo) => {
  await quickMoons(page, { name: 'moons e2e', steps: 20_000 });
  await shot(page, testInfo, 'experiment', undefined, { top: true });
  const id = await train(page);
  expect(id).toBeTruthy();

  // Running: the step counter rises and the loss chart draws points.
  await expect(page.getByTestId('live-status')).toHaveText('running', { timeout: 60_000 });
  await expect.poll(() => liveStep(page), { timeout: 60_000 }).toBeGreaterThan(0);
  const s1 = await liveStep(page);
  await expect.poll(() => liveStep(page)).toBeGreaterThan(s1);
  await expect.poll(async () => Number(await page.getByTestId('chart-loss').getAttribute('data-points'))).toBeGreaterThan(5);
  await expect.poll(async () => Number(await page.getByTestId('chart-lr').getAttribute('data-points'))).toBeGreaterThan(5);
  await expect(page.getByTestId('live-rate')).not.toHaveText('—');
  await expect(page.getByTestId('latest-sample')).toHaveAttribute('data-kind', 'points', { timeout: 60_000 });

  // The UI stays responsive while training: no main-thread task over 200 ms in 3 s of live updates.
  const before = await liveStep(page);
  const longest = await page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        let max = 0;
        const obs = new PerformanceObserver((list) => {
          for (const e of list.getEntries()) max = Math.max(max, e.duration);
        });
        obs.observe({ type: 'longtask' });
        setTimeout(() => {
          obs.disconnect();
          resolve(max);
        }, 3000);
      }),
  );
  expect(longest, 'longest main-thread task during live training (ms)').toBeLessThan(200);
  expect(await liveStep(page)).toBeGreaterThan(before);

  // Log scale off and on keeps the curve.
  await page.getByTestId('log-toggle').uncheck();
  await expect.poll(async () => Number(await page.getByTestId('chart-loss').getAttribute('data-points'))).toBeGreaterThan(5);
  await page.getByTestId('log-toggle').check();

  // Pause: the counter stops.
  await page.getByTestId('btn-pause').click();
  await expect(page.getByTestId('live-status')).toHaveText('paused');
  await page.waitForTimeout(800);
  const paused = await liveStep(page);
  await page.waitForTimeout(1500);
  expect(await liveStep(page)).toBe(paused);

  // Resume: it rises again.
  await page.getByTestId('btn-resume').click();
  await expect(page.getByTestId('live-status')).toHaveText('running');
  await expect.poll(() => liveStep(page)).toBeGreaterThan(paused);

  // Stop.
  await page.getByTestId('btn-cancel').click();
  await expect(page.getByTestId('live-status')).toHaveText('cancelled');
  await expect(page.getByTestId('btn-pause')).toBeDisabled();

  // Sample now from the last checkpoint: samples, trajectories, straightness, field arrows.
  await page.getByTestId('sample-solver').selectOption('heun');
  await page.getByTestId('sample-steps').fill('16');
  await page.getByTestId('sample-paths').fill('48');
  await page.getByTestId('btn-sample-now').click();
  await expect(page.getByTestId('sample-result')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('trajectory-plot')).toHaveAttribute('data-paths', '48');
  await expect(page.getByTestId('straightness')).toHaveText(/\d/);
  await page.getByTestId('time-slider').fill('0.5');
  await expect(page.getByTestId('time-value')).toHaveText('0.50');
  // Click a point of the plot: it is inverted to noise and its path drawn.
  const canvas = page.getByTestId('trajectory-canvas').locator('canvas');
  const box = (await canvas.boundingBox())!;
  await canvas.click({ position: { x: box.width * 0.6, y: box.height * 0.4 } });
  await expect(page.getByTestId('inverted-latent')).toHaveText(/\(-?\d.*, -?\d.*\)/);
  await page.waitForTimeout(500);
  await page.getByTestId('sample-now').scrollIntoViewIfNeeded();
  await shot(page, testInfo, 'live-sample-now');

  // A stopped run continues from its last checkpoint, and stops again.
  const stopped = await liveStep(page);
  await page.getByTestId('btn-continue').click();
  await expect(page.getByTestId('live-status')).toHaveText('running');
  await expect.poll(() => liveStep(page), { timeout: 60_000 }).toBeGreaterThan(stopped);
  await page.getByTestId('btn-cancel').click();
  await expect(page.getByTestId('live-status')).toHaveText('cancelled');
  await shot(page, testInfo, 'live', join(ROOT, 'resources', 'screenshots', 'studio.png'), { top: true });
});
