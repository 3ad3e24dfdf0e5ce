/**
 * The fs-utils tools by name, loaded on demand (a tool's bin imports only its own module).
 * Adding a tool: a module exporting a ToolSpec, an entry here, and a thin src/bin/fsu_NAME.ts.
 */

import type { ToolSpec } from './common.js';

const LOADERS: Readonly<Record<string, () => Promise<ToolSpec>>> = {
  cat: async () => (await import('./cat.js')).cat,
  chmod: async () => (await import('./chmod.js')).chmod,
  chown: async () => (await import('./chown.js')).chown,
  cp: async () => (await import('./cp.js')).cp,
  df: async () => (await import('./df.js')).df,
  diff: async () => (await import('./diff.js')).diff,
  du: async () => (await import('./du.js')).du,
  ecp: async () => (await import('./ecp.js')).ecp,
  find: async () => (await import('./find.js')).find,
  get: async () => (await import('./ecp.js')).get,
  ln: async () => (await import('./ln.js')).ln,
  ls: async () => (await import('./ls.js')).ls,
  mkdir: async () => (await import('./mkdir.js')).mkdir,
  mkfifo: async () => (await import('./mknod.js')).mkfifo,
  mknod: async () => (await import('./mknod.js')).mknod,
  mv: async () => (await import('./mv.js')).mv,
  put: async () => (await import('./ecp.js')).put,
  rm: async () => (await import('./rm.js')).rm,
  rmdir: async () => (await import('./rmdir.js')).rmdir,
  stat: async () => (await import('./stat.js')).stat,
  touch: async () => (await import('./touch.js')).touch,
  write: async () => (await import('./write.js')).write,
};

/** Every tool name (fsu_NAME). */
export const TOOL_NAMES: readonly string[] = Object.keys(LOADERS).sort();

export function loadTool(name: string): Promise<ToolSpec> {
  const l = LOADERS[name];
  if (l === undefined) return Promise.reject(new Error(`no fs-utils tool named '${name}' (have: ${TOOL_NAMES.join(', ')})`));
  return l();
}
