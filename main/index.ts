/**
 * Electron main process: app lifecycle, one secure window, and the contract's IPC handlers,
 * registered in one place (registerIpc). Every handler checks that the sender is a window this
 * process created and validates its payload with the contract's schema (StudioService.call); the
 * training runs in worker threads (Supervisor), sampling in the compute worker.
 *
 * Security decisions (what may load, navigate, open, or get a permission) are plain functions in
 * ./electron/policy.ts with unit tests; this file only wires them to Electron's events. The Electron
 * binary cannot be downloaded on the machines this project is built and tested on, so the wiring
 * here is type-checked but only runs where Electron is installed (test/e2e/electron).
 */
import { app, BrowserWindow, dialog, ipcMain, protocol, session, shell, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { contract, eventChannels, METHODS, type Envelope } from '../common/contract';
import { StudioService } from './studio/service';
import { DB_FILE_NAME } from './store/paths';
import { headerPolicy } from './security/csp';
import {
  APP_SCHEME,
  APP_SCHEME_PRIVILEGES,
  navigationAllowed,
  permissionAllowed,
  rendererEntry,
  serveAppRequest,
  windowOpenDecision,
} from './electron/policy';
import { rendererDir } from './runtime/resources';

// The renderer's scheme must be registered as privileged before the app is ready.
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: APP_SCHEME_PRIVILEGES }]);

const entry = rendererEntry({ isPackaged: app.isPackaged, devUrl: process.env.ELECTRON_RENDERER_URL });
const renderer = rendererDir();

const windows = new Set<number>();
let service: StudioService | null = null;

/**
 * Guards every web contents this app ever has (windows, and anything a page might create): no new
 * windows (allowed documentation links open in the user's browser), no navigation, frame navigation
 * or redirect out of the app, no <webview>.
 */
function guard(contents: WebContents): void {
  contents.setWindowOpenHandler(({ url }) => {
    const d = windowOpenDecision(url);
    if (d.openExternal) void shell.openExternal(url);
    return { action: d.action };
  });
  contents.on('will-navigate', (e) => {
    if (!navigationAllowed(e.url, entry.url)) e.preventDefault();
  });
  contents.on('will-frame-navigate', (e) => {
    if (!navigationAllowed(e.url, entry.url)) e.preventDefault();
  });
  contents.on('will-redirect', (e) => {
    if (!navigationAllowed(e.url, entry.url)) e.preventDefault();
  });
  contents.on('will-attach-webview', (e) => e.preventDefault());
}

function createWindow(): void {
  const win = new BrowserWindow({
    width: 1360,
    height: 900,
    title: 'Flow Studio',
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
    },
  });
  const id = win.webContents.id;
  windows.add(id);
  win.on('closed', () => windows.delete(id));
  void win.loadURL(entry.url);
}

/** Only windows this process created may call in (not a devtools extension, not a stray webContents). */
function trusted(event: IpcMainInvokeEvent): boolean {
  return windows.has(event.sender.id) && event.senderFrame?.parent === null;
}

function registerIpc(svc: StudioService): void {
  for (const m of METHODS) {
    ipcMain.handle(contract[m].channel, async (event, payload: unknown): Promise<Envelope<unknown>> => {
      if (!trusted(event)) return { ok: false, error: { code: 'unauthorized', message: 'unknown sender' } };
      return svc.call(m, payload);
    });
  }
  svc.onEvent((stream, e) => {
    for (const win of BrowserWindow.getAllWindows()) if (windows.has(win.webContents.id)) win.webContents.send(eventChannels[stream], e);
  });
}

app.on('web-contents-created', (_e, contents) => guard(contents));

void app.whenReady().then(() => {
  const ses = session.defaultSession;
  // Deny by default: the studio uses no permission-gated API (camera, notifications, HID ...).
  ses.setPermissionRequestHandler((_wc, permission, callback, details) =>
    callback(permissionAllowed(permission, details.requestingUrl, entry.url)),
  );
  ses.setPermissionCheckHandler((_wc, permission, requestingOrigin) => permissionAllowed(permission, requestingOrigin, entry.url));
  ses.setDevicePermissionHandler(() => false);
  // The built renderer over app:// (the handler adds the CSP to pages); the dev server's responses
  // get the same policy as a header, with its hot-reload socket allowed.
  protocol.handle(APP_SCHEME, (request) => serveAppRequest(renderer, request));
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [headerPolicy(entry.dev ? 'electron-dev' : 'electron')] },
    });
  });
  const dataDir = process.env.FLOW_STUDIO_HOME?.trim() || app.getPath('userData');
  mkdirSync(dataDir, { recursive: true });
  try {
    service = new StudioService({ dbPath: join(dataDir, DB_FILE_NAME), dataDir, host: 'electron', version: app.getVersion() });
  } catch (e) {
    // A store that is damaged, read-only or not a database (StoreFileError) says which file and what
    // to do; the app cannot run without it, and must not write to it.
    dialog.showErrorBox(
      'Flow Studio cannot open its data',
      `${e instanceof Error ? e.message : String(e)}\n\nSee 'flow-studio doctor' and README, "Your data".`,
    );
    app.exit(2);
    return;
  }
  registerIpc(service);
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

// Trainings checkpoint before the app quits, so they resume on the next start.
let quitting = false;
app.on('before-quit', (e) => {
  if (quitting || !service) return;
  e.preventDefault();
  quitting = true;
  void service.close().finally(() => app.quit());
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
