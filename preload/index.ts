// Exposes named methods only: the renderer never sees ipcRenderer or a generic invoke(channel).
import { contextBridge, ipcRenderer } from 'electron';
import { channels, type StudioApi, type AppInfo } from './contract';

const api: StudioApi = {
  appInfo: () => ipcRenderer.invoke(channels.appInfo) as Promise<AppInfo>,
};

contextBridge.exposeInMainWorld('studio', api);
