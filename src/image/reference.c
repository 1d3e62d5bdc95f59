/* Image references as docker and podman write them:
 *   [domain[:port]/]path[:tag][@sha256:hex]
 * following the grammar of distribution/reference: lowercase path
 * components separated by "/", each alphanumerics joined by ".", "_",
 * "__" or dashes; tags [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
#include <stdio.h>
#include <string.h>

#include "store_priv.h"

static bool lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
static bool alnum(char c) {
  return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

bool img_is_hex(const char *s) {
  if (!*s)
    return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

/* One path component: alnum+ (sep alnum+)*, sep = "." | "_" | "__" | "-"+ */
static bool path_component(const char *s, size_t n) {
  if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
    return false;
  for (size_t i = 0; i < n;) {
    if (lower_alnum(s[i])) {
      i++;
      continue;
    }
    size_t j = i;
    if (s[i] == '.')
      j = i + 1;
    else if (s[i] == '_')
      j = i + 1 + (i + 1 < n && s[i + 1] == '_');
    else if (s[i] == '-')
      while (j < n && s[j] == '-')
        j++;
    else
      return false;
    if (j >= n || !lower_alnum(s[j]))
      return false;
    i = j;
  }
  return true;
}

/* domain-component ("." domain-component)* [":" port] */
static bool domain(const char *s, size_t n) {
  const char *colon = memchr(s, ':', n);
  size_t hn = colon ? (size_t)(colon - s) : n;
  if (colon) {
    size_t pn = n - hn - 1;
    if (pn == 0 || pn > 5)
      return false;
    for (size_t i = 0; i < pn; i++)
      if (colon[1 + i] < '0' || colon[1 + i] > '9')
        return false;
  }
  if (hn == 0)
    return false;
  size_t start = 0;
  for (size_t i = 0; i <= hn; i++) {
    if (i < hn && s[i] != '.')
      continue;
    size_t len = i - start;
    if (len == 0 || !alnum(s[start]) || !alnum(s[i - 1]))
      return false;
    for (size_t k = start; k < i; k++)
      if (!alnum(s[k]) && s[k] != '-')
        return false;
    start = i + 1;
  }
  return true;
}

int ref_parse(const char *s, struct ref *r, struct hull_error *e) {
  memset(r, 0, sizeof *r);
  size_t len = strlen(s);
  if (len == 0)
    return hull_err(e, EINVAL, "invalid reference \"\": empty");
  if (len > 512)
    return hull_err(e, EINVAL, "invalid reference: longer than 512 bytes");
  /* messages quote the input: it must be one printable line */
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
      return hull_err(e, EINVAL, "invalid reference: control or non-ASCII character at byte %zu", i);
  char buf[513];
  memcpy(buf, s, len + 1);
  char *at = strchr(buf, '@');
  if (at) {
    *at = 0;
    if (!digest_valid(at + 1))
      return hull_err(e, EINVAL,
                      "invalid reference \"%s\": bad digest (want sha256:<64 hex>)",
                      s);
    memcpy(r->digest, at + 1, 72);
  }
  /* The tag is after the last ':' that follows the last '/'. */
  char *slash = strrchr(buf, '/');
  char *colon = strrchr(slash ? slash : buf, ':');
  if (colon) {
    *colon = 0;
    const char *t = colon + 1;
    size_t tn = strlen(t);
    if (tn == 0 || tn > 128 || !(alnum(t[0]) || t[0] == '_'))
      return hull_err(e, EINVAL, "invalid reference \"%s\": bad tag \"%s\"", s, t);
    for (size_t i = 1; i < tn; i++)
      if (!alnum(t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
        return hull_err(e, EINVAL, "invalid reference \"%s\": bad tag \"%s\"", s,
                        t);
    memcpy(r->tag, t, tn + 1);
  }
  size_t nn = strlen(buf);
  if (nn == 0)
    return hull_err(e, EINVAL, "invalid reference \"%s\": no name", s);
  if (nn > 255)
    return hull_err(e, EINVAL, "invalid reference \"%s\": name longer than 255", s);
  /* The first component is a domain when it has "." or ":" or is
   * localhost, and more components follow. */
  const char *p = buf;
  const char *first_end = strchr(buf, '/');
  if (first_end) {
    size_t fn = (size_t)(first_end - buf);
    if (memchr(buf, '.', fn) || memchr(buf, ':', fn) ||
        (fn == 9 && !memcmp(buf, "localhost", 9))) {
      if (!domain(buf, fn))
        return hull_err(e, EINVAL, "invalid reference \"%s\": bad registry \"%.*s\"",
                        s, (int)fn, buf);
      p = first_end + 1;
    }
  }
  for (;;) {
    const char *end = strchr(p, '/');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (!path_component(p, n))
      return hull_err(e, EINVAL,
                      "invalid reference \"%s\": bad name component \"%.*s\" "
                      "(lowercase letters, digits, separators . _ __ -)",
                      s, (int)n, p);
    if (!end)
      break;
    p = end + 1;
  }
  memcpy(r->name, buf, nn + 1);
  if (!r->tag[0] && !r->digest[0])
    strcpy(r->tag, "latest");
  return 0;
}

void ref_string(const struct ref *r, char *out, size_t len) {
  if (r->tag[0])
    snprintf(out, len, "%s:%s", r->name, r->tag);
  else
    snprintf(out, len, "%s@%s", r->name, r->digest);
}

int ref_normalize(const char *s, char *out, size_t len, struct hull_error *e) {
  struct ref r;
  int ret = ref_parse(s, &r, e);
  if (ret < 0)
    return ret;
  ref_string(&r, out, len);
  return 0;
}
