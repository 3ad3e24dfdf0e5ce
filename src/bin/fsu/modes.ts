/**
 * File modes as chmod(1) and mkdir -m take them (BSD setmode(3)): an octal number, or symbolic
 * clauses `[ugoa]*[+-=][rwxXstugo]*` separated by commas (`u+x,go-w`, `a=rX`). A clause without
 * who applies to everyone less the umask. The result is a function from the old mode (and
 * whether the file is a directory, for X) to the new one.
 */

export type ModeChange = (old: number, isDir: boolean) => number;

interface Clause { who: number; ops: { op: '+' | '-' | '='; perm: string }[] }

const WHO: Record<string, number> = { u: 0o4700, g: 0o2070, o: 0o1007, a: 0o7777 };

/** The mode change `s` describes, or null if it is not a mode. */
export function parseModeArg(s: string, umask = 0o022): ModeChange | null {
  if (/^[0-7]+$/.test(s)) {
    const v = parseInt(s, 8);
    return v > 0o7777 ? null : () => v;
  }
  const clauses: Clause[] = [];
  for (const part of s.split(',')) {
    const m = /^([ugoa]*)((?:[-+=][rwxXstugo]*)+)$/.exec(part);
    if (m === null) return null;
    let who = 0;
    for (const c of m[1]!) who |= WHO[c]!;
    const ops = [...m[2]!.matchAll(/([-+=])([rwxXstugo]*)/g)].map((x) => ({ op: x[1] as '+' | '-' | '=', perm: x[2]! }));
    clauses.push({ who, ops });
  }
  return (old, isDir) => {
    let mode = old & 0o7777;
    for (const c of clauses) {
      const mask = c.who === 0 ? 0o7777 & ~umask : c.who;
      for (const { op, perm } of c.ops) {
        let bits = 0;
        for (const p of perm) {
          switch (p) {
            case 'r': bits |= 0o444; break;
            case 'w': bits |= 0o222; break;
            case 'x': bits |= 0o111; break;
            case 'X': if (isDir || (mode & 0o111) !== 0) bits |= 0o111; break;
            case 's': bits |= 0o6000; break;
            case 't': bits |= 0o1000; break;
            case 'u': { const v = (mode >> 6) & 7; bits |= v * 0o111; break; }
            case 'g': { const v = (mode >> 3) & 7; bits |= v * 0o111; break; }
            case 'o': { const v = mode & 7; bits |= v * 0o111; break; }
          }
        }
        if (op === '+') mode |= bits & mask;
        else if (op === '-') mode &= ~(bits & mask);
        else mode = (mode & ~(c.who === 0 ? 0o7777 : c.who)) | (bits & mask);
      }
    }
    return mode;
  };
}
