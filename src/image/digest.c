/* sha256 digests ("sha256:<hex>") with OpenSSL's EVP interface. */
#include <string.h>

#include "store_priv.h"

int digester_init(struct digester *d) {
  d->ctx = EVP_MD_CTX_new();
  if (!d->ctx || EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(d->ctx);
    d->ctx = NULL;
    return -ENOMEM;
  }
  return 0;
}

void digester_update(struct digester *d, const void *buf, size_t len) {
  if (len)
    EVP_DigestUpdate(d->ctx, buf, len);
}

void digester_final(struct digester *d, char out[HULL_DIGEST_MAX]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(d->ctx, md, &n);
  static const char hex[] = "0123456789abcdef";
  memcpy(out, "sha256:", 7);
  for (unsigned i = 0; i < n && i < 32; i++) {
    out[7 + 2 * i] = hex[md[i] >> 4];
    out[8 + 2 * i] = hex[md[i] & 15];
  }
  out[71] = 0;
  digester_free(d);
}

void digester_free(struct digester *d) {
  EVP_MD_CTX_free(d->ctx);
  d->ctx = NULL;
}

void digest_buf(const void *buf, size_t len, char out[HULL_DIGEST_MAX]) {
  struct digester d;
  if (digester_init(&d) < 0) {
    out[0] = 0;
    return;
  }
  digester_update(&d, buf, len);
  digester_final(&d, out);
}

bool digest_valid(const char *d) {
  if (!d || strncmp(d, "sha256:", 7))
    return false;
  size_t i;
  for (i = 7; d[i]; i++)
    if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
      return false;
  return i == 71;
}
