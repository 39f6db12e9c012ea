/** Saves an exported file (the contract's ExportFile: name, mime, base64 bytes) through the browser. */
import type { ExportFile } from '../../../common/contract';
import { base64ToBytes } from './format';

export function downloadFile(f: ExportFile): void {
  const url = URL.createObjectURL(new Blob([base64ToBytes(f.base64) as Uint8Array<ArrayBuffer>], { type: f.mime }));
  const a = document.createElement('a');
  a.href = url;
  a.download = f.name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoked later: the download may not have read the blob yet.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
