import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimNode } from '../appliance-state.js';
import type { SimDirectoryConfig } from '../types.js';

export function createGatewayHandler(_node: SimNode, _dir: SimDirectoryConfig | undefined) {
  return async (_req: IncomingMessage, res: ServerResponse): Promise<void> => {
    res.writeHead(404);
    res.end();
  };
}
