/**
 * A dropped host connection, against the real web host: the event socket is routed through
 * Playwright (page.routeWebSocket, which relays to the real host) so the test can cut it and refuse
 * reconnections as a stopped host would, then let them through. The banner says so at once, the Live
 * view stops claiming "running", and the page reconnects by itself. A real stopped host is tested
 * last: requests then fail with a sentence, not a stack.
 */
import { expect, quickMoons, test, train } from '../fixtures';

test('connection loss: banner at once, live status not stale, reconnects', async ({ page, host, errors }) => {
  let down = false;
  const open: { close: () => Promise<void> }[] = [];
  await page.routeWebSocket('**/events', (ws) => {
    if (down) {
      void ws.close();
      return;
    }
    ws.connectToServer();
    open.push(ws);
  });
  // The socket opened before the route was set is not routed: reload so the page's socket is.
  await page.reload();
  await expect(page.getByTestId('nav-experiment')).toBeVisible();

  await quickMoons(page, { name: 'connection', steps: 20000 });
  await train(page);
  await expect(page.getByTestId('live-status')).toHaveText('running');
  await expect(page.getByTestId('connection-lost')).toHaveCount(0);

  // The host "goes away": the socket closes and reconnections are refused.
  down = true;
  for (const ws of open.splice(0)) await ws.close();
  await expect(page.getByTestId('connection-lost')).toBeVisible({ timeout: 5_000 });
  await expect(page.getByTestId('live-status')).toHaveText('connection lost');
  await expect(page.getByTestId('btn-pause')).toBeDisabled();
  // It keeps trying (the attempt count grows).
  await expect
    .poll(async () => Number(await page.getByTestId('connection-lost').getAttribute('data-attempts')), { timeout: 20_000 })
    .toBeGreaterThan(0);

  // Back: the page reconnects by itself, says so, and the status is live again.
  down = false;
  await page.getByTestId('btn-reconnect').click();
  await expect(page.getByTestId('connection-lost')).toHaveCount(0, { timeout: 15_000 });
  await expect(page.getByTestId('connection-restored')).toBeVisible();
  await expect(page.getByTestId('live-status')).toHaveText('running');
  await page.getByTestId('btn-cancel').click();
  await expect(page.getByTestId('live-status')).toHaveText('cancelled');

  // A host that really stopped: the banner shows and a request fails with a sentence.
  host.proc.kill('SIGTERM');
  await expect(page.getByTestId('connection-lost')).toBeVisible({ timeout: 15_000 });
  await page.getByTestId('nav-runs').click();
  await page.getByTestId('btn-refresh').click();
  await expect(page.getByRole('alert').filter({ hasText: 'Could not reach the Flow Studio host' }).first()).toBeVisible();
  // The browser logs the refused connections themselves; any other console error still fails the test.
  const expected = /ERR_CONNECTION_REFUSED|WebSocket connection to .* failed/;
  errors.splice(0, errors.length, ...errors.filter((e) => !expected.test(e)));
});
