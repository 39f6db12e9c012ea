/** An image run (class-conditional MNIST U-Net, tiny): the latest sample and "sample now" show PNG grids, with a class control. */
import { expect, setField, shot, test, train } from '../fixtures';

test('conditional MNIST: image grids, class and CFG controls', async ({ page }, testInfo) => {
  await page.getByTestId('preset-select').selectOption('mnist');
  await expect(page.getByTestId('field-model.kind')).toHaveValue('unet');
  await setField(page, 'name', 'tiny mnist');
  await setField(page, 'data.digits', '1, 7');
  await setField(page, 'model.baseChannels', '8');
  await setField(page, 'model.channelMults', '1, 2');
  await page.getByTestId('field-model.attention').uncheck();
  await setField(page, 'model.groups', '4');
  await setField(page, 'train.steps', '6');
  await setField(page, 'train.batchSize', '8');
  await setField(page, 'train.logEvery', '1');
  await setField(page, 'train.sampleEvery', '3');
  await setField(page, 'train.sampleCount', '4');
  await setField(page, 'train.checkpointEvery', '3');
  await setField(page, 'optim.warmupSteps', '0');
  await setField(page, 'sampling.steps', '2');
  await expect(page.getByTestId('config-valid')).toBeVisible();
  await train(page);
  await expect(page.getByTestId('live-status')).toHaveText('completed', { timeout: 150_000 });
  await expect(page.getByTestId('latest-sample')).toHaveAttribute('data-kind', 'image-grid', { timeout: 30_000 });
  await expect(page.getByTestId('latest-sample').locator('img')).toBeVisible();

  await expect(page.getByTestId('sample-class')).toBeVisible();
  await page.getByTestId('sample-class').selectOption('7');
  await page.getByTestId('sample-cfg').fill('1');
  await page.getByTestId('sample-steps').fill('2');
  await page.getByTestId('sample-n').fill('4');
  await page.getByTestId('btn-sample-now').click();
  await expect(page.getByTestId('sample-result').getByTestId('sample-view')).toHaveAttribute('data-kind', 'image-grid', { timeout: 120_000 });
  await expect(page.getByTestId('trajectory-plot')).toHaveCount(0);
  await shot(page, testInfo, 'live-images');
});
