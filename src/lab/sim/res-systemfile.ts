// `systemfile`: upload (base64, no overwrite), list, read and delete files on this node.
import { normLocation } from './file-store.js';
import { NitroFault, done, type NitroReply } from './nitro-errors.js';
import { payload, str, type NitroRequest } from './nitro-request.js';
import { shapeList } from './query.js';

const MAX_FILE_BYTES = 2 * 1024 * 1024;
const MAX_NAME = 63;

function checkName(name: string): void {
  if (name.length > MAX_NAME) throw new NitroFault(278, `filename longer than ${MAX_NAME} characters`);
  if (name.includes('/') || name === '.' || name === '..') throw new NitroFault(278, 'filename must not contain a path');
}

function location(req: NitroRequest, fromBody?: string): string {
  const loc = fromBody ?? req.query.args.get('filelocation');
  if (!loc) throw new NitroFault(278, 'Required argument missing: filelocation');
  if (!loc.startsWith('/')) throw new NitroFault(278, 'filelocation must be an absolute path');
  return normLocation(loc);
}

export function handleSystemfile(req: NitroRequest): NitroReply {
  const files = req.node.files;
  switch (req.method) {
    case 'POST': {
      const p = payload(req);
      const name = str(p, 'filename', true);
      checkName(name);
      const loc = location(req, str(p, 'filelocation', true));
      const encoding = (str(p, 'fileencoding') ?? 'BASE64').toUpperCase();
      if (encoding !== 'BASE64') throw new NitroFault(278, 'fileencoding must be BASE64');
      const text = typeof p.filecontent === 'string' ? p.filecontent : '';
      if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(text)) throw new NitroFault(278, 'filecontent is not base64');
      const content = Buffer.from(text, 'base64');
      if (content.length > MAX_FILE_BYTES) throw new NitroFault(278, 'file larger than 2 MB');
      files.add(loc, name, content);
      return done(201);
    }
    case 'GET': {
      const loc = location(req);
      const wanted = req.name ?? req.query.args.get('filename');
      if (wanted !== undefined) {
        const f = files.get(loc, wanted);
        if (!f) throw new NitroFault(258, `filename, ${wanted}`);
        return done(200, {
          systemfile: [
            {
              filename: wanted,
              filelocation: loc,
              filecontent: f.content.toString('base64'),
              fileencoding: 'BASE64',
              filesize: f.content.length,
              filemodifiedtime: f.mtime.toUTCString(),
            },
          ],
        });
      }
      const items = files.list(loc).map(([filename, f]) => ({
        filename,
        filelocation: loc,
        filemode: ['-rw-r--r--'],
        filesize: f.content.length,
        filemodifiedtime: f.mtime.toUTCString(),
      }));
      const shaped = shapeList(items, req.query);
      return done(200, shaped.length > 0 ? { systemfile: shaped } : {});
    }
    case 'DELETE': {
      const name = req.name ?? req.query.args.get('filename');
      if (!name) throw new NitroFault(278, 'Required argument missing: filename');
      const loc = location(req);
      if (!files.remove(loc, name)) throw new NitroFault(258, `filename, ${name}`);
      return done(200);
    }
    default:
      throw new NitroFault(278, `${req.method} is not supported on systemfile`);
  }
}
