/* SPDX-License-Identifier: MIT */
/* Hashing, random bytes and base64 for the broker (OpenSSL stays in
 * auth/crypto.c and runtime/tls.c). */
#ifndef WR_AUTH_INTERNAL_H
#define WR_AUTH_INTERNAL_H

#include "auth.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WR_SHA256_LEN 32
#define WR_SHA512_LEN 64

/* out = SHA-256(a || b) (b may be NULL with blen 0). */
void wr_crypto_sha256(const void *a, size_t alen, const void *b, size_t blen,
                      uint8_t out[WR_SHA256_LEN]);
/* out = SHA-512(a || b). */
void wr_crypto_sha512(const void *a, size_t alen, const void *b, size_t blen,
                      uint8_t out[WR_SHA512_LEN]);
/* Fills out with n cryptographically random bytes. Returns WR_OK or
 * WR_ERR_IO. */
int wr_crypto_random(void *out, size_t n);
/* Constant-time comparison of n bytes. */
bool wr_crypto_equal(const void *a, const void *b, size_t n);
/* Base64 (RFC 4648, with padding). encode writes a NUL-terminated string
 * into out (cap >= 4 * ((n + 2) / 3) + 1) and returns its length,
 * WR_ERR_NOSPACE when cap is too small or WR_ERR_INVALID when n is over
 * 1 MiB. decode returns the number of bytes written to out,
 * WR_ERR_INVALID on bad input or WR_ERR_NOSPACE when cap is too small. */
int wr_base64_encode(const void *in, size_t n, char *out, size_t cap);
int wr_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap);

#endif
