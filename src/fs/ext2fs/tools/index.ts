/**
 * The offline ext2 image tools as a library: newfs (an empty file system), makefs (an image from
 * a directory tree) and fsck (check and repair), working on an image through `ImageIO` rather
 * than a mounted kernel. The command-line tools are src/bin/newfs_ext2fs.ts, makefs.ts and
 * fsck_ext2fs.ts; src/bin/ext2tools/ holds their host side (files, host directory trees).
 */

export { memoryImage, BlockWriter, type ImageIO } from './io.js';
export { planLayout, groupHasSuperBackup, defaultBlockSize, defaultInodeRatio, dataBlocks, type Layout, type LayoutParams, type GroupLayout } from './layout.js';
export { DEFAULT_FEATURES, CREATABLE, parseFeatures, featureNames } from './features.js';
export { newfs, LOST_FOUND_INO, type NewfsOptions, type NewfsResult } from './newfs.js';
export { makefs, type MakefsOptions, type MakefsResult, type SourceTree, type SourceStat, type SourceFile } from './makefs.js';
export { fsck, type FsckOptions, type FsckResult, type Problem } from './fsck.js';
export type { Features, BuildOptions } from './builder.js';
