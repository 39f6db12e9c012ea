// The Electron bridge: window.studio gets one named method per contract entry and one event
// subscription; the renderer never sees ipcRenderer or a generic invoke(channel). Replies stay
// envelopes here (renderer/src/bridge.ts unwraps them), because contextBridge copies only the message
// of a thrown Error and the renderer needs an error's field.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { contract, eventChannels, METHODS, type RunEvent, type StudioBridge, type TaskEvent } from '../common/contract';

const methods = Object.fromEntries(METHODS.map((m) => [m, (req?: unknown) => ipcRenderer.invoke(contract[m].channel, req ?? {})]));

const onRunEvent: StudioBridge['onRunEvent'] = (listener) => {
  const handler = (_e: IpcRendererEvent, ev: RunEvent) => listener(ev);
  ipcRenderer.on(eventChannels.run, handler);
  return () => void ipcRenderer.removeListener(eventChannels.run, handler);
};

const onTaskEvent: StudioBridge['onTaskEvent'] = (listener) => {
  const handler = (_e: IpcRendererEvent, ev: TaskEvent) => listener(ev);
  ipcRenderer.on(eventChannels.task, handler);
  return () => void ipcRenderer.removeListener(eventChannels.task, handler);
};

contextBridge.exposeInMainWorld('studio', { ...methods, onRunEvent, onTaskEvent } as StudioBridge);
