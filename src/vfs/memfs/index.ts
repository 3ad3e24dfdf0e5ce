/**
 * memfs: the in-memory node core shared by rumpfs (the root file system) and tmpfs.
 * Public surface for those two and for etfs; everything else in this folder is internal.
 */

export type { MemfsBacking } from './backing.js';
export { PAGE_SIZE, PAGE_SHIFT, PageStore, type PageAllocator } from './data.js';
export { MemDir, DirEntry, COOKIE_DOT, COOKIE_DOTDOT } from './dir.js';
export { MemNode, MemDirNode, MemRegNode, MemLinkNode, MemSpecNode } from './node.js';
export { MemFs, NODE_COST, DIRENT_COST, MEMFS_MAXFILESIZE, direntCost, type MemfsOptions, type MemNodeSpec } from './memfs.js';
export { makeNode, linkNode, unlinkNode, rmdirNode, renameNode } from './namespace.js';
export { MemVnode } from './vnode.js';
