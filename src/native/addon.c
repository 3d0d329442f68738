/*
 * The agent's Node-API addon, for what Node lacks: extended attributes (xattr.c),
 * hashing on the thread pool (sha256.c) and whole-file locks (flock.c). Node-API only: one build serves any Node.
 */
#include "native.h"

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  define_xattr(env, exports);
  define_sha256(env, exports);
  define_flock(env, exports);
  return exports;
}
