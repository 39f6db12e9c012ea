/**
 * The Latent view against the real web host and the shipped MNIST model: pick a digit, invert it and
 * see the reconstruction with its PSNR, interpolate two digits and move the frame slider, run a class
 * swap; a corrupt upload shows an error naming the file. No page or console errors (fixture).
 */
import { test, expect, shot } from '../fixtures';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

test('invert, interpolate and class-swap digits of the shipped model', async ({ page }, testInfo) => {
  await page.getByTestId('nav-latent').click();
  await expect(page.getByTestId('view-latent')).toBeVisible();
  await expect(page.getByTestId('latent-model')).toHaveValue('shipped:mnist');

  // A: digit 3; B: digit 8.
  await page.getByTestId('pick-class-a').fill('3');
  await page.getByTestId('pick-a').click();
  await expect(page.getByTestId('image-a')).toBeVisible();
  await page.getByTestId('pick-class-b').fill('8');
  await page.getByTestId('pick-b').click();
  await expect(page.getByTestId('image-b')).toBeVisible();

  // Invert with RK4 at 16 steps (fast); the PSNR shows and is high for a round trip.
  await page.getByTestId('latent-solver').selectOption('rk4');
  await page.getByTestId('latent-steps').fill('16');
  await page.getByTestId('run-invert').click();
  await expect(page.getByTestId('invert-result')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('reconstruction')).toBeVisible();
  const psnr = parseFloat((await page.getByTestId('psnr').textContent()) ?? '');
  expect(psnr).toBeGreaterThan(25);
  await expect(page.getByTestId('nfe')).toContainText('64 encode + 64 decode');
  await shot(page, testInfo, 'latent-invert');

  // Interpolate A -> B; the slider moves through the frames.
  await page.getByTestId('tab-interpolate').click();
  await page.getByTestId('run-interpolate').click();
  await expect(page.getByTestId('strip-slerp')).toBeVisible({ timeout: 90_000 });
  await expect(page.getByTestId('strip-lerp')).toBeVisible();
  const slider = page.getByTestId('frame-slider');
  await slider.fill('7');
  await expect(page.getByTestId('frame-label')).toContainText('s = 1.00');
  await slider.fill('3');
  await expect(page.getByTestId('frame-label')).not.toContainText('s = 1.00');
  await shot(page, testInfo, 'latent-interpolate');

  // Class swap 3 -> 8.
  await page.getByTestId('tab-class-swap').click();
  await page.getByTestId('swap-to').selectOption('8');
  await page.getByTestId('run-class-swap').click();
  await expect(page.getByTestId('swap-result')).toContainText('3 → 8', { timeout: 90_000 });
  await shot(page, testInfo, 'latent-class-swap');
});

test('a corrupt image file is refused by name', async ({ page }) => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-e2e-img-'));
  const bad = join(dir, 'broken-digit.png');
  writeFileSync(bad, Buffer.from('\x89PNG\r\n\x1a\nthis is not a png'));
  await page.getByTestId('nav-latent').click();
  await page.getByTestId('pick-kind-a').selectOption('file');
  await page.getByTestId('pick-file-a').setInputFiles(bad);
  await expect(page.getByTestId('latent-error')).toContainText('broken-digit.png');
});
