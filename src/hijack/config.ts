/**
 * RUMPHIJACK: which calls of a hijacked program go to the rump kernel (NetBSD's rumphijack(3)).
 *
 * A comma-separated list of name=value:
 *   path=PREFIX     paths under PREFIX go to the kernel with PREFIX stripped ('/rump/etc' ->
 *                   '/etc'; '/rump' itself -> '/'); a path merely starting with the same letters
 *                   ('/rumpy') does not match
 *   blanket=A:B:..  paths under any of these prefixes go to the kernel unchanged (not stripped)
 *   socket=LIST     a colon list of protocol families whose sockets the kernel makes: family
 *                   names (inet, inet6, local, route, link), 'all', 'none', and 'noNAME' to take
 *                   one out again; applied left to right ('all:nolocal')
 *   sysctl=yes|no   send sysctl reads (os.hostname() and friends) to the kernel
 *   fdoff=N         descriptor numbers of kernel files start at N (default 2^30, above any
 *                   host descriptor; at least 2^20)
 *   modctl=, vfs=   accepted for compatibility (module loading and per-syscall vfs selection
 *                   have no Node counterpart)
 * Unset, the default is NetBSD's: `path=/rump,socket=all:nolocal`. Set but empty, nothing is
 * hijacked. Anything else is an error naming the offending part.
 */

export const DEFAULT_RUMPHIJACK = 'path=/rump,socket=all:nolocal';
/** The default fdoff: above every host descriptor (Linux caps RLIMIT_NOFILE below 2^30). */
export const DEFAULT_FDOFF = 0x40000000;
const MIN_FDOFF = 1 << 20;

/** Socket families by their NetBSD names (PF_* values). */
export const SOCKET_FAMILIES: Readonly<Record<string, number>> = { local: 1, unix: 1, inet: 2, link: 18, inet6: 24, route: 34 };

export interface HijackConfig {
  /** path= prefix (stripped), or null. */
  readonly path: string | null;
  /** blanket= prefixes (routed unchanged). */
  readonly blanket: readonly string[];
  /** Families (PF_*) whose sockets go to the kernel. */
  readonly socketFamilies: ReadonlySet<number>;
  readonly sysctl: boolean;
  readonly fdoff: number;
}

export class HijackConfigError extends Error {
  override readonly name = 'HijackConfigError';
}

function normPrefix(p: string, what: string): string {
  if (!p.startsWith('/')) throw new HijackConfigError(`RUMPHIJACK: ${what} '${p}' is not an absolute path`);
  const s = p.replace(/\/+$/, '');
  if (s === '') throw new HijackConfigError(`RUMPHIJACK: ${what} '/' would send every path to the kernel; use blanket=/ for that`);
  return s;
}

/** Parse a RUMPHIJACK value (undefined: the variable is unset, so the default applies). */
export function parseRumpHijack(value: string | undefined): HijackConfig {
  const spec = value ?? DEFAULT_RUMPHIJACK;
  let path: string | null = null;
  const blanket: string[] = [];
  const fams = new Set<number>();
  let sysctl = false;
  let fdoff = DEFAULT_FDOFF;
  for (const item of spec.split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new HijackConfigError(`RUMPHIJACK: '${item}' is not name=value`);
    const name = item.slice(0, eq).trim(), v = item.slice(eq + 1).trim();
    switch (name) {
      case 'path':
        path = v === '' ? null : normPrefix(v, 'path');
        break;
      case 'blanket':
        for (const p of v.split(':')) if (p !== '') blanket.push(p === '/' ? '/' : normPrefix(p, 'blanket prefix'));
        break;
      case 'socket':
        for (const tok of v.split(':')) {
          if (tok === '') continue;
          if (tok === 'all') for (const f of Object.values(SOCKET_FAMILIES)) fams.add(f);
          else if (tok === 'none') fams.clear();
          else if (SOCKET_FAMILIES[tok] !== undefined) fams.add(SOCKET_FAMILIES[tok]);
          else if (tok.startsWith('no') && SOCKET_FAMILIES[tok.slice(2)] !== undefined) fams.delete(SOCKET_FAMILIES[tok.slice(2)]!);
          else throw new HijackConfigError(`RUMPHIJACK: socket: unknown protocol family '${tok}' (known: all, none, ${Object.keys(SOCKET_FAMILIES).join(', ')}, and no<family>)`);
        }
        break;
      case 'sysctl':
        if (v !== 'yes' && v !== 'no') throw new HijackConfigError(`RUMPHIJACK: sysctl takes yes or no, not '${v}'`);
        sysctl = v === 'yes';
        break;
      case 'fdoff': {
        const n = Number(v);
        if (!/^[0-9]+$/.test(v) || n < MIN_FDOFF || n > 0x7f000000) {
          throw new HijackConfigError(`RUMPHIJACK: fdoff ${v} must be a number from ${MIN_FDOFF} to ${0x7f000000} (descriptors below it belong to the host)`);
        }
        fdoff = n;
        break;
      }
      case 'modctl':
      case 'vfs':
        break;
      default:
        throw new HijackConfigError(`RUMPHIJACK: unknown option '${name}' (known: path, blanket, socket, sysctl, fdoff, modctl, vfs)`);
    }
  }
  return { path, blanket, socketFamilies: fams, sysctl, fdoff };
}

/** Where a path goes: the kernel (with the path it sees there) or the host (null). */
export function routePath(cfg: HijackConfig, p: string): string | null {
  if (!p.startsWith('/')) return null;
  const pre = cfg.path;
  if (pre !== null && p.startsWith(pre) && (p.length === pre.length || p[pre.length] === '/')) {
    const rest = p.slice(pre.length);
    return rest === '' ? '/' : rest;
  }
  for (const b of cfg.blanket) {
    if (b === '/' || (p.startsWith(b) && (p.length === b.length || p[b.length] === '/'))) return p;
  }
  return null;
}

/** The program's view of a kernel path (the inverse of routePath for path=). */
export function hostView(cfg: HijackConfig, kpath: string, stripped: boolean): string {
  if (!stripped || cfg.path === null) return kpath;
  return kpath === '/' ? cfg.path : cfg.path + kpath;
}
