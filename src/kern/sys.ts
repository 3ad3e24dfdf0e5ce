/**
 * The in-process syscall API, derived from the syscall table.
 *
 * `kernel.sys.NAME(l, ...args)` dispatches through the kernel's sysent (implementations
 * registered by the factions present in this kernel); a syscall whose faction is absent fails
 * with ENOSYS. Errors leaving a syscall carry its name and path argument. The methods are built
 * once, at module load, on a shared prototype: a kernel instance costs one small object.
 */

import { KernelError } from './errno.js';
import type { Kernel } from './kernel.js';
import type { Lwp } from './proc.js';
import { SYSCALLS, SYSCALLS_BY_NUM, type SyscallName, type SysArgs, type SysResult, type SyscallSpec } from './syscalltable.js';

export type SysImpl<K extends SyscallName> = (l: Lwp, ...args: SysArgs<K>) => Promise<SysResult<K>>;
export type SysImpls = { [K in SyscallName]: SysImpl<K> };
/** The typed API: `sys.open(l, path, flags, mode)`. */
export type SysApi = SysImpls;

type AnyImpl = (l: Lwp, ...args: unknown[]) => Promise<unknown>;

/** A kernel's syscall switch, indexed by syscall number. */
export class Sysent {
  readonly table: (AnyImpl | undefined)[] = [];

  register(impls: Partial<SysImpls>): void {
    for (const [name, impl] of Object.entries(impls)) {
      const spec = (SYSCALLS as Record<string, SyscallSpec>)[name];
      if (spec === undefined) throw new Error(`syscall '${name}' is not in the syscall table`);
      this.table[spec.num] = impl as AnyImpl;
    }
  }

  has(name: SyscallName): boolean { return this.table[SYSCALLS[name].num] !== undefined; }
}

class SysApiBase {
  constructor(readonly kernel: Kernel) {}
}

function makeEntry(name: string, spec: SyscallSpec): (this: SysApiBase, l: Lwp, ...args: unknown[]) => Promise<unknown> {
  const num = spec.num;
  const pathIdx = spec.args.findIndex((a) => a[1] === 'path');
  return async function (this: SysApiBase, l: Lwp, ...args: unknown[]): Promise<unknown> {
    const k = this.kernel;
    try {
      if (k.halted) throw new KernelError('ENXIO', 'the kernel has been halted');
      if (l.proc.kernel !== k) throw new KernelError('EINVAL', 'lwp belongs to another kernel');
      const impl = k.sysent.table[num];
      if (impl === undefined) throw new KernelError('ENOSYS', `no ${spec.faction} component in this kernel implements ${name}`);
      return await impl(l, ...args);
    } catch (e) {
      if (e instanceof KernelError) e.annotate(name, pathIdx >= 0 ? (args[pathIdx] as string) : undefined);
      throw e;
    }
  };
}

for (const [name, spec] of Object.entries(SYSCALLS) as [string, SyscallSpec][]) {
  Object.defineProperty(SysApiBase.prototype, name, { value: makeEntry(name, spec), enumerable: false });
}

export function makeSysApi(k: Kernel): SysApi {
  return new SysApiBase(k) as unknown as SysApi;
}

/** Generic dispatch by number with an argument array (the wire protocol's entry point). */
export function syscallByNumber(k: Kernel, l: Lwp, num: number, args: unknown[]): Promise<unknown> {
  const e = SYSCALLS_BY_NUM.get(num);
  if (e === undefined) return Promise.reject(new KernelError('ENOSYS', `unknown syscall number ${num}`));
  return (k.sys as unknown as Record<string, AnyImpl>)[e.name]!.call(k.sys, l, ...args);
}
