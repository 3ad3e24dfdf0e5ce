/**
 * rumpkernel/rumpuser: the hypercall contract. The hosts are separate entry points so that a
 * browser bundle never pulls in the Node host: 'rumpkernel/rumpuser/node' and
 * 'rumpkernel/rumpuser/memory'.
 */

export * from './rumpuser.js';
