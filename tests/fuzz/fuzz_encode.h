/* fuzz_encode.h: one fuzz input as text through the BPE encoder of a small
 * GPT-2-style tokenizer (every byte a token, a few merges, <|endoftext|>),
 * checking what bpe.h promises: decode(encode(x)) == x for every byte
 * string, with special tokens off and on.  The first byte picks the mode;
 * the rest is the text.  Shared by fuzz_encode.c and the regression suite
 * (a broken promise aborts). */
#ifndef IFG_FUZZ_ENCODE_H
#define IFG_FUZZ_ENCODE_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_memfd.h"

#include "bpe.h"

/* byte-level string of bytes s[0..n): each byte as its code point, UTF-8 */
static void fuzz_bytelevel(const char *s, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t c = ifg_bpe_byte_char((uint8_t)s[i]);
		if (c < 0x80) {
			*out++ = (char)c;
		} else {
			*out++ = (char)(0xc0 | (c >> 6));
			*out++ = (char)(0x80 | (c & 0x3f));
		}
	}
	*out = 0;
}

static struct ifg_bpe *fuzz_encode_tokenizer(void)
{
	static struct ifg_bpe *t;
	if (t)
		return t;
	/* merges, in rank order, over byte strings; each result a token */
	static const char *const merges[][2] = {
		{ " ", "t" }, { "h", "e" }, { " t", "he" }, { "a", "a" }, { "aa", "aa" },
		{ "\xc3", "\xa9" }, { "\n", "\n" }, { " ", " " }, { "1", "2" },
	};
	json_t *vocab = json_object();
	char key[8], l[32], r[32], both[64];
	for (int b = 0; b < 256; b++) {
		char c = (char)b;
		fuzz_bytelevel(&c, 1, key);
		json_object_set_new(vocab, key, json_integer(b));
	}
	char *mtext = NULL;
	size_t mlen = 0;
	FILE *mf = open_memstream(&mtext, &mlen);
	fputs("#version: 0.2\n", mf);
	int id = 256;
	for (size_t i = 0; i < sizeof merges / sizeof merges[0]; i++) {
		fuzz_bytelevel(merges[i][0], strlen(merges[i][0]), l);
		fuzz_bytelevel(merges[i][1], strlen(merges[i][1]), r);
		snprintf(both, sizeof both, "%s%s", l, r);
		json_object_set_new(vocab, both, json_integer(id++));
		fprintf(mf, "%s %s\n", l, r);
	}
	fclose(mf);
	json_object_set_new(vocab, "<|endoftext|>", json_integer(id));
	char *vtext = json_dumps(vocab, 0);
	char vpath[64], mpath[64];
	int vfd = fuzz_memfd((const uint8_t *)vtext, strlen(vtext), vpath);
	int mfd = fuzz_memfd((const uint8_t *)mtext, mlen, mpath);
	if (vfd < 0 || mfd < 0)
		abort();
	t = ifg_bpe_load_gpt2(vpath, mpath);
	close(vfd);
	close(mfd);
	free(vtext);
	free(mtext);
	json_decref(vocab);
	if (!t) {
		fprintf(stderr, "fuzz_encode: %s\n", ifg_err());
		abort();
	}
	return t;
}

static int fuzz_encode_one(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct ifg_bpe *t = fuzz_encode_tokenizer();
	int special = data[0] & 1 ? IFG_BPE_SPECIAL_ON : IFG_BPE_SPECIAL_OFF;
	const uint8_t *text = data + 1;
	size_t n = size - 1;
	struct ifg_ids ids = { 0 };
	if (ifg_bpe_encode(t, text, n, special, &ids) < 0) {
		fprintf(stderr, "fuzz_encode: encode failed: %s\n", ifg_err());
		abort();
	}
	struct ifg_bytes out = { 0 };
	if (ifg_bpe_decode(t, ids.v, ids.n, false, &out) < 0 || out.n != n ||
	    (n && memcmp(out.p, text, n))) {
		fprintf(stderr, "fuzz_encode: decode(encode(x)) != x (%zu bytes, %zu ids)\n", n,
			ids.n);
		abort();
	}
	ifg_bytes_release(&out);
	ifg_ids_release(&ids);
	return 0;
}

#endif
