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

/* byte-level string of bytes s: each byte as its code point, UTF-8 */
static void fuzz_bytelevel(const char *s, char *out)
{
	for (; *s; s++) {
		uint32_t c = ifg_bpe_byte_char((uint8_t)*s);
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
	char key[64], l[32], r[32], both[64];
	for (int b = 0; b < 256; b++) {
		char s[2] = { (char)b, 0 };
		if (b == 0) { /* NUL: its code point (Ā) by hand */
			json_object_set_new(vocab, "\xc4\x80", json_integer(0));
			continue;
		}
		fuzz_bytelevel(s, key);
		json_object_set_new(vocab, key, json_integer(b));
	}
	FILE *mf = tmpfile();
	fputs("#version: 0.2\n", mf);
	int id = 256;
	for (size_t i = 0; i < sizeof merges / sizeof merges[0]; i++) {
		fuzz_bytelevel(merges[i][0], l);
		fuzz_bytelevel(merges[i][1], r);
		snprintf(both, sizeof both, "%s%s", l, r);
		json_object_set_new(vocab, both, json_integer(id++));
		fprintf(mf, "%s %s\n", l, r);
	}
	json_object_set_new(vocab, "<|endoftext|>", json_integer(id));
	char vpath[] = "/tmp/ifg-fuzz-vocab-XXXXXX", mpath[] = "/tmp/ifg-fuzz-merges-XXXXXX";
	int vfd = mkstemp(vpath), mfd = mkstemp(mpath);
	if (vfd < 0 || mfd < 0)
		abort();
	char *vj = json_dumps(vocab, 0);
	FILE *vf = fdopen(vfd, "w"), *mo = fdopen(mfd, "w");
	fputs(vj, vf);
	fclose(vf);
	rewind(mf);
	int c;
	while ((c = fgetc(mf)) != EOF)
		fputc(c, mo);
	fclose(mo);
	fclose(mf);
	free(vj);
	json_decref(vocab);
	t = ifg_bpe_load_gpt2(vpath, mpath);
	unlink(vpath);
	unlink(mpath);
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
