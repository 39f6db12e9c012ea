import { describe, expect, it } from 'vitest';
import { defaultDataDir, defaultDbPath, DB_FILE_NAME } from '../../../main/store';

describe('defaultDataDir', () => {
  it('prefers FLOW_STUDIO_HOME on every platform', () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      expect(defaultDataDir({ FLOW_STUDIO_HOME: '/data/fs' }, platform, '/home/u')).toBe('/data/fs');
    }
  });

  it('Linux: XDG_DATA_HOME when absolute, else ~/.local/share', () => {
    expect(defaultDataDir({}, 'linux', '/home/u')).toBe('/home/u/.local/share/flow-studio');
    expect(defaultDataDir({ XDG_DATA_HOME: '/xdg' }, 'linux', '/home/u')).toBe('/xdg/flow-studio');
    // The XDG spec says relative paths are invalid and must be ignored.
    expect(defaultDataDir({ XDG_DATA_HOME: 'rel/dir' }, 'linux', '/home/u')).toBe('/home/u/.local/share/flow-studio');
    expect(defaultDataDir({ FLOW_STUDIO_HOME: '  ' }, 'freebsd', '/home/u')).toBe('/home/u/.local/share/flow-studio');
  });

  it('macOS: ~/Library/Application Support/Flow Studio', () => {
    expect(defaultDataDir({ XDG_DATA_HOME: '/xdg' }, 'darwin', '/Users/u')).toBe('/Users/u/Library/Application Support/Flow Studio');
  });

  it('Windows: %APPDATA%\\Flow Studio, falling back to ~\\AppData\\Roaming', () => {
    expect(defaultDataDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', 'C:\\Users\\u')).toBe(
      'C:\\Users\\u\\AppData\\Roaming\\Flow Studio',
    );
    expect(defaultDataDir({}, 'win32', 'C:\\Users\\u')).toBe('C:\\Users\\u\\AppData\\Roaming\\Flow Studio');
  });

  it('defaultDbPath puts the file in the folder', () => {
    expect(defaultDbPath('/data/fs')).toBe(`/data/fs/${DB_FILE_NAME}`);
  });
});
