/* sha256.h: SHA-256 (FIPS 180-4), for tokenizer and model identities. */
#ifndef IFG_SHA256_H
#define IFG_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct ifg_sha256 {
	uint32_t h[8];
	uint64_t len;		/* bytes hashed so far */
	uint8_t buf[64];
	size_t nbuf;
};

void ifg_sha256_init(struct ifg_sha256 *c);
void ifg_sha256_update(struct ifg_sha256 *c, const void *data, size_t n);
/* Writes 64 lowercase hex digits and a NUL. */
void ifg_sha256_final(struct ifg_sha256 *c, char hex[65]);
/* Hash of a whole file; -1 with a message on error. */
int ifg_sha256_file(const char *path, char hex[65]);

#endif
