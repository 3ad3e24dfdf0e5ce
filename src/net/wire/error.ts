/**
 * WireError: why a packet could not be decoded (or a repr could not be encoded).
 *
 * Codecs in `wire/` never throw on untrusted input: `check()` and `parse()` return a WireError
 * instead of a view or repr, so the stack can drop the packet and count it by `proto` and `kind`.
 * Bad checksums have their own kind so they are counted apart from malformed headers. `emit()` of
 * an impossible repr (options that do not fit, say) throws one: that is a bug in the caller.
 *
 * Messages name the protocol and the field: "ipv4: header length 4 words < 5".
 */

export type WireErrorKind =
  /** The buffer ends before the header (or a length field) says it should. */
  | 'truncated'
  /** A field holds a value the protocol forbids. */
  | 'malformed'
  /** The checksum does not verify. */
  | 'checksum'
  /** Well-formed, but something we do not implement (another hardware type, an ICMP type, ...). */
  | 'unsupported';

export class WireError extends Error {
  override readonly name = 'WireError';

  constructor(
    /** 'ethernet', 'arp', 'ipv4', 'icmpv4', 'udp', 'tcp', 'ipv6', 'icmpv6', 'pcap' */
    readonly proto: string,
    readonly kind: WireErrorKind,
    /** The offending field, e.g. 'headerLength', 'checksum', 'options'. */
    readonly field: string,
    detail: string,
    /** Byte offset of the offending field from the start of the header, where one exists
     *  (ICMP parameter-problem pointers are built from it). */
    readonly offset = -1,
  ) {
    super(`${proto}: ${detail}`);
  }
}

export function isWireError(x: unknown): x is WireError {
  return x instanceof WireError;
}

/** "proto: buffer N bytes < M byte header" */
export function truncated(proto: string, field: string, have: number, need: number, what: string): WireError {
  return new WireError(proto, 'truncated', field, `${what}: ${have} bytes < ${need}`);
}
