#!/usr/bin/env node
/**
 * shmif_dumpbus: examine a shmif bus file.
 *
 *   shmif_dumpbus [-h] [-p pcapfile] busfile
 *
 * As NetBSD's shmif_dumpbus(1): -h prints the bus header; -p writes every frame still in the ring
 * (oldest first) to a pcap file (LINKTYPE_ETHERNET; "-" is standard output) with the frames' own
 * timestamps. Without -p the frames are listed. Reads a bus of any size; the file is read once
 * without taking the bus lock, so a bus being written may show a torn newest frame.
 *
 * Exit status: 0 done, 1 error (message names it), 2 usage.
 */

import * as fs from 'node:fs';
import { busFrames, bytesBusIO, checkHeader, parseHeader, ShmifBusError, SHMIF_HDR_LEN } from '../net/shmif/shmif_bus.js';
import { PcapWriter } from '../net/wire/pcap.js';

const PROG = 'shmif_dumpbus';
const USAGE = `usage: ${PROG} [-h] [-p pcapfile] busfile`;

function usage(msg?: string): never {
  if (msg !== undefined) process.stderr.write(`${PROG}: ${msg}\n`);
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

let header = false;
let pcap: string | null = null;
const args = process.argv.slice(2);
const rest: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--') { rest.push(...args.slice(i + 1)); break; }
  if (a.startsWith('-') && a !== '-' && rest.length === 0) {
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      if (c === 'h') header = true;
      else if (c === 'p') {
        const v = a.slice(j + 1) || args[++i];
        if (v === undefined || v === '') usage('option -p needs a file name');
        pcap = v;
        break;
      } else usage(`unknown option -${c}`);
    }
    continue;
  }
  rest.push(a);
}
if (rest.length !== 1) usage(rest.length === 0 ? 'no bus file given' : 'only one bus file');
const busfile = rest[0]!;

try {
  const bytes = new Uint8Array(fs.readFileSync(busfile));
  if (bytes.length < SHMIF_HDR_LEN) throw new ShmifBusError(`${busfile}: ${bytes.length} bytes is not a bus (header is ${SHMIF_HDR_LEN})`);
  const h = parseHeader(bytes);
  checkHeader(h, bytes.length);
  if (header) {
    process.stdout.write(`bus version ${h.version}, lock: ${h.lock}, generation: ${h.gen}, firstoff: 0x${h.first.toString(16).padStart(4, '0')}, lastoff: 0x${h.last.toString(16).padStart(4, '0')}\n`);
  }
  const frames = busFrames(bytesBusIO(bytes));
  if (pcap !== null) {
    const w = new PcapWriter();
    const out = [w.header(), ...frames.map((f) => w.record({ sec: f.header.sec, nsec: f.header.usec * 1000 }, f.data))];
    if (pcap === '-') for (const o of out) process.stdout.write(o);
    else fs.writeFileSync(pcap, Buffer.concat(out));
    if (pcap !== '-') process.stderr.write(`${PROG}: ${frames.length} frame(s) written to ${pcap}\n`);
  } else {
    frames.forEach((f, i) => {
      process.stdout.write(`packet ${i + 1}, length ${f.data.length}, ts ${f.header.sec}.${String(f.header.usec).padStart(6, '0')}, sender ${f.header.sender.toString(16).padStart(16, '0')}\n`);
    });
  }
} catch (e) {
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`${PROG}: ${msg.includes(busfile) ? msg : `${busfile}: ${msg}`}\n`);
  process.exit(1);
}
