/*
 * Whole-file locks (flock(2)) for the store, staging and upgrade locks. The kernel holds
 * such a lock for the open file description, whatever the holder's pid namespace, and
 * drops it when the last descriptor closes: when the holder dies, or, for a descriptor a
 * child inherited (kairos-agent), when that child is gone too. No pid to trust or reuse.
 *
 *   flockTry(fd: number): boolean   exclusive, without waiting; false: someone holds it
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <node_api.h>
#include "native.h"

static napi_value flock_try(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "flockTry(fd)");
    return NULL;
  }
  int r;
  do {
    r = flock(fd, LOCK_EX | LOCK_NB);
  } while (r != 0 && errno == EINTR);
  if (r != 0 && errno != EWOULDBLOCK) {
    char msg[128];
    snprintf(msg, sizeof msg, "flock: %s", strerror(errno));
    napi_throw_error(env, "E_FLOCK", msg);
    return NULL;
  }
  napi_get_boolean(env, r == 0, &result);
  return result;
}

void define_flock(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "flockTry", NAPI_AUTO_LENGTH, flock_try, NULL, &fn);
  napi_set_named_property(env, exports, "flockTry", fn);
}
