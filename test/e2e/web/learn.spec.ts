/**
 * The Experiment view as a newcomer meets it, against the real web host: every option explains
 * itself on hover and focus and opens a learn panel with a typeset formula from the keyboard; the
 * chosen data previews with its definition; errors read as sentences and a blocked Train puts the
 * cursor in the bad field; the valid badge agrees with the JSON editor; a wild learning rate asks
 * for confirmation; image data on the CPU is warned about with a measured time estimate; the draft
 * survives a reload; the view is usable 1024 px wide.
 */
import { join } from 'node:path';
import { expect, quickMoons, ROOT, setField, shot, test } from '../fixtures';

test('explanations on hover and focus, learn panel from the keyboard', async ({ page }, testInfo) => {
  await quickMoons(page);
  // Hover: the field's one line shows as its description.
  const field = page.locator('.field[data-field="path.scheduler.kind"]');
  const line = page.getByTestId('explain-path.scheduler.kind');
  await expect(line).toBeHidden();
  await field.hover();
  await expect(line).toBeVisible();
  await expect(line).not.toBeEmpty();
  // The select's accessible description is that line.
  const describedBy = await page.getByTestId('field-path.scheduler.kind').getAttribute('aria-describedby');
  expect(describedBy).toBeTruthy();
  await expect(page.locator(`[id="${describedBy}"]`)).toHaveText((await line.textContent())!);

  // Keyboard only: focus the learning rate input, Shift+Tab to its "?" button, Enter opens the panel.
  await page.getByTestId('field-optim.lr').focus();
  await expect(page.getByTestId('explain-optim.lr')).toBeVisible();
  await page.keyboard.press('Shift+Tab');
  const help = page.getByTestId('help-optim.lr');
  await expect(help).toBeFocused();
  await expect(page.getByTestId('help-pop-optim.lr')).toBeVisible();
  await page.keyboard.press('Enter');
  const panel = page.getByTestId('learn-panel');
  await expect(panel).toBeVisible();
  await expect(panel).toBeFocused();
  await expect(panel.locator('h3')).not.toBeEmpty();
  await page.keyboard.press('Escape');
  await expect(panel).toBeHidden();
  await expect(help).toBeFocused();

  // A choice's learn panel typesets its formula with KaTeX (MathML for screen readers) and lists the choices.
  await page.getByTestId('help-path.scheduler.kind').click();
  await expect(panel.getByTestId('math').first().locator('.katex')).toBeVisible();
  await expect(panel.getByTestId('math').first().locator('math')).toHaveCount(1);
  await expect(panel.locator('.choices dt').first()).toBeVisible();
  await shot(page, testInfo, 'experiment-learn', join(ROOT, 'resources', 'screenshots', 'learn.png'), { top: true });
  await page.getByTestId('learn-close').click();
  await expect(panel).toBeHidden();
});

test('data preview, plain errors, focus on the bad field, badge agrees with JSON', async ({ page }, testInfo) => {
  await page.getByTestId('preset-select').selectOption('moons');
  await expect(page.getByTestId('preset-state')).toHaveAttribute('data-state', 'preset');
  await expect(page.getByTestId('preset-about')).not.toBeEmpty();
  // The target previews at once, with the dataset's definition.
  const preview = page.getByTestId('data-preview');
  await expect.poll(async () => Number(await preview.getAttribute('data-points'))).toBeGreaterThan(500);
  await expect(page.getByTestId('data-definition')).toContainText(/moon/i);
  await setField(page, 'data.name', 'checkerboard');
  await expect(page.getByTestId('data-definition')).toContainText(/checker/i);
  await expect(page.getByTestId('preset-state')).toHaveAttribute('data-state', 'modified');
  await shot(page, testInfo, 'experiment', undefined, { top: true });

  // A wrong type reads as a sentence, not as the schema's "expected number, received string".
  await setField(page, 'optim.lr', 'fast');
  await expect(page.getByTestId('error-optim.lr')).toHaveText('must be a number');
  // The JSON view and the badge say the same.
  await expect(page.getByTestId('issue-count')).toHaveText('1 issue');
  const json = page.getByTestId('json-view');
  await expect(json).toHaveValue(/"lr": "fast"/);
  // Train is blocked, says which setting, and puts the cursor in it (its section opened).
  await page.getByTestId('field-train.steps').focus();
  await page.getByTestId('btn-train').click();
  await expect(page.getByTestId('submit-error')).toContainText('Learning rate');
  await expect(page.getByTestId('submit-error')).not.toContainText('optim.lr');
  await expect(page.getByTestId('field-optim.lr')).toBeFocused();
  // The banner clears with its cause (the next edit) and can be dismissed.
  await setField(page, 'optim.lr', '0.001');
  await expect(page.getByTestId('submit-error')).toBeHidden();
  await expect(page.getByTestId('config-valid')).toBeVisible();

  // A JSON edit the schema refuses turns the badge too; a JSON that does not parse says so.
  const cfg = JSON.parse(await json.inputValue()) as { train?: Record<string, unknown> };
  cfg.train = { ...cfg.train, batchSize: -3 };
  await json.fill(JSON.stringify(cfg, null, 2));
  await expect(page.getByTestId('issue-count')).toBeVisible();
  await expect(page.getByTestId('error-train.batchSize')).toContainText('must be at least');
  await json.fill('{ "data": ');
  await expect(page.getByTestId('json-invalid')).toBeVisible();
});

test('bad and expensive settings warn before Train; the draft survives a reload', async ({ page }) => {
  await quickMoons(page, { name: 'draft kept' });
  await setField(page, 'optim.lr', '1e9');
  await expect(page.getByTestId('warning-optim.lr')).toContainText('explode');
  // The schema accepts it, so Train asks first; Cancel keeps the user in the Experiment view.
  await expect(page.getByTestId('config-valid')).toBeVisible();
  // Ctrl+Enter trains from the keyboard, even from inside a field.
  await page.getByTestId('field-optim.lr').focus();
  await page.keyboard.press('Control+Enter');
  const dialog = page.getByTestId('confirm-dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('1000000000');
  await page.getByTestId('btn-dialog-cancel').click();
  await expect(page.getByTestId('view-experiment')).toBeVisible();

  // Reload: the draft (name, the odd learning rate) and where it came from are restored.
  await page.waitForTimeout(600);
  await page.reload();
  await expect(page.getByTestId('draft-restored')).toBeVisible();
  await expect(page.getByTestId('field-name')).toHaveValue('draft kept');
  await expect(page.getByTestId('field-optim.lr')).toHaveValue('1000000000');
  await expect(page.getByTestId('preset-state')).toHaveAttribute('data-state', 'modified');
  await expect(page.getByTestId('preset-select')).toHaveValue('moons');
  // Start over forgets it.
  await page.getByTestId('btn-start-over').click();
  await expect(page.getByTestId('field-name')).not.toHaveValue('draft kept');
  await page.waitForTimeout(600);
  await page.reload();
  await expect(page.getByTestId('draft-restored')).toBeHidden();

  // MNIST on a CPU backend: the cost is said, with a time measured on this machine.
  await page.getByTestId('preset-select').selectOption('mnist');
  const backend = await page.evaluate(async () => {
    const r = await fetch('/api/settings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    return ((await r.json()) as { value: { backend: { name: string } } }).value.backend.name;
  });
  if (['cpu', 'wasm'].includes(backend)) await expect(page.getByTestId('warning-data.kind')).toContainText('slowly');
  await expect(page.getByTestId('training-estimate')).toHaveAttribute('data-state', 'done', { timeout: 150_000 });
  await expect(page.getByTestId('estimate-time')).toHaveText(/\d/);
});

test('usable at 1024 px: nothing overflows sideways', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 1024, height: 768 });
  await quickMoons(page);
  const overflow = () =>
    page.evaluate(() => {
      const c = document.querySelector('.content')!;
      return c.scrollWidth - c.clientWidth;
    });
  expect(await overflow()).toBeLessThanOrEqual(1);
  await expect(page.getByTestId('btn-train')).toBeInViewport();
  for (const v of ['runs', 'compare', 'latent', 'settings']) {
    await page.getByTestId(`nav-${v}`).click();
    await expect(page.getByTestId(`view-${v}`)).toBeVisible();
    expect(await overflow(), `view ${v} at 1024 px`).toBeLessThanOrEqual(1);
  }
  await page.getByTestId('nav-experiment').click();
  await shot(page, testInfo, 'experiment-1024', undefined, { top: true });
});
