// What makes two inventories the same estate for the lock: the appliances' nodes and the
// directory, however they are written — not the file, the names or the order.
import { describe, expect, it } from 'vitest';
import { estateId } from '../../src/cutover/estate-lock.js';
import type { Inventory } from '../../src/playbook/inventory.js';

function inventory(appliances: { name: string; nitro?: string; nodes?: string[] }[], url = 'ldaps://dc1.example:636', base = 'ou=Users,dc=example'): Inventory {
  return { appliances, directory: { url, base }, file: '/x/inventory.yaml' } as unknown as Inventory;
}

describe('estateId', () => {
  const base = estateId(
    inventory([
      { name: 'adc1', nodes: ['https://10.0.0.1', 'https://10.0.0.2'] },
      { name: 'adc2', nitro: 'https://10.0.0.3' },
    ]),
  );

  it('is the same for the same nodes and directory, whatever the order, names, case, slashes or default port', () => {
    const same = estateId(
      inventory(
        [
          { name: 'edge', nitro: 'https://10.0.0.3:443/' },
          { name: 'pair', nodes: ['HTTPS://10.0.0.2/', 'https://10.0.0.1'] },
        ],
        'ldaps://DC1.example',
        'OU=Users, DC=example',
      ),
    );
    expect(same.key).toBe(base.key);
  });

  it('differs when a node, the directory server or the base differs', () => {
    expect(estateId(inventory([{ name: 'adc1', nodes: ['https://10.0.0.1', 'https://10.0.0.2'] }])).key).not.toBe(base.key);
    expect(
      estateId(
        inventory([
          { name: 'adc1', nodes: ['https://10.0.0.1', 'https://10.0.0.2'] },
          { name: 'adc2', nitro: 'https://10.0.0.3:8443' },
        ]),
      ).key,
    ).not.toBe(base.key);
    const nodes = [
      { name: 'adc1', nodes: ['https://10.0.0.1', 'https://10.0.0.2'] },
      { name: 'adc2', nitro: 'https://10.0.0.3' },
    ];
    expect(estateId(inventory(nodes, 'ldaps://dc2.example:636')).key).not.toBe(base.key);
    expect(estateId(inventory(nodes, 'ldaps://dc1.example:636', 'ou=Staff,dc=example')).key).not.toBe(base.key);
  });
});
