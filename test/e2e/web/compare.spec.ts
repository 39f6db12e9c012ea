/**
 * Compare against the real web host with two short moons runs that differ in learning rate and
 * prediction target: the config diff lists exactly what differs, metrics carry readable names with
 * the best value marked, the chart zooms and resets, mixed prediction targets are warned about, the
 * selection survives a reload and a trip through other views, a run's config opens in Experiment,
 * and Reflow's "from run" lists runs by name.
 */
import { join } from 'node:path';
import { expect, quickMoons, ROOT, setFields, shot, test, train } from '../fixtures';

test('compare: diff, best values, zoom, mixed targets, selection kept, open config', async ({ page }, testInfo) => {
  const ids: string[] = [];
  for (const [name, lr, prediction] of [
    ['cmp velocity', '0.002', 'velocity'],
    ['cmp eps', '0.004', 'eps'],
  ] as const) {
    await quickMoons(page, { name, steps: 120 });
    await setFields(page, { 'optim.lr': lr, prediction });
    ids.push(await train(page));
    await expect(page.getByTestId('live-status')).toHaveText('completed', { timeout: 150_000 });
  }

  await page.getByTestId('nav-runs').click();
  for (const id of ids) await page.locator(`[data-run-id="${id}"]`).getByTestId('run-select').check();
  await page.getByTestId('btn-compare').click();
  await expect(page.getByTestId('view-compare')).toBeVisible();
  const hash = new URL(page.url()).hash;
  expect(hash.replace('#/compare/', '').split(',').sort()).toEqual([...ids].sort());

  // The config diff: learning rate, prediction and name differ; nothing else.
  await expect(page.getByTestId('compare-diff')).toBeVisible();
  const differing = await page.getByTestId('diff-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-path')));
  expect(differing.sort()).toEqual(['name', 'optim.lr', 'prediction']);
  await expect(page.getByTestId('diff-count')).toHaveText('3 settings differ');
  await page.getByTestId('diff-show-all').check();
  await expect.poll(() => page.getByTestId('diff-row').count()).toBeGreaterThan(10);
  await page.getByTestId('diff-show-all').uncheck();

  // Mixed prediction targets share no axis.
  await expect(page.getByTestId('compare-mixed-targets')).toContainText(/\((eps, velocity|velocity, eps)\)/);

  // Metrics by readable name, the better direction said, one best value starred per comparable row.
  const finalLoss = page.getByTestId('compare-metric').filter({ hasText: 'Final loss' });
  // Their losses are not ranked against each other (different targets); other metrics are.
  await expect(finalLoss).toContainText('Final loss');
  await expect(finalLoss.getByTestId('metric-incomparable')).toBeVisible();
  await expect(finalLoss.locator('[data-best="true"]')).toHaveCount(0);
  const ed = page.getByTestId('compare-metric').filter({ hasText: 'Energy distance' });
  await expect(ed).toContainText('Energy distance');
  await expect(ed).toContainText('lower is better');
  await expect(ed.locator('[data-best="true"]')).toHaveCount(1);
  await expect(page.locator('[data-testid="compare-metric"] [data-best="true"]').first()).toBeVisible();

  // Zoom in on steps, then reset.
  const chart = page.getByTestId('compare-chart');
  await expect(chart).toHaveAttribute('data-zoomed', 'false');
  await page.getByTestId('compare-zoom-in').click();
  await expect(chart).toHaveAttribute('data-zoomed', 'true');
  await page.getByTestId('compare-zoom-reset').click();
  await expect(chart).toHaveAttribute('data-zoomed', 'false');
  // Hover readout: every run's value at the hovered step.
  const box = (await chart.locator('canvas').boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
  await expect(page.getByTestId('compare-hover')).toContainText('step');
  await expect(page.getByTestId('compare-hover')).toContainText('cmp eps');
  await page.getByTestId('compare-smoothing').fill('0');
  await shot(page, testInfo, 'compare', join(ROOT, 'resources', 'screenshots', 'compare.png'), { top: true });

  // The selection is in the URL: a reload and a trip through other views keep it.
  await page.reload();
  await expect(page.getByTestId('diff-row')).toHaveCount(3);
  await page.getByTestId('nav-experiment').click();
  await page.getByTestId('nav-compare').click();
  await expect(page.getByTestId('diff-row')).toHaveCount(3);
  expect(new URL(page.url()).hash).toBe(hash);

  // Open the eps run's config in Experiment: the form holds it, the selector says where it came from.
  await page.locator('.compare-run').filter({ hasText: 'cmp eps' }).getByTestId('btn-open-config').click();
  await expect(page.getByTestId('view-experiment')).toBeVisible();
  await expect(page.getByTestId('field-name')).toHaveValue('cmp eps');
  await expect(page.getByTestId('field-prediction')).toHaveValue('eps');
  await expect(page.getByTestId('preset-state')).toHaveAttribute('data-state', 'custom');
  await expect(page.getByTestId('preset-state')).toContainText('from run cmp eps');

  // Reflow lists finished runs of the same data shape by name.
  await page.getByTestId('reflow-toggle').check();
  const from = page.getByTestId('field-reflow.from');
  await expect(from.locator('option')).toHaveCount(2);
  await expect(from.locator('option').first()).toContainText('cmp');
  await expect(from.locator('option').first()).toContainText('step 120');
});
