// The one TS resolver of the repository root (--repo / $BACKUP_MGMT_REPO),
// used by the CLI's repository commands and by the agent's configuration.
import { describe, expect, it } from 'vitest';
import { repositoryRootInput, RepositoryRootError, resolveRepositoryRoot } from '../../src/storage/repository-root.js';
import { resolveAgentConfig } from '../../src/agent/config.js';

describe('resolveRepositoryRoot', () => {
  it('takes the flag over the environment and makes it absolute', () => {
    expect(resolveRepositoryRoot('/srv/a', { BACKUP_MGMT_REPO: '/srv/b' })).toBe('/srv/a');
    expect(resolveRepositoryRoot(undefined, { BACKUP_MGMT_REPO: '/srv/b/' })).toBe('/srv/b');
    expect(resolveRepositoryRoot('rel/x', {})).toBe(`${process.cwd()}/rel/x`);
  });

  it('treats an empty value as not given and refuses NUL bytes', () => {
    expect(repositoryRootInput(undefined, { BACKUP_MGMT_REPO: '' })).toBeUndefined();
    expect(() => resolveRepositoryRoot(undefined, { BACKUP_MGMT_REPO: '' })).toThrow(RepositoryRootError);
    expect(() => resolveRepositoryRoot(undefined, {})).toThrow('no repository: pass --repo or set BACKUP_MGMT_REPO');
    expect(() => resolveRepositoryRoot('/srv/a\0b', {})).toThrow('contains a NUL byte');
  });

  it('is what the agent configuration uses', () => {
    const env = { DATABASE_URL: 'postgresql://h/db', BACKUP_MGMT_REPO: '/srv/env' };
    expect(resolveAgentConfig({}, env).repo).toBe('/srv/env');
    expect(resolveAgentConfig({ repo: '/srv/flag' }, env).repo).toBe('/srv/flag');
    expect(() => resolveAgentConfig({}, { ...env, BACKUP_MGMT_REPO: '' })).toThrow(/BACKUP_MGMT_REPO/);
  });
});
