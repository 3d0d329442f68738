/* The agent's Node-API addon: one shared object, one part per file. */
#ifndef KAIROS_SPEGEL_NATIVE_H
#define KAIROS_SPEGEL_NATIVE_H
#include <node_api.h>

void define_xattr(napi_env env, napi_value exports);
void define_sha256(napi_env env, napi_value exports);
void define_flock(napi_env env, napi_value exports);

#endif
