/**
 * Electron main process: app lifecycle, one secure window, and the contract's IPC handlers,
 * registered in one place (registerIpc). Every handler checks that the sender is a window this
 * process created and validates its payload with the contract's schema (StudioService.call); the
 * training runs in worker threads (Supervisor), sampling in the compute worker.
 */
import { app, BrowserWindow, ipcMain, session, shell, type IpcMainInvokeEvent } from 'electron';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { contract, eventChannels, METHODS, type Envelope } from '../preload/contract';
import { StudioService } from './studio/service';
import { DB_FILE_NAME } from './store/paths';

/** The same policy as renderer/index.html's meta tag, also sent as a header for every response. */
const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' ws: wss:; worker-src 'self' blob:";

const windows = new Set<number>();
let service: StudioService | null = null;

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
    },
  });
  const id = win.webContents.id;
  windows.add(id);
  win.on('closed', () => windows.delete(id));
  // No pop-ups and no navigation away from the app; external links open in the user's browser.
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:/.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  const devUrl = process.env.ELECTRON_RENDERER_URL;
  if (devUrl) void win.loadURL(devUrl);
  else void win.loadFile(join(import.meta.dirname, '../renderer/index.html'));
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

void app.whenReady().then(() => {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  const dataDir = process.env.FLOW_STUDIO_HOME?.trim() || app.getPath('userData');
  mkdirSync(dataDir, { recursive: true });
  service = new StudioService({ dbPath: join(dataDir, DB_FILE_NAME), dataDir, host: 'electron', version: app.getVersion() });
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
