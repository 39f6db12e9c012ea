/**
 * The latent studio checks its inputs by the host's rules and keeps its work, against the real web host and the shipped MNIST model: picked
 * images and a result survive a trip through other views and a reload; a result whose inputs changed
 * since (another solver budget) is marked stale; saved results are artifacts of the model's run, not
 * runs in the Runs list. Before the first run of a tool the host's estimate is shown.
 */
import { join } from 'node:path';
import { expect, ROOT, shot, test } from '../fixtures';

test('latent picks and results survive view switches and reloads; stale marked', async ({ page }, testInfo) => {
  await page.getByTestId('nav-latent').click();
  await expect(page.getByTestId('latent-model')).toHaveValue('shipped:mnist');
  // Before the first run the host estimates the tool: dopri5's evaluations are a typical range, said so.
  await expect(page.getByTestId('latent-estimate')).toContainText('has not run on this model yet', { timeout: 30_000 });
  await page.getByTestId('pick-class-a').fill('7');
  await page.getByTestId('pick-a').click();
  await expect(page.getByTestId('image-a')).toBeVisible();
  await page.getByTestId('latent-solver').selectOption('euler');
  // The host's rules, checked before anything is sent: -5 steps is refused in words, not rounded.
  await page.getByTestId('latent-steps').fill('-5');
  await page.getByTestId('run-invert').click();
  await expect(page.getByTestId('latent-error')).toContainText(/Steps must be an integer in \[1, /);
  await expect(page.getByTestId('latent-error')).not.toContainText('request.');
  await expect(page.getByTestId('invert-result')).toHaveCount(0);
  await page.getByTestId('latent-steps').fill('4');
  // Euler, 4 steps: encode + decode count 8 evaluations, timed on this model before the first run.
  await expect(page.getByTestId('latent-estimate')).toContainText('8 evaluations at', { timeout: 30_000 });
  await expect(page.getByTestId('latent-estimate')).toHaveAttribute('data-basis', 'counted');
  await page.getByTestId('run-invert').click();
  await expect(page.getByTestId('invert-result')).toBeVisible({ timeout: 90_000 });
  const psnr = await page.getByTestId('psnr').textContent();
  // The next run of this tool with this solver shows how long the last one took.
  await expect(page.getByTestId('latent-estimate')).toContainText('took about');
  await expect(page.getByTestId('latent-stale')).toHaveCount(0);

  // Another view and back: everything is still there.
  await page.getByTestId('nav-runs').click();
  await expect(page.getByTestId('view-runs')).toBeVisible();
  await page.getByTestId('nav-latent').click();
  await expect(page.getByTestId('image-a')).toBeVisible();
  await expect(page.getByTestId('psnr')).toHaveText(psnr!);

  // A reload too (the store is persisted).
  await page.waitForTimeout(800);
  await page.reload();
  await page.getByTestId('nav-latent').click();
  await expect(page.getByTestId('image-a')).toBeVisible();
  await expect(page.getByTestId('latent-solver')).toHaveValue('euler');
  await expect(page.getByTestId('psnr')).toHaveText(psnr!);

  // Changing the solver budget makes the result stale (kept, marked).
  await page.getByTestId('latent-steps').fill('8');
  await expect(page.getByTestId('latent-stale')).toBeVisible();
  await expect(page.getByTestId('psnr')).toHaveText(psnr!);
  await page.getByTestId('latent-steps').fill('4');
  await expect(page.getByTestId('latent-stale')).toHaveCount(0);

  // Saved: an artifact of the model's run, listed here, and no run of its own in Runs.
  await page.getByTestId('latent-save').click();
  await expect(page.getByTestId('latent-note')).toContainText('artifacts');
  await expect(page.getByTestId('latent-saved')).toBeVisible();
  await shot(page, testInfo, 'latent', join(ROOT, 'resources', 'screenshots', 'latent.png'), { top: true });
  await page.getByTestId('nav-runs').click();
  await expect(page.getByTestId('view-runs')).toBeVisible();
  await expect(page.getByTestId('run-row')).toHaveCount(0);
});
