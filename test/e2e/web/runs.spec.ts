/** The run list: two finished runs, rename, compare side by side, export, delete with confirmation. */
import { expect, quickMoons, shot, test, train } from '../fixtures';

test('runs: rename, compare two runs, export, delete', async ({ page }, testInfo) => {
  for (const name of ['run A', 'run B']) {
    await quickMoons(page, { name, steps: 60 });
    if (name === 'run B') await page.getByTestId('field-optim.lr').fill('0.005');
    await train(page);
    await expect(page.getByTestId('live-status')).toHaveText('completed', { timeout: 120_000 });
  }

  await page.getByTestId('nav-runs').click();
  const rows = page.getByTestId('run-row');
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: 'run A' }).getByTestId('run-status')).toHaveText('completed');

  // Rename inline.
  const a = rows.filter({ hasText: 'run A' });
  await a.getByTestId('btn-rename').click();
  await page.getByTestId('rename-input').fill('baseline A');
  await page.getByTestId('rename-input').press('Enter');
  await expect(rows.filter({ hasText: 'baseline A' })).toHaveCount(1);
  await page.getByTestId('btn-refresh').click();
  await expect(rows.filter({ hasText: 'baseline A' })).toHaveCount(1);
  await shot(page, testInfo, 'runs');

  // Compare both.
  await expect(page.getByTestId('btn-compare')).toBeDisabled();
  for (const row of await rows.all()) await row.getByTestId('run-select').check();
  await page.getByTestId('btn-compare').click();
  await expect(page.getByTestId('view-compare')).toBeVisible();
  await expect.poll(async () => Number(await page.getByTestId('compare-chart').getAttribute('data-points'))).toBeGreaterThan(10);
  await expect(page.getByTestId('compare-table')).toContainText('baseline A');
  await expect(page.getByTestId('compare-table')).toContainText('run B');
  await expect(page.getByTestId('compare-samples').getByTestId('sample-view')).toHaveCount(2);
  await expect(page.getByTestId('compare-samples').locator('[data-kind="points"]')).toHaveCount(2);
  await shot(page, testInfo, 'compare');

  // Export: the run's files download.
  await page.getByTestId('nav-runs').click();
  const download = page.waitForEvent('download');
  await rows.filter({ hasText: 'run B' }).getByTestId('btn-export').click();
  const d = await download;
  expect(d.suggestedFilename()).toMatch(/\.(json|csv|png)$/);
  await expect(page.getByTestId('runs-message')).toContainText('Exported');
  await expect(page.getByTestId('runs-message')).toContainText('config.json');

  // Delete with confirmation (cancel first, then confirm).
  await rows.filter({ hasText: 'run B' }).getByTestId('btn-delete').click();
  await expect(page.getByTestId('confirm-dialog')).toBeVisible();
  await page.getByTestId('btn-dialog-cancel').click();
  await expect(rows).toHaveCount(2);
  await rows.filter({ hasText: 'run B' }).getByTestId('btn-delete').click();
  await page.getByTestId('btn-dialog-confirm').click();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('baseline A');
});
