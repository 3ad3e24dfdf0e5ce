/**
 * fsu_touch: change file times in an image, creating missing files, as touch(1): -a access time
 * only, -m modification time only, -c do not create, -h change a symbolic link itself, -r FILE
 * use that file's times (in the image), -t [[CC]YY]MMDDhhmm[.SS] or -d DATE (anything Date
 * parses) instead of now. Times given are local time, as touch's.
 */

import { UsageError, type ToolRun, type ToolSpec } from './common.js';

/** touch -t: [[CC]YY]MMDDhhmm[.SS] in local time, as ms. */
export function parseTouchStamp(s: string, now = new Date()): number {
  const m = /^(\d{2,4})?(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{2}))?$/.exec(s);
  if (m === null || (m[1] !== undefined && m[1].length === 3)) throw new UsageError(`out of range or illegal time specification: ${s}`);
  let year = now.getFullYear();
  if (m[1] !== undefined) {
    year = Number(m[1]);
    if (m[1].length === 2) year += year < 69 ? 2000 : 1900;
  }
  const [mon, day, hh, mm, ss] = [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  const d = new Date(year, mon - 1, day, hh, mm, ss);
  if (d.getMonth() !== mon - 1 || d.getDate() !== day || hh > 23 || mm > 59 || ss > 60) {
    throw new UsageError(`out of range or illegal time specification: ${s}`);
  }
  return d.getTime();
}

export const touch: ToolSpec = {
  name: 'touch',
  synopsis: '[-acfhm] [-d date | -r file | -t [[CC]YY]MMDDhhmm[.SS]] file ...',
  description: 'change file access and modification times in a file system image',
  options: 'acfhmd:r:t:',
  writes: true,
  minArgs: 1,
  async run(t: ToolRun): Promise<number> {
    const f = t.flags;
    let atime = Date.now() / 1000, mtime = atime;
    if (f.has('r')) {
      const ref = f.get('r')!;
      try {
        const st = await t.fs.stat(ref);
        atime = st.atimeMs / 1000;
        mtime = st.mtimeMs / 1000;
      } catch (e) {
        t.warn(ref, e);
        return 1;
      }
    } else if (f.has('t')) {
      atime = mtime = parseTouchStamp(f.get('t')!) / 1000;
    } else if (f.has('d')) {
      const ms = Date.parse(f.get('d')!);
      if (Number.isNaN(ms)) throw new UsageError(`illegal date: ${f.get('d')}`);
      atime = mtime = ms / 1000;
    }
    const onlyA = f.has('a') && !f.has('m');
    const onlyM = f.has('m') && !f.has('a');
    for (const p of t.args) {
      try {
        let st;
        try {
          st = f.has('h') ? await t.fs.lstat(p) : await t.fs.stat(p);
        } catch (e) {
          if ((e as { code?: string }).code !== 'ENOENT') throw e;
          if (f.has('c')) continue;
          await t.fs.writeFile(p, '', { flag: 'a' });
          st = await t.fs.stat(p);
        }
        const a = onlyM ? st.atimeMs / 1000 : atime;
        const m = onlyA ? st.mtimeMs / 1000 : mtime;
        if (f.has('h')) await t.fs.lutimes(p, a, m);
        else await t.fs.utimes(p, a, m);
      } catch (e) {
        t.warn(p, e);
      }
    }
    return t.failed ? 1 : 0;
  },
};
