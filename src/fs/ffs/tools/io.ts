/**
 * Image I/O for the offline ffs tools (newfs): the shared ImageIO (src/fs/image_io.ts), so one
 * host adaptor serves the ext2 and ffs tools.
 */

export { memoryImage, type ImageIO } from '../../image_io.js';
