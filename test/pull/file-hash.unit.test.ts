/**
 * The partial file's hash on the main thread (where the addon cannot load): sha256 of the
 * file's bytes as it grows, after a resume (bytes already there) and after a reset (file
 * truncated). The same cases on the thread pool (the native addon) are in file-hash.test.ts.
 */
import { describeFileHashCases } from '../../testbed/file-hash-cases.ts';

describeFileHashCases('on the main thread', undefined);
