/* The HTTP client of the registry code (registry_http.c), for registry.c. */
#ifndef HULL_IMAGE_REGISTRY_PRIV_H
#define HULL_IMAGE_REGISTRY_PRIV_H

#include <curl/curl.h>
#include <stdbool.h>
#include <sys/types.h>

#include "registry.h"
#include "store_priv.h"

struct reg {
  CURL *curl;
  char host[256];  /* "localhost:5000", "registry-1.docker.io" */
  char repo[256];  /* "team/app", "library/busybox" */
  char scheme[8];  /* https, or http after a fallback */
  bool tls_verify;
  char *basic;     /* base64 user:password, or NULL */
  char *token;     /* "Bearer ..." / "Basic ..." once authenticated */
};

struct reg_req {
  const char *method;
  const char *path;         /* "/v2/..." on the registry, or */
  const char *url;          /* an absolute URL (upload locations, realms) */
  const char *scope;        /* token scope to ask for on a 401 */
  const char *content_type;
  struct curl_slist *extra; /* more headers */
  const void *body;         /* a body in memory (POST, PUT of a manifest) */
  size_t body_len_mem;
  int body_fd;              /* or a body from a file (PUT of a blob), -1 */
  off_t body_len;
  bool no_auth;
  struct progress *progress; /* a bar for uploads, named progress_name */
  const char *progress_name;
};

struct reg_resp {
  long status;
  int curl_code;
  char *body;   /* error bodies and small answers, up to max bytes */
  size_t len, max;
  char *www_auth, *location, *content_type, *digest;
  /* a successful body goes here instead (blobs) */
  int (*sink)(void *arg, const void *data, size_t len);
  void *sink_arg;
  bool sink_failed;
  CURL *curl;
};

int reg_split(const char *name, char *host, size_t hl, char *repo, size_t rl,
              struct hull_error *e);
int reg_open(struct reg *r, const char *name, const char *creds, bool tls_verify,
             struct hull_error *e);
void reg_close(struct reg *r);
/* Perform q, authenticating on a 401 and falling back to HTTP where TLS is
 * not required. A non-2xx status is not an error here: look at p->status. */
int reg_do(struct reg *r, struct reg_req *q, struct reg_resp *p,
           struct hull_error *e);
void reg_resp_free(struct reg_resp *p);
/* The value of key in a WWW-Authenticate challenge (caller frees), or NULL. */
char *reg_challenge_param(const char *challenge, const char *key);
/* An error naming what failed and the registry's own message. */
int reg_fail(struct reg *r, const char *what, struct reg_resp *p,
             struct hull_error *e);

/* host[:port] names this machine (TLS is not checked there): exactly
 * localhost, or an address in 127/8 or ::1 — a prefix is not enough,
 * localhost.example.com is another machine. */
bool registry_is_loopback(const char *host);

#endif
