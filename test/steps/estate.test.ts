// Where the directory writes go (src/steps/estate.ts connectForWrites): without writeTo, the first
// listed server that answers, trying them in order and no further; with writeTo, that server
// only, even when it is down and others answer.
import { describe, expect, it } from 'vitest';
import type { DirectoryClient } from '../../src/directory/index.js';
import type { DirectoryServer } from '../../src/playbook/inventory.js';
import { connectForWrites } from '../../src/steps/estate.js';

const server = (name: string): DirectoryServer => ({ name, url: `ldaps://${name}.corp.example:636`, startTls: false, source: 'inventory' });
const servers = ['dc1', 'dc2', 'dc3'].map(server);

/** A connector over the given servers being down; it records every server it was asked for. */
function connector(down: string[]) {
  const tried: string[] = [];
  const connect = async (s: DirectoryServer): Promise<DirectoryClient> => {
    tried.push(s.name);
    if (down.includes(s.name)) throw new Error(`connect ECONNREFUSED ${s.url}`);
    return { server: s.name } as unknown as DirectoryClient;
  };
  return { tried, connect };
}

describe('the directory server writes go to', () => {
  it('without writeTo: the first listed that answers, and no server after it', async () => {
    const c = connector(['dc1']);
    const client = await connectForWrites({ servers }, c.connect);
    expect(client).toEqual({ server: 'dc2' });
    expect(c.tried).toEqual(['dc1', 'dc2']);

    const all = connector([]);
    expect(await connectForWrites({ servers }, all.connect)).toEqual({ server: 'dc1' });
    expect(all.tried).toEqual(['dc1']);
  });

  it('without writeTo and none answering: the last error, after trying each once in order', async () => {
    const c = connector(['dc1', 'dc2', 'dc3']);
    await expect(connectForWrites({ servers }, c.connect)).rejects.toThrow('connect ECONNREFUSED ldaps://dc3.corp.example:636');
    expect(c.tried).toEqual(['dc1', 'dc2', 'dc3']);
  });

  it('with writeTo: that server only, and its error when it is down, though others answer', async () => {
    const up = connector([]);
    expect(await connectForWrites({ servers, writeTo: 'dc2' }, up.connect)).toEqual({ server: 'dc2' });
    expect(up.tried).toEqual(['dc2']);

    const down = connector(['dc2']);
    await expect(connectForWrites({ servers, writeTo: 'dc2' }, down.connect)).rejects.toThrow('connect ECONNREFUSED ldaps://dc2.corp.example:636');
    expect(down.tried).toEqual(['dc2']);
  });

  it('a writeTo naming no listed server is refused, not a silent undefined', async () => {
    await expect(connectForWrites({ servers, writeTo: 'dc9' }, connector([]).connect)).rejects.toThrow('directory.writeTo dc9 names no listed server');
  });
});
