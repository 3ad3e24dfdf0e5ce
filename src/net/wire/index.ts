/**
 * wire: pure packet codecs, one file per protocol (smoltcp's `wire`). Each header has a view
 * (`Xxx.check(bytes)` -> zero-copy accessors) and a repr (`XxxRepr.parse/emit/bufferLen`).
 * Nothing here awaits, allocates more than the repr it returns, or knows about a kernel.
 */

export * from './error.js';
export * from './checksum.js';
export * from './seq.js';
export * from './ethernet.js';
export * from './arp.js';
export * from './ipv4.js';
export * from './icmpv4.js';
export * from './udp.js';
export * from './tcp.js';
export * from './ipv6.js';
export * from './icmpv6.js';
export * from './pcap.js';
