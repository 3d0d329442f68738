/*
 * SHA-256 of a growing file on libuv's thread pool, so that a download's hashing runs on
 * another core than the one receiving and writing its bytes. Node's own Hash runs on the
 * main thread, and worker threads cannot start inside the agent's single executable (its
 * startup snapshot). The digest is OpenSSL's, which Node exports to addons. Once a range
 * is hashed, its writeback to disk is started (sync_file_range), so that the fsync before
 * the blob is committed finds little left to write instead of the whole blob at once.
 *
 *   sha256New(): handle
 *   sha256File(handle, fd, from, to): Promise<void>   hashes bytes [from, to) read with pread,
 *                                                      then starts writing them back
 *   sha256Hex(handle): string                          the digest so far (the state goes on)
 *
 * Calls on one handle must not overlap: the caller chains them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <node_api.h>
#include <openssl/evp.h>
#include "native.h"

#define CHUNK (1 << 20)

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref handle_ref;
  EVP_MD_CTX *ctx;
  int fd;
  int64_t from, to;
  int err;          /* errno of a failed read, or -1 when the file ended early */
  int64_t ended_at; /* where it ended */
} job_t;

static void free_ctx(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  EVP_MD_CTX_free((EVP_MD_CTX *)data);
}

static napi_value sha256_new(napi_env env, napi_callback_info info) {
  (void)info;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(ctx);
    napi_throw_error(env, "E_HASH", "cannot create a SHA-256 context");
    return NULL;
  }
  napi_value handle;
  if (napi_create_external(env, ctx, free_ctx, NULL, &handle) != napi_ok) {
    EVP_MD_CTX_free(ctx);
    return NULL;
  }
  return handle;
}

static void execute(napi_env env, void *data) {
  (void)env;
  job_t *job = data;
  unsigned char *buf = malloc(CHUNK);
  if (buf == NULL) {
    job->err = ENOMEM;
    return;
  }
  for (int64_t off = job->from; off < job->to;) {
    size_t want = (size_t)(job->to - off < CHUNK ? job->to - off : CHUNK);
    ssize_t n = pread(job->fd, buf, want, (off_t)off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      job->err = errno;
      break;
    }
    if (n == 0) {
      job->err = -1;
      job->ended_at = off;
      break;
    }
    EVP_DigestUpdate(job->ctx, buf, (size_t)n);
    off += n;
  }
  free(buf);
  /* A hint only: where it is not supported, the fsync at commit does all the writing. */
  if (job->err == 0 && job->to > job->from) sync_file_range(job->fd, (off64_t)job->from, (off64_t)(job->to - job->from), SYNC_FILE_RANGE_WRITE);
}

static void complete(napi_env env, napi_status status, void *data) {
  job_t *job = data;
  napi_value result;
  if (status != napi_ok || job->err != 0) {
    char msg[160];
    if (job->err == -1)
      snprintf(msg, sizeof msg, "the file ends at %lld bytes, not %lld", (long long)job->ended_at, (long long)job->to);
    else
      snprintf(msg, sizeof msg, "reading the file to hash it: %s", status != napi_ok ? "cancelled" : strerror(job->err));
    napi_value text;
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
    napi_create_error(env, NULL, text, &result);
    napi_reject_deferred(env, job->deferred, result);
  } else {
    napi_get_undefined(env, &result);
    napi_resolve_deferred(env, job->deferred, result);
  }
  napi_delete_reference(env, job->handle_ref);
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value sha256_file(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], promise, name;
  void *ctx = NULL;
  int32_t fd = -1;
  int64_t from = 0, to = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4 || napi_get_value_external(env, argv[0], &ctx) != napi_ok ||
      napi_get_value_int32(env, argv[1], &fd) != napi_ok || napi_get_value_int64(env, argv[2], &from) != napi_ok ||
      napi_get_value_int64(env, argv[3], &to) != napi_ok || from < 0 || to < from) {
    napi_throw_type_error(env, NULL, "sha256File(handle, fd, from, to)");
    return NULL;
  }
  job_t *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, "E_HASH", "out of memory");
    return NULL;
  }
  job->ctx = ctx;
  job->fd = fd;
  job->from = from;
  job->to = to;
  /* The handle stays alive while the thread pool uses its context. */
  napi_create_reference(env, argv[0], 1, &job->handle_ref);
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "sha256File", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

static napi_value sha256_hex(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  void *ctx = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_get_value_external(env, argv[0], &ctx) != napi_ok) {
    napi_throw_type_error(env, NULL, "sha256Hex(handle)");
    return NULL;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX *copy = EVP_MD_CTX_new();
  if (copy == NULL || EVP_MD_CTX_copy_ex(copy, ctx) != 1 || EVP_DigestFinal_ex(copy, md, &len) != 1) {
    EVP_MD_CTX_free(copy);
    napi_throw_error(env, "E_HASH", "cannot finish a SHA-256 digest");
    return NULL;
  }
  EVP_MD_CTX_free(copy);
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  for (unsigned int i = 0; i < len; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
  napi_create_string_utf8(env, hex, 2 * len, &result);
  return result;
}

void define_sha256(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sha256New", NULL, sha256_new, NULL, NULL, NULL, napi_default, NULL},
      {"sha256File", NULL, sha256_file, NULL, NULL, NULL, napi_default, NULL},
      {"sha256Hex", NULL, sha256_hex, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
