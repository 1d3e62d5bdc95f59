/* libcurl, loaded when a registry is first spoken to. Linking it would
 * load libcurl and its ~25 libraries (TLS, HTTP/2, IDN, LDAP, Kerberos...)
 * into every `hull` command: ~3 ms of the dynamic loader's time in each
 * `hull run`, which never talks to a registry. These definitions stand
 * for the libcurl functions hull calls and forward to the real ones,
 * found with dlopen on first use. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static struct {
  bool tried;
  void *lib;
  CURL *(*easy_init)(void);
  void (*easy_cleanup)(CURL *);
  void (*easy_reset)(CURL *);
  CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
  CURLcode (*easy_perform)(CURL *);
  CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
  const char *(*easy_strerror)(CURLcode);
  char *(*easy_escape)(CURL *, const char *, int);
  void (*free)(void *);
  struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
  void (*slist_free_all)(struct curl_slist *);
} fn;

/* Every function is found, or libcurl counts as missing. */
static bool load(void) {
  if (fn.tried)
    return fn.lib != NULL;
  fn.tried = true;
  void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "hull: registries need libcurl: %s\n", dlerror());
    return false;
  }
#define FIND(field, name)                                                      \
  if (!(*(void **)&fn.field = dlsym(lib, name))) {                             \
    fprintf(stderr, "hull: libcurl: %s missing\n", name);                      \
    dlclose(lib);                                                              \
    return false;                                                              \
  }
  FIND(easy_init, "curl_easy_init");
  FIND(easy_cleanup, "curl_easy_cleanup");
  FIND(easy_reset, "curl_easy_reset");
  FIND(easy_setopt, "curl_easy_setopt");
  FIND(easy_perform, "curl_easy_perform");
  FIND(easy_getinfo, "curl_easy_getinfo");
  FIND(easy_strerror, "curl_easy_strerror");
  FIND(easy_escape, "curl_easy_escape");
  FIND(free, "curl_free");
  FIND(slist_append, "curl_slist_append");
  FIND(slist_free_all, "curl_slist_free_all");
#undef FIND
  fn.lib = lib;
  return true;
}

CURL *curl_easy_init(void) { return load() ? fn.easy_init() : NULL; }

void curl_easy_cleanup(CURL *c) {
  if (load())
    fn.easy_cleanup(c);
}

void curl_easy_reset(CURL *c) {
  if (load())
    fn.easy_reset(c);
}

/* The value's type follows from the option's number, as in libcurl. */
CURLcode curl_easy_setopt(CURL *c, CURLoption o, ...) {
  if (!load())
    return CURLE_FAILED_INIT;
  va_list ap;
  va_start(ap, o);
  CURLcode r;
  if (o < CURLOPTTYPE_OBJECTPOINT)
    r = fn.easy_setopt(c, o, va_arg(ap, long));
  else if (o < CURLOPTTYPE_FUNCTIONPOINT)
    r = fn.easy_setopt(c, o, va_arg(ap, void *));
  else if (o < CURLOPTTYPE_OFF_T)
    r = fn.easy_setopt(c, o, va_arg(ap, void (*)(void)));
  else if (o < CURLOPTTYPE_BLOB)
    r = fn.easy_setopt(c, o, va_arg(ap, curl_off_t));
  else
    r = fn.easy_setopt(c, o, va_arg(ap, void *));
  va_end(ap);
  return r;
}

CURLcode curl_easy_perform(CURL *c) {
  return load() ? fn.easy_perform(c) : CURLE_FAILED_INIT;
}

CURLcode curl_easy_getinfo(CURL *c, CURLINFO i, ...) {
  if (!load())
    return CURLE_FAILED_INIT;
  va_list ap;
  va_start(ap, i);
  void *p = va_arg(ap, void *);
  va_end(ap);
  return fn.easy_getinfo(c, i, p);
}

const char *curl_easy_strerror(CURLcode code) {
  return load() ? fn.easy_strerror(code) : "libcurl is not available";
}

char *curl_easy_escape(CURL *c, const char *s, int len) {
  return load() ? fn.easy_escape(c, s, len) : NULL;
}

void curl_free(void *p) {
  if (load())
    fn.free(p);
}

struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s) {
  return load() ? fn.slist_append(l, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *l) {
  if (load())
    fn.slist_free_all(l);
}
