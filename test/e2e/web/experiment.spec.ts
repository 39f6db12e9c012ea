/** Experiment setup: field errors from the schema (client and host), the JSON round trip, drawing data, settings. */
import { spawnSync } from 'node:child_process';
import { expect, quickMoons, setField, shot, test } from '../fixtures';

test('a bad config shows the field error and is not submitted', async ({ page }) => {
  await quickMoons(page);
  await setField(page, 'train.steps', '0');
  await expect(page.getByTestId('error-train.steps')).toContainText('must be at least 1');
  await expect(page.getByTestId('issue-count')).toBeVisible();
  await setField(page, 'optim.lr', 'fast');
  await expect(page.getByTestId('error-optim.lr')).toContainText('number');
  await page.getByTestId('btn-train').click();
  await expect(page.getByTestId('submit-error')).toContainText('fixing');
  await expect(page.getByTestId('view-experiment')).toBeVisible();

  await setField(page, 'train.steps', '50');
  await setField(page, 'optim.lr', '0.001');
  await expect(page.getByTestId('error-train.steps')).toHaveCount(0);
  await expect(page.getByTestId('config-valid')).toBeVisible();
});

test('a typo in the JSON and a combination that cannot train show where to fix them', async ({ page }) => {
  await quickMoons(page);
  const json = page.getByTestId('json-view');
  const config = JSON.parse(await json.inputValue());
  config.optim.learningRate = 1e6;
  await json.fill(JSON.stringify(config, null, 2));
  // No form input for an unknown key: it is listed above the form, with the field it likely means.
  await expect(page.getByTestId('other-issues')).toContainText('optim.learningRate: unknown field; did you mean optim.lr?');
  await expect(page.getByTestId('issue-count')).toBeVisible();
  delete config.optim.learningRate;
  await json.fill(JSON.stringify(config, null, 2));
  await expect(page.getByTestId('config-valid')).toBeVisible();
  // A checkpoint interval longer than the run: the issue sits on that field and names both values.
  await setField(page, 'train.checkpointEvery', '5000');
  await expect(page.getByTestId('error-train.checkpointEvery')).toContainText('is 5000, more than train.steps (400)');
  await page.getByTestId('btn-train').click();
  await expect(page.getByTestId('submit-error')).toContainText('fixing');
  await setField(page, 'train.checkpointEvery', '400');
  await expect(page.getByTestId('config-valid')).toBeVisible();
});

test('the host refuses what only it can check, and the message shows', async ({ page }) => {
  await quickMoons(page, { steps: 50 });
  // An image folder that does not exist: valid for the schema, only the host can look.
  await setField(page, 'data.kind', 'images');
  await setField(page, 'model.kind', 'unet');
  await setField(page, 'data.folder', '/no/such/folder');
  await expect(page.getByTestId('config-valid')).toBeVisible();
  await page.getByTestId('btn-train').click();
  await expect(page.getByTestId('submit-error')).toContainText('refused');
  await expect(page.getByTestId('submit-error')).toContainText('/no/such/folder');
  await expect(page.getByTestId('view-experiment')).toBeVisible();
  await page.getByTestId('nav-runs').click();
  await expect(page.getByTestId('run-row')).toHaveCount(0);
});

test('JSON view and form round-trip', async ({ page }, testInfo) => {
  await quickMoons(page);
  const json = page.getByTestId('json-view');
  // form -> JSON
  await setField(page, 'model.width', '48');
  await expect.poll(async () => JSON.parse(await json.inputValue()).model.width).toBe(48);
  // JSON -> form
  const config = JSON.parse(await json.inputValue());
  config.model = { kind: 'unet', baseChannels: 8, channelMults: [1, 2] };
  config.data = { kind: 'mnist', digits: [1, 7] };
  config.path = { kind: 'affine', scheduler: { kind: 'polynomial', n: 3 } };
  await json.fill(JSON.stringify(config, null, 2));
  await expect(page.getByTestId('field-model.kind')).toHaveValue('unet');
  await expect(page.getByTestId('field-model.baseChannels')).toHaveValue('8');
  await expect(page.getByTestId('field-model.channelMults')).toHaveValue('1, 2');
  await expect(page.getByTestId('field-data.digits')).toHaveValue('1, 7');
  await expect(page.getByTestId('field-path.scheduler.n')).toHaveValue('3');
  // Defaults show as placeholders.
  await expect(page.getByTestId('field-model.blocksPerLevel')).toHaveAttribute('placeholder', '1');
  // Broken JSON: a message, the form keeps the last good config.
  await json.fill('{ "data": ');
  await expect(page.getByTestId('json-error')).toContainText('not valid JSON');
  await expect(page.getByTestId('field-model.kind')).toHaveValue('unet');
  await json.fill(JSON.stringify(config));
  await expect(page.getByTestId('json-error')).toHaveCount(0);
  await shot(page, testInfo, 'experiment-json');
});

test('draw a point set and edit a Gaussian mixture', async ({ page }, testInfo) => {
  await quickMoons(page);
  await setField(page, 'data.kind', 'points');
  await expect(page.getByTestId('error-data.points')).toContainText('at least one point');
  const pad = page.getByTestId('points-canvas').locator('canvas');
  await pad.scrollIntoViewIfNeeded();
  const box = (await pad.boundingBox())!;
  await page.mouse.move(box.x + 60, box.y + 150);
  await page.mouse.down();
  for (let i = 0; i <= 20; i++) await page.mouse.move(box.x + 60 + i * 9, box.y + 150 - Math.sin(i / 3) * 40);
  await page.mouse.up();
  await expect.poll(async () => parseInt((await page.getByTestId('points-count').textContent()) ?? '0', 10)).toBeGreaterThan(5);
  await expect(page.getByTestId('error-data.points')).toHaveCount(0);
  await expect(page.getByTestId('config-valid')).toBeVisible();
  await shot(page, testInfo, 'experiment-points');

  await setField(page, 'data.kind', 'gmm');
  await expect(page.getByTestId('gmm-row')).toHaveCount(4);
  // A click away from every centre adds a component there.
  await page
    .getByTestId('gmm-canvas')
    .locator('canvas')
    .click({ position: { x: 240, y: 60 } });
  await expect(page.getByTestId('gmm-row')).toHaveCount(5);
  await page.getByTestId('field-data.gmm.stds[4]').fill('-1');
  await expect(page.getByTestId('error-data.gmm.stds[4]')).toContainText('must be more than 0');
  await page.getByTestId('field-data.gmm.stds[4]').fill('0.4');
  await expect(page.getByTestId('config-valid')).toBeVisible();
});

test('settings: backend, data folder, theme persists', async ({ page, host }, testInfo) => {
  await page.getByTestId('nav-settings').click();
  await expect(page.getByTestId('settings-backend')).not.toBeEmpty();
  await expect(page.getByTestId('settings-reason')).not.toBeEmpty();
  await expect(page.getByTestId('settings-datadir')).toContainText(host.home);
  await page.getByTestId('theme-select').selectOption('dark');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await shot(page, testInfo, 'settings-dark');
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByTestId('view-settings')).toBeVisible();
});

test('settings: the training engines, checked against the interpreter they name', async ({ page }) => {
  await page.getByTestId('nav-settings').click();
  // The host probes Python once (importing torch takes seconds); the view asks again until it has the answer.
  const pytorch = page.getByTestId('engine-pytorch');
  await expect(pytorch).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('engine-tfjs-gpu')).not.toBeEmpty();
  const text = (await pytorch.innerText()).trim();
  const found = /^torch (\S+?)(?: \(CUDA [^)]*\))? on (\S+) \(Python/.exec(text);
  if (!found) {
    expect(text).toMatch(/^not available: \S/);
    console.log(`settings engines: no PyTorch engine on this machine (${text})`);
    return;
  }
  const [, version, interpreter] = found as unknown as [string, string, string];
  // The interpreter the page names reports the torch version the page shows.
  const probe = spawnSync(interpreter, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  expect(probe.stdout.trim()).toBe(version);
  await expect(page.getByTestId('engine-devices')).toContainText('cpu (');
  // The Experiment view's engine field says the same.
  await page.getByTestId('nav-experiment').click();
  await quickMoons(page);
  await expect(page.getByText(`pytorch here: torch ${version}`)).toBeVisible();
});

test('every preset loads into the form as a valid config', async ({ page }) => {
  const names = await page.getByTestId('preset-select').locator('option:not([disabled])').allTextContents();
  expect(names).toEqual(expect.arrayContaining(['moons', '8gaussians', 'checkerboard', '8gaussians-to-moons', 'mnist']));
  for (const name of names) {
    await page.getByTestId('preset-select').selectOption(name);
    await expect(page.getByTestId('config-valid'), name).toBeVisible();
  }
  // The translation preset: a data source, edited by the nested data form.
  await page.getByTestId('preset-select').selectOption('8gaussians-to-moons');
  await expect(page.getByTestId('field-source.kind')).toHaveValue('data');
  await expect(page.getByTestId('field-source.data.name')).toHaveValue('8gaussians');
  await expect(page.getByTestId('field-coupling.kind')).toHaveValue('exact-ot');
  await page.getByTestId('field-source.data.kind').selectOption('gmm');
  await expect(page.getByTestId('gmm-row')).toHaveCount(4);
  await expect.poll(async () => JSON.parse(await page.getByTestId('json-view').inputValue()).source.data.kind).toBe('gmm');
});
