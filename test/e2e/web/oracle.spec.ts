/**
 * A Gaussian-mixture target: the learned field beside the exact one, their error map and relative
 * error, and the exact flow played beside the learned one.
 */
import { expect, quickMoons, setField, shot, test, train } from '../fixtures';

test('mixture target: learned vs exact field, error map, relative error', async ({ page }, testInfo) => {
  await quickMoons(page, { name: 'ring mixture', steps: 150 });
  await setField(page, 'data.kind', 'gmm');
  await expect(page.getByTestId('gmm-row')).toHaveCount(4);
  await expect(page.getByTestId('config-valid')).toBeVisible();
  await train(page);
  await expect(page.getByTestId('live-status')).toHaveText('completed', { timeout: 120_000 });

  await page.getByTestId('sample-steps').fill('10');
  await page.getByTestId('btn-sample-now').click();
  await expect(page.getByTestId('oracle-compare')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('field-learned')).toBeVisible();
  await expect(page.getByTestId('field-oracle')).toBeVisible();
  await expect(page.getByTestId('field-error')).toBeVisible();
  await expect(page.getByTestId('rel-error')).toHaveText(/^\d/);
  const at1 = await page.getByTestId('rel-error').textContent();
  // Moving the slider asks for the field at the new t.
  await page.getByTestId('time-slider').fill('0.3');
  await expect(page.getByTestId('oracle-compare')).toContainText('t = 0.30');
  expect(at1).toBeTruthy();
  // The exact flow plays beside the learned one, from the same noise, with the exact density.
  await expect(page.getByTestId('flow-oracle-panel')).toBeVisible();
  await expect(page.getByTestId('flow-oracle-panel')).toContainText('exact density');
  await page.getByTestId('time-slider').fill('0');
  await page.getByTestId('flow-play').click();
  await expect(page.getByTestId('flow-player')).toHaveAttribute('data-playing', 'false', { timeout: 15_000 });
  await expect(page.getByTestId('flow-player')).toHaveAttribute('data-t', '1.000');
  await expect(page.getByTestId('flow-oracle')).toBeVisible();
  await page.getByTestId('oracle-compare').scrollIntoViewIfNeeded();
  await shot(page, testInfo, 'live-oracle');
});
