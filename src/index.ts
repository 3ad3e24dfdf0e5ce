/**
 * rumpkernel: NetBSD rump kernels in TypeScript.
 *
 *   import { Kernel, vfs, tmpfs, O_CREAT, O_RDWR } from 'rumpkernel';
 *   import { nodeHost } from 'rumpkernel/rumpuser/node';
 *   const k = await Kernel.boot({ host: nodeHost(), components: [vfs, tmpfs] });
 */
export * from './kern/index.js';
export { vfs } from './vfs/index.js';
export { tmpfs } from './fs/tmpfs/index.js';
export { RUMPUSER_VERSION } from './rumpuser/rumpuser.js';
export type { RumpUser } from './rumpuser/rumpuser.js';
export { ext2fs } from './fs/ext2fs/index.js';
export { md } from './dev/md.js';
export { net } from './net/index.js';
export { local } from './net/local/index.js';
export { netinet } from './net/inet/index.js';
export { ffs } from './fs/ffs/index.js';
