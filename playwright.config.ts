/**
 * End-to-end tests: the built renderer in Debian's Chromium against the real web host (test/e2e/web),
 * and the Electron app where an Electron binary exists (test/e2e/electron, skipped otherwise).
 * Playwright's own browser download is not used: the browser is whatever `chromium` is on the PATH
 * (or FLOW_STUDIO_CHROMIUM).
 */
import { execFileSync } from 'node:child_process';
import { defineConfig } from '@playwright/test';

function chromium(): string | undefined {
  if (process.env.FLOW_STUDIO_CHROMIUM) return process.env.FLOW_STUDIO_CHROMIUM;
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export default defineConfig({
  testDir: 'test/e2e',
  testMatch: '**/*.spec.ts',
  outputDir: 'test-results/e2e',
  globalSetup: './test/e2e/global-setup.ts',
  // Each test starts its own host with its own data folder; training shares the CPU, so keep two at a time.
  workers: 2,
  fullyParallel: false,
  timeout: 180_000,
  expect: { timeout: 30_000 },
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    viewport: { width: 1440, height: 960 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: chromium(),
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  projects: [
    { name: 'web', testDir: 'test/e2e/web' },
    { name: 'electron', testDir: 'test/e2e/electron' },
  ],
});
