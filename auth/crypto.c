/* SPDX-License-Identifier: MIT */
/* SHA-256 / SHA-512, random bytes, constant-time compare and base64 through
 * OpenSSL: the password hashes RabbitMQ stores (rabbit_password_hashing_*). */
#include "auth_internal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static void
digest(const EVP_MD *md, const void *a, size_t alen, const void *b, size_t blen,
       uint8_t *out)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;

    if (ctx == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
        EVP_DigestUpdate(ctx, a, alen) != 1 ||
        (blen && EVP_DigestUpdate(ctx, b, blen) != 1) ||
        EVP_DigestFinal_ex(ctx, out, &n) != 1) {
        /* Only out of memory gets here: the broker cannot go on. */
        EVP_MD_CTX_free(ctx);
        abort();
    }
    EVP_MD_CTX_free(ctx);
}

void
wr_crypto_sha256(const void *a, size_t alen, const void *b, size_t blen,
                 uint8_t out[WR_SHA256_LEN])
{
    digest(EVP_sha256(), a, alen, b, blen, out);
}

void
wr_crypto_sha512(const void *a, size_t alen, const void *b, size_t blen,
                 uint8_t out[WR_SHA512_LEN])
{
    digest(EVP_sha512(), a, alen, b, blen, out);
}

int
wr_crypto_random(void *out, size_t n)
{
    if (n == 0)
        return WR_OK;
    return RAND_bytes(out, (int)n) == 1 ? WR_OK : WR_ERR_IO;
}

bool
wr_crypto_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

int
wr_base64_encode(const void *in, size_t n, char *out, size_t cap)
{
    if (n > 1u << 20)
        return WR_ERR_INVALID;
    if (cap < 4 * ((n + 2) / 3) + 1)
        return WR_ERR_NOSPACE;
    return EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

int
wr_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
    uint8_t tmp[1024];
    int len, pad = 0;

    if (n == 0)
        return 0;
    if (n % 4 || n / 4 * 3 > sizeof(tmp))
        return WR_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  (c >= '0' && c <= '9') || c == '+' || c == '/' ||
                  (c == '=' && i >= n - 2);
        if (!ok)
            return WR_ERR_INVALID;
    }
    len = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)n);
    if (len < 0)
        return WR_ERR_INVALID;
    /* EVP_DecodeBlock counts padding as zero bytes. */
    pad = (in[n - 1] == '=') + (in[n - 2] == '=');
    len -= pad;
    if ((size_t)len > cap)
        return WR_ERR_NOSPACE;
    memcpy(out, tmp, (size_t)len);
    return len;
}
