// Electron main process: app lifecycle, one secure window, IPC handlers registered in one place.
import { app, BrowserWindow, ipcMain, shell } from 'electron';
import { join } from 'node:path';
import { channels, type AppInfo } from '../preload/contract';

const windows = new Set<number>();

function createWindow(): void {
  const win = new BrowserWindow({
    width: 1280,
    height: 840,
    title: 'Flow Studio',
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
    },
  });
  windows.add(win.webContents.id);
  win.on('closed', () => windows.delete(win.webContents.id));
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

function registerIpc(): void {
  ipcMain.handle(channels.appInfo, (event): AppInfo => {
    // Only windows this process created may call in.
    if (!windows.has(event.sender.id)) throw new Error('unknown sender');
    return { name: 'Flow Studio', version: app.getVersion(), host: 'electron', platform: process.platform };
  });
}

void app.whenReady().then(() => {
  registerIpc();
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
