/**
 * electron-builder.yml as electron-builder itself reads it: it loads and passes electron-builder's
 * own schema (app-builder-lib's getConfig and validateConfiguration), and its electronFuses map,
 * through app-builder-lib's own translation, to @electron/fuses settings with RunAsNode, NODE_OPTIONS
 * and --inspect off, asar integrity and asar-only loading on, cookie encryption on. Packaging itself
 * needs the Electron binary, which cannot be downloaded here.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../../..');
const require = createRequire(import.meta.url);

interface Fuses {
  runAsNode?: boolean;
  enableCookieEncryption?: boolean;
  enableNodeOptionsEnvironmentVariable?: boolean;
  enableNodeCliInspectArguments?: boolean;
  enableEmbeddedAsarIntegrityValidation?: boolean;
  onlyLoadAppFromAsar?: boolean;
  grantFileProtocolExtraPrivileges?: boolean;
}

describe('electron-builder.yml', () => {
  it('parses as YAML and holds the fuses', () => {
    const yaml = require('js-yaml') as { load(text: string): unknown };
    const doc = yaml.load(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as { electronFuses?: Fuses };
    expect(doc.electronFuses).toEqual({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      enableCookieEncryption: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it("passes electron-builder's own loading and schema validation, and maps to the fuse wire", async () => {
    // The package's entry first: its modules import each other in a cycle that only resolves from there.
    const { PlatformPackager } = require('app-builder-lib') as {
      PlatformPackager: { prototype: { generateFuseConfig(f: Fuses): Promise<Record<number, boolean>> } };
    };
    const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
      getConfig(
        projectDir: string,
        configPath: string | null,
        configFromOptions: unknown,
      ): Promise<{ electronFuses?: Fuses; appId?: string }>;
      validateConfiguration(config: unknown, debugLogger: unknown): Promise<void>;
    };
    const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
    const config = await getConfig(ROOT, null, null);
    expect(config.appId).toBe('studio.flow.desktop');
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
    // A misspelt fuse is refused by the same validation, so the test above can fail.
    await expect(validateConfiguration({ ...config, electronFuses: { runAsNod: false } }, new DebugLogger(false))).rejects.toThrow(
      /electronFuses/,
    );

    // app-builder-lib's own translation to @electron/fuses (generateFuseConfig uses no packager state).
    const { FuseV1Options } = require('@electron/fuses') as { FuseV1Options: Record<string, number> };
    const wire = await PlatformPackager.prototype.generateFuseConfig.call(null, config.electronFuses!);
    expect(wire[FuseV1Options.RunAsNode!]).toBe(false);
    expect(wire[FuseV1Options.EnableNodeOptionsEnvironmentVariable!]).toBe(false);
    expect(wire[FuseV1Options.EnableNodeCliInspectArguments!]).toBe(false);
    expect(wire[FuseV1Options.EnableEmbeddedAsarIntegrityValidation!]).toBe(true);
    expect(wire[FuseV1Options.OnlyLoadAppFromAsar!]).toBe(true);
    expect(wire[FuseV1Options.EnableCookieEncryption!]).toBe(true);
    expect(wire[FuseV1Options.GrantFileProtocolExtraPrivileges!]).toBe(false);
  });
});
