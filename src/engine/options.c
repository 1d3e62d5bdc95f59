/* Parsers of the values people type on `hull run`: sizes, cpus, volume
 * specs, -e and --env-file, names, signals. Every one is fuzzed
 * (tests/fuzz/fuzz_engine_options.c). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/json.h"
#include "engine.h"

int parse_mem_size(const char *s, int64_t *out, struct hull_error *e) {
  if (!s || !*s)
    return hull_err(e, EINVAL, "memory size: empty");
  const char *p = s;
  uint64_t whole = 0, frac = 0, fdiv = 1;
  bool digits = false;
  for (; *p >= '0' && *p <= '9'; p++, digits = true) {
    if (whole > (UINT64_MAX - 9) / 10)
      return hull_err(e, ERANGE, "memory size \"%s\": too large", s);
    whole = whole * 10 + (uint64_t)(*p - '0');
  }
  if (*p == '.') {
    for (p++; *p >= '0' && *p <= '9'; p++, digits = true)
      if (fdiv < 1000000000ULL) {
        frac = frac * 10 + (uint64_t)(*p - '0');
        fdiv *= 10;
      }
  }
  if (!digits)
    return hull_err(e, EINVAL, "memory size \"%s\": not a number", s);
  uint64_t unit = 1;
  switch (tolower((unsigned char)*p)) {
  case '\0': break;
  case 'b': unit = 1; p++; break;
  case 'k': unit = 1ULL << 10; p++; break;
  case 'm': unit = 1ULL << 20; p++; break;
  case 'g': unit = 1ULL << 30; p++; break;
  case 't': unit = 1ULL << 40; p++; break;
  default: return hull_err(e, EINVAL, "memory size \"%s\": unknown unit", s);
  }
  if (unit > 1 && tolower((unsigned char)*p) == 'b')
    p++; /* "512mb" */
  if (*p)
    return hull_err(e, EINVAL, "memory size \"%s\": trailing characters", s);
  if (whole > (uint64_t)INT64_MAX / unit)
    return hull_err(e, ERANGE, "memory size \"%s\": too large", s);
  uint64_t v = whole * unit + (frac * unit) / fdiv;
  if (v > (uint64_t)INT64_MAX)
    return hull_err(e, ERANGE, "memory size \"%s\": too large", s);
  *out = (int64_t)v;
  return 0;
}

int parse_cpus(const char *s, int64_t *millicpus, struct hull_error *e) {
  if (!s || !*s)
    return hull_err(e, EINVAL, "--cpus: empty");
  char *end;
  errno = 0;
  double d = strtod(s, &end);
  if (errno || *end || end == s || !(d > 0) || d > 4096)
    return hull_err(e, EINVAL, "--cpus \"%s\": not a number of cpus above 0", s);
  *millicpus = (int64_t)(d * 1000 + 0.5);
  if (*millicpus < 1)
    *millicpus = 1;
  return 0;
}

void volume_spec_free(struct volume_spec *v) {
  free(v->source);
  free(v->target);
  v->source = v->target = NULL;
}

static bool clean_abs_path(const char *p) {
  if (p[0] != '/')
    return false;
  for (const char *q = p; *q; q++)
    if (*q == '\n' || *q == '\0')
      return false;
  /* no ".." component: a target escaping the root is resolved in root by
   * the runtime anyway, but a spec with one is a typo */
  for (const char *q = p; (q = strstr(q, "..")); q += 2)
    if ((q == p || q[-1] == '/') && (q[2] == '/' || q[2] == '\0'))
      return false;
  return true;
}

int parse_volume_spec(const char *s, struct volume_spec *v, struct hull_error *e) {
  memset(v, 0, sizeof *v);
  if (!s || !*s)
    return hull_err(e, EINVAL, "volume: empty");
  char *copy = strdup(s);
  if (!copy)
    return hull_errno(e, ENOMEM, "volume %s", s);
  char *parts[3] = {0};
  int n = 0;
  for (char *tok = copy;;) {
    if (n == 3) {
      free(copy);
      return hull_err(e, EINVAL, "volume \"%s\": too many ':'", s);
    }
    parts[n++] = tok;
    char *next = strchr(tok, ':');
    if (!next)
      break;
    *next = '\0';
    tok = next + 1;
  }
  int r = 0;
  const char *opts = NULL;
  if (n == 1) {
    v->target = strdup(parts[0]);
  } else {
    if (!*parts[0]) {
      r = hull_err(e, EINVAL, "volume \"%s\": empty source", s);
      goto out;
    }
    v->source = strdup(parts[0]);
    v->target = strdup(parts[1]);
    v->is_bind = parts[0][0] == '/';
    if (n == 3)
      opts = parts[2];
  }
  if (!v->target || (n > 1 && !v->source)) {
    r = hull_errno(e, ENOMEM, "volume %s", s);
    goto out;
  }
  if (!clean_abs_path(v->target)) {
    r = hull_err(e, EINVAL, "volume \"%s\": the container path must be absolute", s);
    goto out;
  }
  if (v->source && !v->is_bind) {
    if (engine_validate_name(v->source, e) < 0) {
      r = hull_err(e, EINVAL,
                   "volume \"%s\": \"%s\" is neither an absolute host path nor a "
                   "valid volume name",
                   s, v->source);
      goto out;
    }
  }
  if (opts) {
    char *o = strdup(opts), *save = NULL;
    for (char *t = strtok_r(o, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      if (!strcmp(t, "ro"))
        v->readonly = true;
      else if (!strcmp(t, "rw"))
        v->readonly = false;
      else if (!strcmp(t, "z") || !strcmp(t, "Z") || !strcmp(t, "rprivate") ||
               !strcmp(t, "private"))
        continue; /* labels and propagation: nothing to do here */
      else {
        r = hull_err(e, EINVAL, "volume \"%s\": unknown option \"%s\"", s, t);
        break;
      }
    }
    free(o);
  }
out:
  free(copy);
  if (r < 0)
    volume_spec_free(v);
  return r;
}

static bool env_name_ok(const char *s, size_t n) {
  if (!n)
    return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '\0' || s[i] == '=' || isspace((unsigned char)s[i]))
      return false;
  return true;
}

int parse_env_arg(const char *s, char **out, struct hull_error *e) {
  *out = NULL;
  const char *eq = strchr(s, '=');
  size_t n = eq ? (size_t)(eq - s) : strlen(s);
  if (!env_name_ok(s, n))
    return hull_err(e, EINVAL, "environment variable \"%s\": invalid name", s);
  if (eq) {
    *out = strdup(s);
  } else {
    const char *val = getenv(s);
    if (!val)
      return 1;
    if (asprintf(out, "%s=%s", s, val) < 0)
      *out = NULL;
  }
  return *out ? 0 : hull_errno(e, ENOMEM, "environment variable %s", s);
}

int parse_env_file(const char *text, size_t len, const char *name, json_t *arr,
                   struct hull_error *e) {
  size_t lineno = 0;
  for (size_t i = 0; i < len;) {
    const char *line = text + i;
    const char *nl = memchr(line, '\n', len - i);
    size_t n = nl ? (size_t)(nl - line) : len - i;
    i += n + (nl ? 1 : 0);
    lineno++;
    if (n && line[n - 1] == '\r')
      n--;
    size_t lead = 0;
    while (lead < n && (line[lead] == ' ' || line[lead] == '\t'))
      lead++;
    if (lead == n || line[lead] == '#')
      continue;
    if (memchr(line, '\0', n))
      return hull_err(e, EINVAL, "env file %s: line %zu: NUL byte", name, lineno);
    char *l = strndup(line + lead, n - lead);
    if (!l)
      return hull_errno(e, ENOMEM, "env file %s", name);
    char *v = NULL;
    int r = parse_env_arg(l, &v, e);
    free(l);
    if (r < 0)
      return hull_err_prefix(e, "env file %s: line %zu", name, lineno);
    if (r == 0 && (!hjson_valid_utf8(v) ||
                   json_array_append_new(arr, json_string(v)) < 0)) {
      free(v);
      return hull_err(e, EINVAL, "env file %s: line %zu: not UTF-8", name, lineno);
    }
    free(v);
  }
  return 0;
}

int engine_validate_name(const char *name, struct hull_error *e) {
  size_t n = strlen(name);
  if (!n || n > 128)
    return hull_err(e, EINVAL, "name \"%.140s\": must be 1 to 128 characters", name);
  if (!isalnum((unsigned char)name[0]))
    return hull_err(e, EINVAL, "name \"%s\": must start with a letter or digit", name);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)name[i];
    if (!isalnum(ch) && ch != '_' && ch != '.' && ch != '-')
      return hull_err(e, EINVAL,
                      "name \"%s\": only letters, digits, '_', '.' and '-' are allowed",
                      name);
  }
  return 0;
}

int engine_parse_signal(const char *s, int *sig, struct hull_error *e) {
  if (!s || !*s)
    return hull_err(e, EINVAL, "signal: empty");
  if (isdigit((unsigned char)*s)) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v <= 0 || v >= NSIG)
      return hull_err(e, EINVAL, "signal \"%s\": out of range", s);
    *sig = (int)v;
    return 0;
  }
  const char *n = strncasecmp(s, "SIG", 3) ? s : s + 3;
  for (int i = 1; i < NSIG; i++) {
    const char *abbrev = sigabbrev_np(i);
    if (abbrev && !strcasecmp(abbrev, n)) {
      *sig = i;
      return 0;
    }
  }
  if (!strncasecmp(n, "RTMIN+", 6) || !strncasecmp(n, "RTMAX-", 6)) {
    char *end;
    long off = strtol(n + 6, &end, 10);
    int v = n[5] == '+' ? SIGRTMIN + (int)off : SIGRTMAX - (int)off;
    if (!*end && off >= 0 && v >= SIGRTMIN && v <= SIGRTMAX) {
      *sig = v;
      return 0;
    }
  }
  return hull_err(e, EINVAL, "signal \"%s\": unknown", s);
}

/* A port number 1-65535 (allow0: 0 too); returns the end of it. */
static const char *port_num(const char *p, unsigned *out, bool allow0) {
  unsigned v = 0;
  const char *s = p;
  for (; *p >= '0' && *p <= '9' && p - s < 6; p++)
    v = v * 10 + (unsigned)(*p - '0');
  if (p == s || v > 65535 || (!allow0 && v == 0) || (*p >= '0' && *p <= '9'))
    return NULL;
  *out = v;
  return p;
}

/* "N" or "N-M" (M ≥ N), the whole of s. */
static bool port_range(const char *s, unsigned *lo, unsigned *hi) {
  const char *p = port_num(s, lo, false);
  if (!p)
    return false;
  *hi = *lo;
  if (*p == '-' && !(p = port_num(p + 1, hi, false)))
    return false;
  return *p == '\0' && *hi >= *lo;
}

int parse_port_spec(const char *s, struct port_spec *ps, struct hull_error *e) {
  memset(ps, 0, sizeof *ps);
  if (!s || !*s || strlen(s) > 128)
    return hull_err(e, EINVAL, "-p \"%s\": empty or too long", s ? s : "");
  char buf[130];
  snprintf(buf, sizeof buf, "%s", s);
  snprintf(ps->proto, sizeof ps->proto, "tcp");
  char *slash = strrchr(buf, '/');
  if (slash) {
    *slash = '\0';
    if (strcmp(slash + 1, "tcp") && strcmp(slash + 1, "udp"))
      return hull_err(e, EINVAL, "-p \"%s\": protocol must be tcp or udp", s);
    snprintf(ps->proto, sizeof ps->proto, "%s", slash + 1);
  }
  /* [HOSTIP:][HOSTPORT:]CTRPORT; an IPv6 host address in brackets */
  char *hostip = NULL, *hostport = NULL, *ctr;
  char *rest = buf;
  if (*rest == '[') {
    char *close = strchr(rest, ']');
    if (!close || close[1] != ':')
      return hull_err(e, EINVAL, "-p \"%s\": malformed [IPv6] host address", s);
    *close = '\0';
    hostip = rest + 1;
    rest = close + 2;
  }
  char *c1 = strrchr(rest, ':');
  if (!c1) {
    ctr = rest;
  } else {
    *c1 = '\0';
    ctr = c1 + 1;
    char *c2 = strrchr(rest, ':');
    if (c2) {
      if (hostip)
        return hull_err(e, EINVAL, "-p \"%s\": too many ':'", s);
      *c2 = '\0';
      hostip = rest;
      hostport = c2 + 1;
    } else {
      hostport = rest; /* [IPv6]:HOSTPORT:CTR or HOSTPORT:CTR */
    }
  }
  if (hostip) {
    unsigned char a[16];
    if (inet_pton(AF_INET, hostip, a) != 1 && inet_pton(AF_INET6, hostip, a) != 1)
      return hull_err(e, EINVAL, "-p \"%s\": host address \"%s\" is not an IP address", s,
                      hostip);
    snprintf(ps->host_ip, sizeof ps->host_ip, "%s", hostip);
  }
  unsigned clo, chi;
  if (!port_range(ctr, &clo, &chi))
    return hull_err(e, EINVAL, "-p \"%s\": container port \"%s\" is not a port or range", s,
                    ctr);
  ps->ctr_port = (uint16_t)clo;
  ps->ctr_port_end = (uint16_t)chi;
  if (hostport && *hostport) {
    unsigned hlo, hhi;
    if (!port_range(hostport, &hlo, &hhi))
      return hull_err(e, EINVAL, "-p \"%s\": host port \"%s\" is not a port or range", s,
                      hostport);
    if (hhi - hlo != chi - clo)
      return hull_err(e, EINVAL, "-p \"%s\": host and container port ranges differ in size", s);
    ps->host_port = (uint16_t)hlo;
  }
  return 0;
}

int parse_add_host(const char *s, char *name, size_t nlen, char *ip, size_t iplen,
                   struct hull_error *e) {
  const char *c = s ? strchr(s, ':') : NULL;
  if (!c || c == s || (size_t)(c - s) >= nlen)
    return hull_err(e, EINVAL, "--add-host \"%s\": want HOST:IP", s ? s : "");
  for (const char *p = s; p < c; p++)
    if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
      return hull_err(e, EINVAL, "--add-host \"%s\": \"%.*s\" is not a host name", s,
                      (int)(c - s), s);
  const char *a = c + 1;
  char tmp[64];
  if (*a == '[') { /* [::1] */
    size_t l = strlen(a);
    if (l < 3 || a[l - 1] != ']' || l - 2 >= sizeof tmp)
      return hull_err(e, EINVAL, "--add-host \"%s\": malformed address", s);
    memcpy(tmp, a + 1, l - 2);
    tmp[l - 2] = '\0';
    a = tmp;
  }
  unsigned char buf[16];
  if (strlen(a) >= iplen ||
      (inet_pton(AF_INET, a, buf) != 1 && inet_pton(AF_INET6, a, buf) != 1))
    return hull_err(e, EINVAL, "--add-host \"%s\": \"%s\" is not an IP address", s, a);
  snprintf(name, nlen, "%.*s", (int)(c - s), s);
  snprintf(ip, iplen, "%s", a);
  return 0;
}
