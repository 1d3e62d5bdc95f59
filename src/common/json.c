#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* ---- loader ------------------------------------------------------------ */

struct lexer {
  const char *p, *end, *start;
  const char *line_start;
  int line;
  int flags;
  bool wrapped;
  json_error_t *err;
  char *buf; /* decoded string scratch */
  size_t buf_cap;
};

static void fail(struct lexer *lx, enum json_error_code code, const char *fmt,
                 ...) __attribute__((format(printf, 3, 4)));

static void fail(struct lexer *lx, enum json_error_code code, const char *fmt,
                 ...) {
  json_error_t *e = lx->err;
  if (!e || e->text[0])
    return; /* keep the first error */
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(e->text, sizeof e->text - 1, fmt, ap);
  va_end(ap);
  /* Name what was found there, as jansson does: "near '}'". */
  if (n > 0 && (size_t)n < sizeof e->text - 40) {
    const char *t = lx->p, *te = t;
    e->column = (int)(t - lx->line_start);
    if (t >= lx->end) {
      snprintf(e->text + n, sizeof e->text - 1 - n, " near end of file");
    } else {
      if (strchr("{}[],:\"", *t))
        te = t + 1;
      else
        while (te < lx->end && te - t < 40 && !strchr(" \t\r\n{}[],:\"", *te))
          te++;
      if (te > t)
        snprintf(e->text + n, sizeof e->text - 1 - n, " near '%.*s'", (int)(te - t), t);
      /* The column is where the offending token ends, as jansson has it. */
      e->column = (int)(te - lx->line_start);
    }
  }
  e->text[sizeof e->text - 1] = (char)code;
  e->line = lx->line;
  e->position = (int)(lx->p - lx->start);
  snprintf(e->source, sizeof e->source, "<buffer>");
}

static void skip_ws(struct lexer *lx) {
  while (lx->p < lx->end) {
    char c = *lx->p;
    if (c == '\n') {
      lx->line++;
      lx->line_start = ++lx->p;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      lx->p++;
    } else {
      break;
    }
  }
}

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if
 * invalid: overlongs, surrogates and values past U+10FFFF are refused. */
size_t hjson_utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80)
    return 1;
  size_t len;
  unsigned min, cp;
  if ((c & 0xe0) == 0xc0) {
    len = 2, min = 0x80, cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3, min = 0x800, cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4, min = 0x10000, cp = c & 0x07;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

bool hjson_valid_utf8(const char *s) {
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    size_t l = hjson_utf8_len((const unsigned char *)s + i, n - i);
    if (!l)
      return false;
    i += l;
  }
  return true;
}

static bool buf_reserve(struct lexer *lx, size_t need) {
  if (need <= lx->buf_cap)
    return true;
  size_t cap = lx->buf_cap ? lx->buf_cap : 256;
  while (cap < need)
    cap *= 2;
  char *nb = realloc(lx->buf, cap);
  if (!nb)
    return false;
  lx->buf = nb;
  lx->buf_cap = cap;
  return true;
}

static int hex4(const char *p) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= c - '0';
    else if (c >= 'a' && c <= 'f')
      v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v |= c - 'A' + 10;
    else
      return -1;
  }
  return v;
}

static size_t put_utf8(char *out, unsigned cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xc0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xe0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  out[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* A string starting after its opening quote. Returns a pointer to the
 * decoded bytes (either in the input, when it has no escapes, or in
 * lx->buf) and its length, or NULL on error. */
static const char *lex_string(struct lexer *lx, size_t *out_len) {
  const char *s = lx->p;
  /* Fast path: plain printable ASCII up to the closing quote. */
  const char *q = s;
  while (q < lx->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20 &&
         (unsigned char)*q < 0x80)
    q++;
  if (q < lx->end && *q == '"') {
    lx->p = q + 1;
    *out_len = (size_t)(q - s);
    return s;
  }
  /* Slow path: escapes, UTF-8, errors. */
  size_t n = 0;
  const char *p = s;
  for (;;) {
    if (p >= lx->end) {
      lx->p = p;
      fail(lx, json_error_premature_end_of_input, "premature end of input");
      return NULL;
    }
    unsigned char c = (unsigned char)*p;
    if (!buf_reserve(lx, n + 8)) {
      fail(lx, json_error_out_of_memory, "out of memory");
      return NULL;
    }
    if (c == '"') {
      lx->p = p + 1;
      *out_len = n;
      return lx->buf;
    }
    if (c < 0x20) {
      lx->p = p;
      fail(lx, json_error_invalid_syntax, "control character 0x%x", c);
      return NULL;
    }
    if (c >= 0x80) {
      size_t l = hjson_utf8_len((const unsigned char *)p, (size_t)(lx->end - p));
      if (!l) {
        lx->p = p;
        fail(lx, json_error_invalid_utf8, "unable to decode byte 0x%x", c);
        return NULL;
      }
      memcpy(lx->buf + n, p, l);
      n += l;
      p += l;
      continue;
    }
    if (c != '\\') {
      lx->buf[n++] = (char)c;
      p++;
      continue;
    }
    if (p + 1 >= lx->end) {
      lx->p = p + 1;
      fail(lx, json_error_premature_end_of_input, "premature end of input");
      return NULL;
    }
    char e = p[1];
    p += 2;
    switch (e) {
    case '"': lx->buf[n++] = '"'; break;
    case '\\': lx->buf[n++] = '\\'; break;
    case '/': lx->buf[n++] = '/'; break;
    case 'b': lx->buf[n++] = '\b'; break;
    case 'f': lx->buf[n++] = '\f'; break;
    case 'n': lx->buf[n++] = '\n'; break;
    case 'r': lx->buf[n++] = '\r'; break;
    case 't': lx->buf[n++] = '\t'; break;
    case 'u': {
      int v = lx->end - p >= 4 ? hex4(p) : -1;
      if (v < 0) {
        lx->p = p;
        fail(lx, json_error_invalid_syntax, "invalid escape");
        return NULL;
      }
      p += 4;
      unsigned cp = (unsigned)v;
      if (cp >= 0xd800 && cp <= 0xdbff) {
        int lo = (lx->end - p >= 6 && p[0] == '\\' && p[1] == 'u') ? hex4(p + 2) : -1;
        if (lo < 0xdc00 || lo > 0xdfff) {
          lx->p = p;
          fail(lx, json_error_invalid_syntax, "invalid Unicode '\\u%04X'", cp);
          return NULL;
        }
        p += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + ((unsigned)lo - 0xdc00);
      } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        lx->p = p;
        fail(lx, json_error_invalid_syntax, "invalid Unicode '\\u%04X'", cp);
        return NULL;
      } else if (cp == 0) {
        lx->p = p;
        fail(lx, json_error_null_character, "\\u0000 is not allowed");
        return NULL;
      }
      n += put_utf8(lx->buf + n, cp);
      break;
    }
    default:
      lx->p = p - 1;
      fail(lx, json_error_invalid_syntax, "invalid escape");
      return NULL;
    }
  }
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static json_t *lex_number(struct lexer *lx) {
  const char *s = lx->p, *p = s;
  bool neg = false, real = false;
  if (p < lx->end && *p == '-') {
    neg = true;
    p++;
  }
  if (p >= lx->end || !is_digit(*p)) {
    fail(lx, json_error_invalid_syntax, "invalid token");
    return NULL;
  }
  if (*p == '0' && p + 1 < lx->end && is_digit(p[1])) {
    fail(lx, json_error_invalid_syntax, "invalid token");
    return NULL;
  }
  uint64_t v = 0;
  bool overflow = false;
  while (p < lx->end && is_digit(*p)) {
    overflow |= __builtin_mul_overflow(v, 10, &v) ||
                __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v);
    p++;
  }
  if (p < lx->end && *p == '.') {
    real = true;
    p++;
    if (p >= lx->end || !is_digit(*p)) {
      lx->p = p;
      fail(lx, json_error_invalid_syntax, "invalid token");
      return NULL;
    }
    while (p < lx->end && is_digit(*p))
      p++;
  }
  if (p < lx->end && (*p == 'e' || *p == 'E')) {
    real = true;
    p++;
    if (p < lx->end && (*p == '+' || *p == '-'))
      p++;
    if (p >= lx->end || !is_digit(*p)) {
      lx->p = p;
      fail(lx, json_error_invalid_syntax, "invalid token");
      return NULL;
    }
    while (p < lx->end && is_digit(*p))
      p++;
  }
  if (!real) {
    json_int_t iv;
    if (!overflow && !neg && v <= (uint64_t)INT64_MAX) {
      iv = (json_int_t)v;
    } else if (!overflow && neg && v <= (uint64_t)INT64_MAX + 1) {
      iv = (json_int_t)(0 - v);
    } else if (!overflow && !neg && (lx->flags & HJSON_WRAP_UINT64)) {
      iv = (json_int_t)v;
      lx->wrapped = true;
    } else {
      fail(lx, json_error_numeric_overflow, "too big %sinteger",
           neg ? "negative " : "");
      return NULL;
    }
    lx->p = p;
    return json_integer(iv);
  }
  char tmp[512];
  size_t n = (size_t)(p - s);
  if (n >= sizeof tmp) {
    fail(lx, json_error_invalid_syntax, "invalid token");
    return NULL;
  }
  memcpy(tmp, s, n);
  tmp[n] = 0;
  errno = 0;
  double d = strtod(tmp, NULL);
  if (isinf(d)) { /* as jansson: overflow fails, underflow does not */
    fail(lx, json_error_numeric_overflow, "real number overflow");
    return NULL;
  }
  lx->p = p;
  return json_real(d);
}

static bool literal(struct lexer *lx, const char *word, size_t n) {
  if ((size_t)(lx->end - lx->p) < n || memcmp(lx->p, word, n))
    return false;
  /* "truex" is one bad token, not "true" followed by junk. */
  const char *after = lx->p + n;
  if (after < lx->end && ((*after >= 'a' && *after <= 'z') ||
                          (*after >= 'A' && *after <= 'Z') || is_digit(*after)))
    return false;
  lx->p = after;
  return true;
}

static json_t *parse_value(struct lexer *lx, int depth);

static json_t *parse_object(struct lexer *lx, int depth) {
  json_t *obj = json_object();
  if (!obj) {
    fail(lx, json_error_out_of_memory, "out of memory");
    return NULL;
  }
  lx->p++; /* '{' */
  skip_ws(lx);
  if (lx->p < lx->end && *lx->p == '}') {
    lx->p++;
    return obj;
  }
  for (;;) {
    skip_ws(lx);
    if (lx->p >= lx->end || *lx->p != '"') {
      fail(lx, lx->p >= lx->end ? json_error_premature_end_of_input
                                : json_error_invalid_syntax,
           "string or '}' expected");
      goto err;
    }
    lx->p++;
    size_t klen;
    const char *k = lex_string(lx, &klen);
    if (!k)
      goto err;
    /* The key may live in the scratch buffer the value will reuse. */
    char kbuf[256];
    char *key = klen < sizeof kbuf ? kbuf : malloc(klen + 1);
    if (!key) {
      fail(lx, json_error_out_of_memory, "out of memory");
      goto err;
    }
    memcpy(key, k, klen);
    key[klen] = 0;
    skip_ws(lx);
    if (lx->p >= lx->end || *lx->p != ':') {
      if (key != kbuf)
        free(key);
      fail(lx, lx->p >= lx->end ? json_error_premature_end_of_input
                                : json_error_invalid_syntax,
           "':' expected");
      goto err;
    }
    lx->p++;
    json_t *v = parse_value(lx, depth + 1);
    if (!v) {
      if (key != kbuf)
        free(key);
      goto err;
    }
    int r = json_object_setn_new_nocheck(obj, key, klen, v);
    if (key != kbuf)
      free(key);
    if (r < 0) {
      fail(lx, json_error_out_of_memory, "out of memory");
      goto err;
    }
    skip_ws(lx);
    if (lx->p >= lx->end) {
      fail(lx, json_error_premature_end_of_input, "premature end of input");
      goto err;
    }
    if (*lx->p == '}') {
      lx->p++;
      return obj;
    }
    if (*lx->p != ',') {
      fail(lx, json_error_invalid_syntax, "'}' expected");
      goto err;
    }
    lx->p++;
  }
err:
  json_decref(obj);
  return NULL;
}

static json_t *parse_array(struct lexer *lx, int depth) {
  json_t *arr = json_array();
  if (!arr) {
    fail(lx, json_error_out_of_memory, "out of memory");
    return NULL;
  }
  lx->p++; /* '[' */
  skip_ws(lx);
  if (lx->p < lx->end && *lx->p == ']') {
    lx->p++;
    return arr;
  }
  for (;;) {
    json_t *v = parse_value(lx, depth + 1);
    if (!v || json_array_append_new(arr, v) < 0) {
      if (v)
        fail(lx, json_error_out_of_memory, "out of memory");
      json_decref(arr);
      return NULL;
    }
    skip_ws(lx);
    if (lx->p >= lx->end) {
      fail(lx, json_error_premature_end_of_input, "premature end of input");
      break;
    }
    if (*lx->p == ']') {
      lx->p++;
      return arr;
    }
    if (*lx->p != ',') {
      fail(lx, json_error_invalid_syntax, "']' expected");
      break;
    }
    lx->p++;
  }
  json_decref(arr);
  return NULL;
}

static json_t *parse_value(struct lexer *lx, int depth) {
  if (depth >= JSON_PARSER_MAX_DEPTH) { /* the top level is jansson's depth 1 */
    fail(lx, json_error_stack_overflow, "maximum parsing depth reached");
    return NULL;
  }
  skip_ws(lx);
  if (lx->p >= lx->end) {
    fail(lx, json_error_premature_end_of_input, "premature end of input");
    return NULL;
  }
  json_t *v = NULL;
  switch (*lx->p) {
  case '{':
    return parse_object(lx, depth);
  case '[':
    return parse_array(lx, depth);
  case '"': {
    lx->p++;
    size_t n;
    const char *s = lex_string(lx, &n);
    if (!s)
      return NULL;
    v = json_stringn_nocheck(s, n);
    break;
  }
  case 't':
    v = literal(lx, "true", 4) ? json_true() : NULL;
    break;
  case 'f':
    v = literal(lx, "false", 5) ? json_false() : NULL;
    break;
  case 'n':
    v = literal(lx, "null", 4) ? json_null() : NULL;
    break;
  default:
    if (*lx->p == '-' || is_digit(*lx->p))
      return lex_number(lx);
  }
  if (!v)
    fail(lx, json_error_invalid_syntax,
         strchr("{}[],:", *lx->p) ? "unexpected token" : "invalid token");
  return v;
}

json_t *hjson_loadb(const char *text, size_t len, int flags, bool *wrapped,
                    json_error_t *err) {
  struct lexer lx = {.p = text, .end = text + len, .start = text,
                     .line_start = text, .line = 1, .flags = flags, .err = err};
  if (err)
    memset(err, 0, sizeof *err);
  json_t *v = NULL;
  skip_ws(&lx);
  if (lx.p >= lx.end)
    fail(&lx, json_error_premature_end_of_input, "'[' or '{' expected");
  else if (*lx.p != '{' && *lx.p != '[')
    fail(&lx, json_error_invalid_syntax, "'[' or '{' expected");
  else
    v = parse_value(&lx, 0);
  if (v) {
    skip_ws(&lx);
    if (lx.p < lx.end) {
      fail(&lx, json_error_end_of_input_expected, "end of file expected");
      json_decref(v);
      v = NULL;
    }
  }
  free(lx.buf);
  if (wrapped)
    *wrapped = lx.wrapped;
  return v;
}

/* ---- dumper ------------------------------------------------------------ */

struct out {
  char *buf;
  size_t len, cap;
  bool failed;
  bool unwrap; /* negative integers as their uint64 literal */
};

static bool out_reserve(struct out *o, size_t more) {
  if (o->failed)
    return false;
  if (o->len + more + 1 <= o->cap)
    return true;
  size_t cap = o->cap ? o->cap : 1024;
  while (cap < o->len + more + 1)
    cap *= 2;
  char *nb = realloc(o->buf, cap);
  if (!nb) {
    o->failed = true;
    return false;
  }
  o->buf = nb;
  o->cap = cap;
  return true;
}

static void out_put(struct out *o, const char *s, size_t n) {
  if (out_reserve(o, n)) {
    memcpy(o->buf + o->len, s, n);
    o->len += n;
  }
}

/* Bytes that need escaping in a JSON string. */
static const unsigned char needs_escape[256] = {
    [0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1,
};

static void dump_string(struct out *o, const char *s, size_t n) {
  /* Reserve for the common case (nothing to escape) once. */
  if (!out_reserve(o, n + 2))
    return;
  o->buf[o->len++] = '"';
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!needs_escape[c])
      continue;
    out_put(o, s + run, i - run);
    run = i + 1;
    char esc[8];
    switch (c) {
    case '"': out_put(o, "\\\"", 2); break;
    case '\\': out_put(o, "\\\\", 2); break;
    case '\n': out_put(o, "\\n", 2); break;
    case '\t': out_put(o, "\\t", 2); break;
    case '\r': out_put(o, "\\r", 2); break;
    case '\b': out_put(o, "\\b", 2); break;
    case '\f': out_put(o, "\\f", 2); break;
    default:
      snprintf(esc, sizeof esc, "\\u%04X", c);
      out_put(o, esc, 6);
    }
  }
  out_put(o, s + run, n - run);
  out_put(o, "\"", 1);
}

static void dump_value(struct out *o, const json_t *v, int depth) {
  char num[64];
  int n;
  if (depth > JSON_PARSER_MAX_DEPTH) {
    o->failed = true;
    return;
  }
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    out_put(o, "{", 1);
    const char *k;
    json_t *x;
    bool first = true;
    json_object_foreach((json_t *)v, k, x) {
      if (!first)
        out_put(o, ",", 1);
      first = false;
      dump_string(o, k, strlen(k));
      out_put(o, ":", 1);
      dump_value(o, x, depth + 1);
    }
    out_put(o, "}", 1);
    break;
  }
  case JSON_ARRAY: {
    out_put(o, "[", 1);
    for (size_t i = 0; i < json_array_size(v); i++) {
      if (i)
        out_put(o, ",", 1);
      dump_value(o, json_array_get(v, i), depth + 1);
    }
    out_put(o, "]", 1);
    break;
  }
  case JSON_STRING:
    dump_string(o, json_string_value(v), json_string_length(v));
    break;
  case JSON_INTEGER:
    if (o->unwrap && json_integer_value(v) < 0)
      n = snprintf(num, sizeof num, "%llu",
                   (unsigned long long)json_integer_value(v));
    else
      n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    out_put(o, num, (size_t)n);
    break;
  case JSON_REAL: {
    /* As jansson writes reals: shortest round-trip, always with a dot or
     * an exponent so it reads back as a real. */
    double d = json_real_value(v);
    n = snprintf(num, sizeof num, "%.17g", d);
    for (int prec = 1; prec < 17; prec++) {
      char t[64];
      int m = snprintf(t, sizeof t, "%.*g", prec, d);
      if (strtod(t, NULL) == d) {
        /* %g turns to an exponent when the precision is below the number
         * of integer digits (100 -> "1e+02"): write those out */
        char ebuf[32];
        snprintf(ebuf, sizeof ebuf, "%.16e", d);
        int x = atoi(strchr(ebuf, 'e') + 1);
        if (x >= prec && x < 16)
          m = snprintf(t, sizeof t, "%.*g", x + 1, d);
        memcpy(num, t, (size_t)m + 1);
        n = m;
        break;
      }
    }
    if (!strpbrk(num, ".eEn")) {
      memcpy(num + n, ".0", 3);
      n += 2;
    }
    out_put(o, num, (size_t)n);
    break;
  }
  case JSON_TRUE:
    out_put(o, "true", 4);
    break;
  case JSON_FALSE:
    out_put(o, "false", 5);
    break;
  case JSON_NULL:
    out_put(o, "null", 4);
    break;
  }
}

static char *dumps(const json_t *v, bool unwrap) {
  struct out o = {.unwrap = unwrap};
  if (!v)
    return NULL;
  dump_value(&o, v, 0);
  if (o.failed || !out_reserve(&o, 0)) {
    free(o.buf);
    return NULL;
  }
  o.buf[o.len] = 0;
  return o.buf;
}

char *hjson_dumps(const json_t *v) { return dumps(v, false); }

char *hjson_dumps_wrapped(const json_t *v) { return dumps(v, true); }

/* ---- arena ------------------------------------------------------------- */

static char *arena_cur, *arena_end;
/* Every chunk, so that a process leaving the arena can tell its values
 * (never freed) from the ones malloc made afterwards. */
static struct { char *start, *end; } *arena_chunks;
static size_t arena_n;

static void *arena_malloc(size_t n) {
  n = (n + 15) & ~(size_t)15;
  if ((size_t)(arena_end - arena_cur) < n) {
    size_t chunk = n > 65536 ? n : 65536;
    char *p = malloc(chunk);
    if (!p)
      return NULL;
    void *grown = realloc(arena_chunks, (arena_n + 1) * sizeof *arena_chunks);
    if (!grown) {
      free(p);
      return NULL;
    }
    arena_chunks = grown;
    arena_chunks[arena_n].start = p;
    arena_chunks[arena_n++].end = p + chunk;
    arena_cur = p;
    arena_end = p + chunk;
  }
  void *r = arena_cur;
  arena_cur += n;
  return r;
}

static void arena_free(void *p) { (void)p; }

static void mixed_free(void *p) {
  for (size_t i = 0; i < arena_n; i++)
    if ((char *)p >= arena_chunks[i].start && (char *)p < arena_chunks[i].end)
      return;
  free(p);
}

void hjson_leave_arena(void) { json_set_alloc_funcs(malloc, mixed_free); }

void hjson_use_arena(void) {
  json_set_alloc_funcs(arena_malloc, arena_free);
  /* jansson seeds its hash function from /dev/urandom (open, read, close)
   * on first use; getrandom is one syscall. */
  uint32_t seed = 0;
  if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == sizeof seed && seed)
    json_object_seed(seed);
}
