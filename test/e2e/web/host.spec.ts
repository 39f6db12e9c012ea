/**
 * The web host's access token and CSP in a real browser: the page keeps no copy of the token (the
 * HttpOnly cookie, named with the port, carries it), a reload of the bare URL still works, and the
 * policy's connect-src 'self' lets the page open its own WebSocket (CSP3 matches ws: on the page's
 * own host and port) while a socket to any other port is blocked.
 */
import { expect, test } from '../fixtures';

test('the token lives only in an HttpOnly cookie; a bare reload works; connect-src self covers the own socket only', async ({
  page,
  host,
  errors,
}) => {
  const opened = new URL(host.url);
  const token = opened.searchParams.get('token')!;
  expect(token).toMatch(/^[0-9a-f]{64}$/);

  // The address bar lost ?token=, storage holds no copy, and scripts cannot read the cookie.
  await expect.poll(() => new URL(page.url()).searchParams.has('token')).toBe(false);
  const seen = await page.evaluate(() => ({
    storage: JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }),
    cookie: document.cookie,
  }));
  expect(seen.storage).not.toContain(token);
  expect(seen.cookie).not.toContain(token);
  const cookies = await page.context().cookies(host.url);
  const tokenCookie = cookies.find((c) => c.value === token);
  expect(tokenCookie).toMatchObject({ name: `flow_studio_token_${opened.port}`, httpOnly: true, sameSite: 'Strict' });

  // A reload of the bare URL: the page, its scripts and its API calls all go through on the cookie.
  await page.goto(`${opened.origin}/#/experiment`);
  await expect(page.getByTestId('nav-experiment')).toBeVisible();
  await expect(page.getByTestId('preset-select').locator('option:not([disabled])')).not.toHaveCount(0);

  // The page's own socket opens under connect-src 'self'; one to another port is refused by the policy.
  const own = await page.evaluate(
    () =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(`ws://${location.host}/events`);
        ws.onopen = () => {
          ws.close();
          resolve('open');
        };
        ws.onerror = () => resolve('error');
      }),
  );
  expect(own).toBe('open');
  const other = await page.evaluate(
    (port) =>
      new Promise<string>((resolve) => {
        document.addEventListener('securitypolicyviolation', (e) => resolve(`blocked by ${e.effectiveDirective}`), { once: true });
        try {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/events`);
          ws.onopen = () => resolve('open');
        } catch (e) {
          resolve(`threw ${(e as Error).name}`);
        }
      }),
    Number(opened.port) === 65535 ? 65534 : Number(opened.port) + 1,
  );
  expect(other).toBe('blocked by connect-src');
  // The browser reports that refusal on the console; it is the expected one, not a page error.
  const csp = errors.filter((e) => e.includes('Content Security Policy'));
  expect(csp.length).toBeGreaterThan(0);
  errors.splice(0, errors.length, ...errors.filter((e) => !e.includes('Content Security Policy')));
});
