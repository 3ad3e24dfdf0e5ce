/**
 * fsu_chown: change owners in an image, as chown(1): `fsu_chown IMAGE [-R] [-h] [-v]
 * owner[:group] file...` (also `:group` and `owner.group`). Names are looked up in the image's
 * own /etc/passwd and /etc/group; numbers are taken as they are. -R walks trees without following
 * symbolic links, -h changes a symbolic link itself.
 */

import { forEachChild, loadIdNames, UsageError, type ToolRun, type ToolSpec } from './common.js';

export const chown: ToolSpec = {
  name: 'chown',
  synopsis: '[-R [-H | -L | -P]] [-fhv] owner[:group] file ...',
  description: 'change file owner and group in a file system image',
  options: 'RHLPfhv',
  writes: true,
  minArgs: 2,
  async run(t: ToolRun): Promise<number> {
    const [spec, ...files] = t.args;
    const m = /^([^:.]*)(?:[:.](.*))?$/.exec(spec!);
    if (m === null || (m[1] === '' && (m[2] === undefined || m[2] === ''))) throw new UsageError(`invalid owner: ${spec}`);
    const ids = await loadIdNames(t.fs);
    const resolve = (name: string, table: Map<string, number>, what: string): number => {
      if (/^[0-9]+$/.test(name)) return Number(name);
      const v = table.get(name);
      if (v === undefined) throw new UsageError(`${name}: unknown ${what} (not in the image's /etc/${what === 'user' ? 'passwd' : 'group'})`);
      return v;
    };
    const uid = m[1] === '' ? -1 : resolve(m[1]!, ids.uidOf, 'user');
    const gid = m[2] === undefined || m[2] === '' ? -1 : resolve(m[2], ids.gidOf, 'group');
    const quiet = t.flags.has('f');
    const apply = async (p: string, top: boolean): Promise<void> => {
      let st;
      try {
        st = top && !t.flags.has('h') ? await t.fs.stat(p) : await t.fs.lstat(p);
      } catch (e) {
        if (!quiet) t.warn(p, e);
        return;
      }
      try {
        if (st.isSymbolicLink()) await t.fs.lchown(p, uid, gid);
        else await t.fs.chown(p, uid, gid);
        if (t.flags.has('v')) t.out(`${p}\n`);
      } catch (e) {
        if (!quiet) t.warn(p, e);
      }
      if (t.flags.has('R') && st.isDirectory()) await forEachChild(t, p, (c) => apply(c, false));
    };
    for (const p of files) await apply(p, true);
    return t.failed ? 1 : 0;
  },
};
