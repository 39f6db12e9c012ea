/**
 * The single contract between the renderer and the host (Electron main, or the web host).
 * Each channel's name, request and reply types live here side by side; main, preload, the renderer
 * bridge and the web host all import this file, so no channel name is spelled twice.
 */
export interface AppInfo {
  name: string;
  version: string;
  /** 'electron' when the Electron shell serves the renderer, 'web' for the web host. */
  host: 'electron' | 'web';
  platform: string;
}

export const channels = {
  appInfo: 'app:info',
} as const;

/** The API the renderer sees as window.studio (Electron) or through the web client. */
export interface StudioApi {
  appInfo(): Promise<AppInfo>;
}
