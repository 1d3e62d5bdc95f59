/* The HTTP side of the distribution protocol: one libcurl handle per
 * registry, requests that authenticate themselves on a 401 (a Bearer
 * token from the challenge's realm, or basic auth), HTTPS with plain HTTP
 * as the fallback where TLS is not required (--tls-verify=false, and the
 * loopback registries docker users expect to work without TLS). */
#include "registry_priv.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "../common/json.h"

bool registry_is_loopback(const char *host) {
  char h[256];
  snprintf(h, sizeof h, "%s", host);
  char *end = h[0] == '[' ? strchr(h, ']') : strrchr(h, ':');
  if (h[0] == '[') {
    if (!end)
      return false;
    *end = '\0';
    memmove(h, h + 1, strlen(h));
  } else if (end) {
    *end = '\0';
  }
  unsigned char a[16];
  if (inet_pton(AF_INET, h, a) == 1)
    return a[0] == 127;
  if (inet_pton(AF_INET6, h, a) == 1)
    return !memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16);
  return !strcmp(h, "localhost");
}

/* "localhost:5000/team/app" -> host "localhost:5000", repo "team/app";
 * a name without a registry is Docker Hub's, as docker users expect. */
int reg_split(const char *name, char *host, size_t hl, char *repo, size_t rl,
              struct hull_error *e) {
  const char *slash = strchr(name, '/');
  bool has_host = slash && (memchr(name, '.', (size_t)(slash - name)) ||
                            memchr(name, ':', (size_t)(slash - name)) ||
                            !strncmp(name, "localhost/", 10));
  if (has_host) {
    snprintf(host, hl, "%.*s", (int)(slash - name), name);
    snprintf(repo, rl, "%s", slash + 1);
  } else {
    snprintf(host, hl, "registry-1.docker.io");
    if (slash)
      snprintf(repo, rl, "%s", name);
    else
      snprintf(repo, rl, "library/%s", name);
  }
  if (!*repo)
    return hull_err(e, EINVAL, "reference %s: no repository", name);
  return 0;
}

/* ---- credentials */

static char *b64(const char *s) {
  size_t n = strlen(s);
  char *out = malloc(4 * ((n + 2) / 3) + 1);
  if (out)
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
  return out;
}

/* "auth" of host in a docker/containers auth file, already base64. */
static char *auth_from_file(const char *path, const char *host) {
  _cleanup_free_ char *text = NULL;
  size_t len;
  struct hull_error ignored;
  if (!path || fs_read_file(path, &text, &len, &ignored) < 0)
    return NULL;
  json_error_t je;
  json_t *j = hjson_loadb(text, len, 0, NULL, &je);
  const char *a = json_string_value(
      json_object_get(json_object_get(json_object_get(j, "auths"), host), "auth"));
  char *r = a ? strdup(a) : NULL;
  json_decref(j);
  return r;
}

static char *find_basic(const char *creds, const char *host) {
  if (creds)
    return b64(creds);
  char path[4096];
  const char *f = getenv("REGISTRY_AUTH_FILE");
  char *a = auth_from_file(f, host);
  if (!a && getenv("XDG_RUNTIME_DIR")) {
    snprintf(path, sizeof path, "%s/containers/auth.json", getenv("XDG_RUNTIME_DIR"));
    a = auth_from_file(path, host);
  }
  if (!a && getenv("HOME")) {
    snprintf(path, sizeof path, "%s/.docker/config.json", getenv("HOME"));
    a = auth_from_file(path, host);
  }
  return a;
}

int reg_open(struct reg *r, const char *name, const char *creds, bool tls_verify,
             struct hull_error *e) {
  memset(r, 0, sizeof *r);
  int rc = reg_split(name, r->host, sizeof r->host, r->repo, sizeof r->repo, e);
  if (rc < 0)
    return rc;
  r->tls_verify = tls_verify && !registry_is_loopback(r->host);
  snprintf(r->scheme, sizeof r->scheme, "https");
  r->basic = find_basic(creds, r->host);
  r->curl = curl_easy_init();
  if (!r->curl)
    return hull_err(e, ENOMEM, "registry %s: libcurl", r->host);
  return 0;
}

void reg_close(struct reg *r) {
  if (r->curl)
    curl_easy_cleanup(r->curl);
  free(r->basic);
  free(r->token);
  memset(r, 0, sizeof *r);
}

/* ---- one request */

void reg_resp_free(struct reg_resp *p) {
  free(p->body);
  free(p->www_auth);
  free(p->location);
  free(p->content_type);
  free(p->digest);
  memset(p, 0, sizeof *p);
}

static char *header_value(const char *line, size_t n, const char *name) {
  size_t k = strlen(name);
  if (n <= k + 1 || strncasecmp(line, name, k) || line[k] != ':')
    return NULL;
  const char *v = line + k + 1;
  const char *end = line + n;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  return strndup(v, (size_t)(end - v));
}

static size_t on_header(char *buf, size_t size, size_t n, void *arg) {
  struct reg_resp *p = arg;
  size_t len = size * n;
  char *v;
  /* a new response (after a redirect) starts over */
  if (len > 5 && !strncmp(buf, "HTTP/", 5)) {
    free(p->location);
    p->location = NULL;
  }
  if ((v = header_value(buf, len, "WWW-Authenticate"))) {
    free(p->www_auth);
    p->www_auth = v;
  } else if ((v = header_value(buf, len, "Location"))) {
    free(p->location);
    p->location = v;
  } else if ((v = header_value(buf, len, "Content-Type"))) {
    free(p->content_type);
    p->content_type = v;
  } else if ((v = header_value(buf, len, "Docker-Content-Digest"))) {
    free(p->digest);
    p->digest = v;
  }
  return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *arg) {
  struct reg_resp *p = arg;
  size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status);
  /* only a successful body goes to the sink (a 401's goes nowhere) */
  if (p->sink && status >= 200 && status < 300) {
    if (p->sink(p->sink_arg, buf, len) < 0) {
      p->sink_failed = true;
      return 0; /* aborts the transfer */
    }
    return len;
  }
  if (p->len + len > p->max)
    return 0;
  char *b = realloc(p->body, p->len + len + 1);
  if (!b)
    return 0;
  memcpy(b + p->len, buf, len);
  p->body = b;
  p->len += len;
  p->body[p->len] = 0;
  return len;
}

static int on_xfer(void *arg, curl_off_t dltotal, curl_off_t dlnow,
                   curl_off_t ultotal, curl_off_t ulnow) {
  struct reg_req *q = arg;
  (void)dltotal;
  (void)dlnow;
  if (ultotal > 0)
    progress_bar(q->progress, q->progress_name, (uint64_t)ulnow, (uint64_t)ultotal);
  return 0;
}

static size_t on_read(char *buf, size_t size, size_t n, void *arg) {
  struct reg_req *q = arg;
  ssize_t got = read(q->body_fd, buf, size * n);
  return got < 0 ? CURL_READFUNC_ABORT : (size_t)got;
}

/* The value of key in a challenge: Bearer realm="...",service="..." */
char *reg_challenge_param(const char *ch, const char *key) {
  size_t k = strlen(key);
  for (const char *p = ch; (p = strstr(p, key)); p += k) {
    if ((p != ch && p[-1] != ' ' && p[-1] != ',') || p[k] != '=')
      continue;
    const char *v = p + k + 1;
    if (*v == '"') {
      const char *end = strchr(v + 1, '"');
      return end ? strndup(v + 1, (size_t)(end - v - 1)) : NULL;
    }
    return strndup(v, strcspn(v, ", "));
  }
  return NULL;
}

static int url_escape_append(CURL *c, char *out, size_t len, const char *key,
                             const char *val) {
  char *v = curl_easy_escape(c, val, 0);
  if (!v)
    return -ENOMEM;
  size_t used = strlen(out);
  snprintf(out + used, len - used, "%s%s=%s", strchr(out, '?') ? "&" : "?", key, v);
  curl_free(v);
  return 0;
}

/* Answer a 401's challenge: a Bearer token from its realm, or basic. */
static int authenticate(struct reg *r, const char *challenge, const char *scope,
                        struct hull_error *e) {
  if (!strncasecmp(challenge, "Basic", 5)) {
    if (!r->basic)
      return hull_err(e, EACCES,
                      "registry %s: authentication required (give --creds or log in)",
                      r->host);
    free(r->token);
    if (asprintf(&r->token, "Basic %s", r->basic) < 0)
      r->token = NULL;
    return r->token ? 0 : hull_err(e, ENOMEM, "registry %s", r->host);
  }
  if (strncasecmp(challenge, "Bearer", 6))
    return hull_err(e, EACCES, "registry %s: unsupported authentication: %.100s",
                    r->host, challenge);
  _cleanup_free_ char *realm = reg_challenge_param(challenge, "realm");
  _cleanup_free_ char *service = reg_challenge_param(challenge, "service");
  _cleanup_free_ char *ch_scope = reg_challenge_param(challenge, "scope");
  if (!realm || (strncmp(realm, "https://", 8) && strncmp(realm, "http://", 7)))
    return hull_err(e, EPROTO, "registry %s: Bearer challenge without a valid realm",
                    r->host);
  char url[4096];
  snprintf(url, sizeof url, "%s", realm);
  if (service)
    url_escape_append(r->curl, url, sizeof url, "service", service);
  url_escape_append(r->curl, url, sizeof url, "scope", scope ? scope : ch_scope ? ch_scope : "");
  struct reg_req q = {.method = "GET", .url = url, .no_auth = true, .body_fd = -1};
  struct reg_resp p = {.max = 1 << 20};
  struct curl_slist *h = NULL;
  char basic[2048];
  if (r->basic) {
    snprintf(basic, sizeof basic, "Authorization: Basic %s", r->basic);
    h = curl_slist_append(h, basic);
  }
  q.extra = h;
  int rc = reg_do(r, &q, &p, e);
  curl_slist_free_all(h);
  if (rc < 0)
    return hull_err_prefix(e, "token");
  if (p.status != 200) {
    rc = hull_err(e, EACCES, "registry %s: token request: HTTP %ld", r->host, p.status);
    reg_resp_free(&p);
    return rc;
  }
  json_error_t je;
  json_t *j = hjson_loadb(p.body ? p.body : "", p.len, 0, NULL, &je);
  const char *tok = json_string_value(json_object_get(j, "token"));
  if (!tok)
    tok = json_string_value(json_object_get(j, "access_token"));
  free(r->token);
  r->token = NULL;
  if (tok && asprintf(&r->token, "Bearer %s", tok) < 0)
    r->token = NULL;
  json_decref(j);
  reg_resp_free(&p);
  return r->token ? 0 : hull_err(e, EPROTO, "registry %s: token answer without a token",
                                 r->host);
}

static int perform(struct reg *r, struct reg_req *q, struct reg_resp *p,
                   const char *url, struct hull_error *e) {
  CURL *c = r->curl;
  curl_easy_reset(c);
  p->curl = c;
  struct curl_slist *h = NULL;
  for (struct curl_slist *x = q->extra; x; x = x->next)
    h = curl_slist_append(h, x->data);
  char auth[8192];
  if (r->token && !q->no_auth) {
    snprintf(auth, sizeof auth, "Authorization: %s", r->token);
    h = curl_slist_append(h, auth);
  }
  if (q->content_type) {
    char ct[256];
    snprintf(ct, sizeof ct, "Content-Type: %s", q->content_type);
    h = curl_slist_append(h, ct);
  }
  h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "hull/0.1");
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, p);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, p);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  /* a registry that stops sending mid-blob is an error, not a hang */
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (!r->tls_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!strcmp(q->method, "GET")) {
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  } else if (!strcmp(q->method, "HEAD")) {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (q->body_fd >= 0 && !strcmp(q->method, "PUT")) {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, q);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->body_len);
    if (q->progress) {
      curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xfer);
      curl_easy_setopt(c, CURLOPT_XFERINFODATA, q);
      curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body ? q->body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len_mem);
  }
  CURLcode cc = curl_easy_perform(c);
  curl_slist_free_all(h);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &p->status);
  p->curl_code = (int)cc;
  if (cc != CURLE_OK) {
    if (cc == CURLE_WRITE_ERROR && p->sink_failed)
      return -EIO; /* the sink said why */
    return hull_err(e, EIO, "registry %s: %s %s: %s", r->host, q->method, url,
                    curl_easy_strerror(cc));
  }
  return 0;
}

int reg_do(struct reg *r, struct reg_req *q, struct reg_resp *p,
           struct hull_error *e) {
  char url[4096];
  for (int attempt = 0; attempt < 3; attempt++) {
    if (q->url)
      snprintf(url, sizeof url, "%s", q->url);
    else
      snprintf(url, sizeof url, "%s://%s%s", r->scheme, r->host, q->path);
    if (q->body_fd >= 0 && !strcmp(q->method, "PUT") && lseek(q->body_fd, 0, SEEK_SET) < 0)
      return hull_errno(e, errno, "registry %s: upload", r->host);
    int rc = perform(r, q, p, url, e);
    /* where TLS is not required, a registry that only speaks HTTP */
    if (rc < 0 && !q->url && !r->tls_verify && !strcmp(r->scheme, "https") &&
        !p->sink_failed && p->status == 0) {
      snprintf(r->scheme, sizeof r->scheme, "http");
      free(p->body);
      p->body = NULL;
      p->len = 0;
      continue;
    }
    if (rc < 0)
      return rc;
    if (p->status == 401 && !q->no_auth && p->www_auth && attempt < 2) {
      _cleanup_free_ char *ch = p->www_auth;
      p->www_auth = NULL;
      free(p->body);
      p->body = NULL;
      p->len = 0;
      if ((rc = authenticate(r, ch, q->scope, e)) < 0)
        return rc;
      continue;
    }
    return 0;
  }
  return 0;
}

/* The registry's own words from an error body ({"errors":[{"message"}]}). */
int reg_fail(struct reg *r, const char *what, struct reg_resp *p,
             struct hull_error *e) {
  const char *msg = NULL;
  json_error_t je;
  json_t *j = p->body ? hjson_loadb(p->body, p->len, 0, NULL, &je) : NULL;
  json_t *first = json_array_get(json_object_get(j, "errors"), 0);
  msg = json_string_value(json_object_get(first, "message"));
  const char *code = json_string_value(json_object_get(first, "code"));
  int rc = hull_err(e, p->status == 404 ? ENOENT : p->status == 401 || p->status == 403 ? EACCES : EIO,
                    "registry %s: %s: HTTP %ld%s%s%s%s", r->host, what, p->status,
                    code ? " " : "", code ? code : "", msg ? ": " : "", msg ? msg : "");
  json_decref(j);
  return rc;
}
