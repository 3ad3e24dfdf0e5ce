/**
 * sysctl: the kernel's tree of named tunables and read-outs (kern.hostname, hw.ncpu, ...).
 *
 * Nodes are created by the kernel core and by components at boot (`net.inet.ip.forwarding` by
 * netinet, `vfs.tmpfs...` by tmpfs). A leaf holds a value or computes it; writes are checked
 * against the node's type and are for the superuser only. Names are dotted strings; numeric MIBs
 * are assigned in creation order, as NetBSD's dynamic nodes are.
 */

import { KernelError } from './errno.js';
import type { Cred } from './proc.js';

export type SysctlType = 'node' | 'int' | 'quad' | 'bool' | 'string' | 'struct';
export type SysctlValue = number | string | boolean | unknown;

export interface SysctlLeafSpec {
  type: Exclude<SysctlType, 'node'>;
  /** Human description (sysctl -d). */
  desc?: string;
  /** Writable by root (default: read-only). */
  writable?: boolean;
  /** Static value (when no getter). */
  value?: SysctlValue;
  /** Computed value. */
  get?: () => SysctlValue;
  /** Validate and apply a new value (throw KernelError EINVAL for bad ones). */
  set?: (v: SysctlValue) => void;
  /** For ints: inclusive bounds checked on write. */
  min?: number;
  max?: number;
}

export interface SysctlNode {
  readonly name: string;
  readonly num: number;
  readonly type: SysctlType;
  readonly desc: string;
  readonly children: Map<string, SysctlNode> | null;
  readonly leaf: SysctlLeafSpec | null;
  value: SysctlValue;
}

export class Sysctl {
  private readonly root: SysctlNode = this.mk('', 'node', '', null);
  private nextNum = 1;

  private mk(name: string, type: SysctlType, desc: string, leaf: SysctlLeafSpec | null): SysctlNode {
    return { name, num: this.nextNum++, type, desc, children: type === 'node' ? new Map() : null, leaf, value: leaf?.value };
  }

  /** Create a leaf (parents are created as plain nodes). EEXIST if it exists. */
  create(path: string, spec: SysctlLeafSpec): void {
    const parts = path.split('.');
    const leafName = parts.pop()!;
    let n = this.root;
    for (const p of parts) {
      let c = n.children!.get(p);
      if (c === undefined) {
        c = this.mk(p, 'node', '', null);
        n.children!.set(p, c);
      } else if (c.children === null) {
        throw new KernelError('ENOTDIR', `sysctl ${path}: ${p} is a leaf`);
      }
      n = c;
    }
    if (n.children!.has(leafName)) throw new KernelError('EEXIST', `sysctl ${path} exists`);
    n.children!.set(leafName, this.mk(leafName, spec.type, spec.desc ?? '', spec));
  }

  /** Remove a subtree (a component's nodes at detach). */
  destroy(path: string): void {
    const parts = path.split('.');
    const last = parts.pop()!;
    const parent = parts.length === 0 ? this.root : this.find(parts.join('.'));
    parent?.children?.delete(last);
  }

  find(path: string): SysctlNode | undefined {
    let n: SysctlNode | undefined = this.root;
    if (path === '') return n;
    for (const p of path.split('.')) {
      n = n.children?.get(p);
      if (n === undefined) return undefined;
    }
    return n;
  }

  /** Read a leaf's value (ENOENT for unknown names, EISDIR for inner nodes). */
  get(path: string): SysctlValue {
    const n = this.find(path);
    if (n === undefined) throw new KernelError('ENOENT', `sysctl: unknown name '${path}'`);
    if (n.leaf === null) throw new KernelError('EISDIR', `sysctl: '${path}' is a node, not a leaf`);
    return n.leaf.get !== undefined ? n.leaf.get() : n.value;
  }

  /** Write a leaf as `cred` (root only), returning the old value. */
  set(path: string, value: SysctlValue, cred: Cred | null): SysctlValue {
    const n = this.find(path);
    if (n === undefined) throw new KernelError('ENOENT', `sysctl: unknown name '${path}'`);
    const leaf = n.leaf;
    if (leaf === null) throw new KernelError('EISDIR', `sysctl: '${path}' is a node, not a leaf`);
    if (leaf.writable !== true) throw new KernelError('EPERM', `sysctl: '${path}' is read-only`);
    if (cred !== null && cred.euid !== 0) throw new KernelError('EPERM', `sysctl: writing '${path}' needs the superuser`);
    const v = coerce(path, leaf, value);
    const old = leaf.get !== undefined ? leaf.get() : n.value;
    if (leaf.set !== undefined) leaf.set(v);
    else n.value = v;
    return old;
  }

  /** All leaves below `prefix` with their values, in tree order (sysctl -a). */
  list(prefix = ''): { name: string; type: SysctlType; value: SysctlValue; writable: boolean }[] {
    const out: { name: string; type: SysctlType; value: SysctlValue; writable: boolean }[] = [];
    const start = this.find(prefix);
    if (start === undefined) throw new KernelError('ENOENT', `sysctl: unknown name '${prefix}'`);
    const walk = (n: SysctlNode, path: string): void => {
      if (n.leaf !== null) {
        out.push({ name: path, type: n.type, value: n.leaf.get !== undefined ? n.leaf.get() : n.value, writable: n.leaf.writable === true });
        return;
      }
      for (const [k, c] of n.children!) walk(c, path === '' ? k : `${path}.${k}`);
    };
    walk(start, prefix);
    return out;
  }
}

function coerce(path: string, leaf: SysctlLeafSpec, v: SysctlValue): SysctlValue {
  switch (leaf.type) {
    case 'int':
    case 'quad': {
      const n = typeof v === 'string' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n)) throw new KernelError('EINVAL', `sysctl ${path}: '${String(v)}' is not an integer`);
      if (leaf.type === 'int' && (n < -0x80000000 || n > 0xffffffff)) throw new KernelError('EINVAL', `sysctl ${path}: ${n} out of range for int`);
      if ((leaf.min !== undefined && n < leaf.min) || (leaf.max !== undefined && n > leaf.max)) {
        throw new KernelError('EINVAL', `sysctl ${path}: ${n} outside ${leaf.min ?? '-inf'}..${leaf.max ?? 'inf'}`);
      }
      return n;
    }
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (v === 0 || v === 1 || v === '0' || v === '1') return Number(v) === 1;
      throw new KernelError('EINVAL', `sysctl ${path}: '${String(v)}' is not a boolean`);
    case 'string':
      if (typeof v !== 'string') throw new KernelError('EINVAL', `sysctl ${path}: value is not a string`);
      if (v.length > 255) throw new KernelError('EINVAL', `sysctl ${path}: string longer than 255`);
      return v;
    default:
      return v;
  }
}
