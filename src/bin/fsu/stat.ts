/**
 * fsu_stat: display file status in an image, as NetBSD's stat(1).
 *
 * Default: one line per file, NetBSD's format
 *   dev ino mode nlink user group rdev size "atime" "mtime" "ctime" "birthtime" blksize blocks flags name
 * -x the verbose multi-line form, -s shell assignments (st_dev=... st_ino=...), -f FORMAT a format
 * with NetBSD's % escapes (%d %i %p %Sp %l %u %Su %g %Sg %r %z %a %m %c %B %Sa %Sm %Sc %SB %k
 * %b %N %T %HT %Y %n %t %%), -L follow symbolic links, -n no final newline, -q no error
 * messages. Owner names come from the image's own /etc/passwd and /etc/group.
 */

import type { Stats } from '../../ukfs/stats.js';
import { loadIdNames, modeString, statTime, UsageError, type ToolRun, type ToolSpec } from './common.js';

const S_IFMT = 0o170000;
const TYPE_NAME: Record<number, string> = {
  0o100000: 'Regular File', 0o040000: 'Directory', 0o120000: 'Symbolic Link', 0o020000: 'Character Device',
  0o060000: 'Block Device', 0o010000: 'FIFO', 0o140000: 'Socket',
};
const TYPE_CHAR: Record<number, string> = { 0o040000: '/', 0o120000: '@', 0o010000: '|', 0o140000: '=' };

interface Ctx { st: Stats; name: string; target: string | null; user: string; group: string }

function expand(fmt: string, c: Ctx): string {
  const { st } = c;
  const sec = (ms: number): string => String(Math.floor(ms / 1000));
  const time = (ms: number, s: boolean): string => (s ? statTime(ms) : sec(ms));
  return fmt.replace(/%(S|H)?([a-zA-Z%])/g, (_m, mod: string | undefined, ch: string) => {
    const s = mod === 'S';
    switch (ch) {
      case '%': return '%';
      case 'n': return '\n';
      case 't': return '\t';
      case 'd': return String(st.dev);
      case 'i': return String(st.ino);
      case 'p': return s ? modeString(st.mode) : (st.mode).toString(8);
      case 'l': return String(st.nlink);
      case 'u': return s ? c.user : String(st.uid);
      case 'g': return s ? c.group : String(st.gid);
      case 'r': return String(st.rdev);
      case 'z': return String(st.size);
      case 'a': return time(st.atimeMs, s);
      case 'm': return time(st.mtimeMs, s);
      case 'c': return time(st.ctimeMs, s);
      case 'B': return time(st.birthtimeMs, s);
      case 'k': return String(st.blksize);
      case 'b': return String(st.blocks);
      case 'f': return '0';
      case 'N': return c.name;
      case 'T': return mod === 'H' ? (TYPE_NAME[st.mode & S_IFMT] ?? 'Unknown') : (TYPE_CHAR[st.mode & S_IFMT] ?? ((st.mode & 0o111) !== 0 && (st.mode & S_IFMT) === 0o100000 ? '*' : ''));
      case 'Y': return c.target === null ? '' : ` -> ${c.target}`;
      default: return `%${mod ?? ''}${ch}`;
    }
  });
}

const DEFAULT_FMT = '%d %i %Sp %l %Su %Sg %r %z "%Sa" "%Sm" "%Sc" "%SB" %k %b %f %N';

export const stat: ToolSpec = {
  name: 'stat',
  synopsis: '[-FLnqsx] [-f format] file ...',
  description: 'display file status in a file system image',
  options: 'FLnqsxf:',
  writes: false,
  minArgs: 1,
  async run(t: ToolRun): Promise<number> {
    const f = t.flags;
    const ids = await loadIdNames(t.fs);
    const outs: string[] = [];
    for (const p of t.args) {
      let st: Stats;
      try {
        st = f.has('L') ? await t.fs.stat(p) : await t.fs.lstat(p);
      } catch (e) {
        if (f.has('q')) t.fail();
        else t.warn(p, e);
        continue;
      }
      let target: string | null = null;
      if (st.isSymbolicLink()) {
        try {
          target = String(await t.fs.readlink(p));
        } catch {
          target = null;
        }
      }
      const c: Ctx = { st, name: p, target, user: ids.users.get(st.uid) ?? String(st.uid), group: ids.groups.get(st.gid) ?? String(st.gid) };
      let text: string;
      if (f.has('f')) text = expand(f.get('f')!, c);
      else if (f.has('s')) {
        text = expand('st_dev=%d st_ino=%i st_mode=0%p st_nlink=%l st_uid=%u st_gid=%g st_rdev=%r st_size=%z '
          + 'st_atime=%a st_mtime=%m st_ctime=%c st_birthtime=%B st_blksize=%k st_blocks=%b st_flags=%f', c);
      } else if (f.has('x')) {
        text = expand([
          '  File: "%N"%Y',
          '  Size: %-11z FileType: %HT',
          `  Mode: (0${(st.mode & 0o7777).toString(8).padStart(3, '0')}/%Sp)         Uid: (%5u/%8Su)  Gid: (%5g/%8Sg)`,
          'Device: %d   Inode: %i    Links: %l',
          'Access: %Sa',
          'Modify: %Sm',
          'Change: %Sc',
          ' Birth: %SB',
        ].join('\n').replace(/%-11z/, String(st.size).padEnd(11)).replace(/%5u/, String(st.uid).padStart(5))
          .replace(/%8Su/, c.user.padStart(8)).replace(/%5g/, String(st.gid).padStart(5)).replace(/%8Sg/, c.group.padStart(8)), c);
      } else {
        text = expand(f.has('F') ? DEFAULT_FMT.replace('%N', '%N%T') : DEFAULT_FMT, c);
      }
      outs.push(text);
    }
    if (outs.length > 0) t.out(outs.join('\n') + (f.has('n') ? '' : '\n'));
    if (f.has('f') && f.get('f') === '') throw new UsageError('empty format');
    return t.failed ? 1 : 0;
  },
};
