/*
 * Extended attributes for the layer applier: Node has no xattr API, and file
 * capabilities (security.capability) and other attributes must survive unpacking.
 * Symlinks are never followed (the l* calls).
 *
 *   setLinkXattr(path: string, name: string, value: Buffer): void
 *
 * Failures throw an Error whose `code` is the errno's name (EOPNOTSUPP, ENOSPC, ...), as
 * Node's own fs errors do, so callers classify by code, never by message.
 */
#define _GNU_SOURCE /* strerrorname_np */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <node_api.h>
#include "native.h"

#define PATH_MAX_BYTES 4097
#define NAME_MAX_BYTES 256

static napi_value throw_errno(napi_env env, const char *call, const char *path) {
  int err = errno;
  const char *name = strerrorname_np(err);
  char msg[PATH_MAX_BYTES + 128];
  snprintf(msg, sizeof msg, "%s %s: %s", call, path, strerror(err));
  napi_throw_error(env, name != NULL ? name : "EIO", msg);
  return NULL;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok || len >= size - 1) {
    napi_throw_type_error(env, NULL, "expected a string shorter than the limit");
    return 0;
  }
  return 1;
}

static napi_value set_link_xattr(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char path[PATH_MAX_BYTES], name[NAME_MAX_BYTES];
  void *data = NULL;
  size_t len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3) {
    napi_throw_type_error(env, NULL, "setLinkXattr(path, name, value)");
    return NULL;
  }
  if (!get_string(env, argv[0], path, sizeof path) || !get_string(env, argv[1], name, sizeof name)) return NULL;
  if (napi_get_buffer_info(env, argv[2], &data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "value must be a Buffer");
    return NULL;
  }
  if (lsetxattr(path, name, data, len, 0) != 0) return throw_errno(env, "lsetxattr", path);
  return NULL;
}

void define_xattr(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"setLinkXattr", NULL, set_link_xattr, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
