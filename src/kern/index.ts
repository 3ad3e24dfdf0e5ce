/** rumpkern: the kernel core's public surface. */
export { Kernel, OSTYPE, OSRELEASE } from './kernel.js';
export type { BootOptions, HaltOptions } from './kernel.js';
export { Cred, Proc, Lwp } from './proc.js';
export type { ProcOptions } from './proc.js';
export type { Component, ComponentType } from './component.js';
export { orderComponents, resolveComponents } from './component.js';
export { KernelError, errno, errnoName, strerror, toNodeError, isKernelError } from './errno.js';
export type { ErrnoName, NodeStyleError } from './errno.js';
export { SYSCALLS, SYSCALLS_BY_NUM } from './syscalltable.js';
export type { SyscallName, SysArgs, SysResult, ArgTag, RetTag, SyscallSpec } from './syscalltable.js';
export type { SysApi } from './sys.js';
export { KMutex, KRWLock, KCondvar } from './sync.js';
export { Sysctl } from './sysctl.js';
export * from './types.js';
