/**
 * fsu_ecp, fsu_get, fsu_put: copy between the host and an image (NetBSD fs-utils' ecp).
 *
 *   fsu_get IMAGE [-Rapv] [-L] SRC... HOSTDST     image -> host
 *   fsu_put IMAGE [-Rapv] [-L] HOSTSRC... DST     host -> image
 *   fsu_ecp IMAGE -g|-p [-Rav] [-L] SRC... DST    either way (-g gets, -p puts, as NetBSD's)
 *
 * -R copies directories (hard links inside a copied tree stay hard links, symbolic links are
 * copied as links unless -L), -a (and, for get/put, -p) keeps owner and times as well as the
 * mode, -v lists each copy. New files always get the source's permission bits less the umask.
 */

import * as hostfs from 'node:fs/promises';
import { Copier, currentUmask, endProgress, progressReporter, type CopySide } from './copy.js';
import { UsageError, type ToolRun, type ToolSpec } from './common.js';

function makeTool(name: 'ecp' | 'get' | 'put'): ToolSpec {
  return {
    name,
    synopsis: name === 'ecp' ? '-g | -p [-aLRv] source ... target' : `[-aLpRv] ${name === 'get' ? 'image-source ... host-target' : 'host-source ... image-target'}`,
    description: name === 'get' ? 'copy files from a file system image to the host'
      : name === 'put' ? 'copy files from the host into a file system image'
        : 'copy files between the host and a file system image',
    options: name === 'ecp' ? 'gpaLRrv' : 'apLRrv',
    writes: name === 'ecp' ? (flags, order) => flags.last('gp', order) !== 'g' : name === 'put',
    minArgs: 2,
    async run(t: ToolRun): Promise<number> {
      const f = t.flags;
      let dir: 'get' | 'put';
      let preserve = f.has('a');
      if (name === 'ecp') {
        const last = t.flags.last('gp', t.order);
        if (last === undefined) throw new UsageError('-g or -p should be specified');
        dir = last === 'g' ? 'get' : 'put';
      } else {
        dir = name;
        preserve ||= f.has('p');
      }
      const image: CopySide = { label: 'the image', umask: 0o022, fs: t.fs as unknown as CopySide['fs'] };
      const host: CopySide = { label: 'the host', umask: currentUmask(), fs: hostfs as unknown as CopySide['fs'] };
      const recursive = f.has('R') || f.has('r');
      const progress = recursive ? progressReporter(t.prog) : undefined;
      const c = new Copier(dir === 'get' ? image : host, dir === 'get' ? host : image, {
        recursive, follow: f.has('L'), preserve, hardlinks: true, force: true, verbose: f.has('v'),
      }, { out: t.out, warn: t.warn, warnx: t.warnx, ...(progress !== undefined ? { progress } : {}) });
      const args = [...t.args];
      const dest = args.pop()!;
      const ok = await c.copyOperands(args, dest);
      endProgress(progress);
      return ok && !t.failed ? 0 : 1;
    },
  };
}

export const ecp = makeTool('ecp');
export const get = makeTool('get');
export const put = makeTool('put');
