/** An image run (class-conditional MNIST U-Net, tiny): the latest sample and "sample now" show PNG grids, with a class control. */
import { expect, setFields, shot, test, train } from '../fixtures';

test('conditional MNIST: image grids, class and CFG controls', async ({ page }, testInfo) => {
  await page.getByTestId('preset-select').selectOption('mnist');
  await expect(page.getByTestId('field-model.kind')).toHaveValue('unet');
  await setFields(page, { name: 'tiny mnist', 'data.digits': '1, 7', 'model.baseChannels': '8', 'model.channelMults': '1, 2' });
  await page.getByTestId('field-model.attention').uncheck();
  await setFields(page, {
    'model.groups': '4',
    'train.steps': '6',
    'train.batchSize': '8',
    'train.logEvery': '1',
    'train.sampleEvery': '3',
    'train.sampleCount': '4',
    'train.checkpointEvery': '3',
    'optim.warmupSteps': '0',
    'sampling.steps': '2',
  });
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
  await expect(page.getByTestId('sample-result').getByTestId('sample-view')).toHaveAttribute('data-kind', 'image-grid', {
    timeout: 120_000,
  });
  await expect(page.getByTestId('trajectory-plot')).toHaveCount(0);
  await shot(page, testInfo, 'live-images');
});
