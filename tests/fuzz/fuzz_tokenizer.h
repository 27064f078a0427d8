/* fuzz_tokenizer.h: one fuzz input through the tokenizer loaders (bpe.h)
 * and, when one loads, an encode and decode of a fixed text with every
 * special-token mode.  An input with a NUL byte is GPT-2's pair of files
 * (vocab.json before the first NUL, merges.txt after it); one without is a
 * Hugging Face tokenizer.json.  Shared by fuzz_tokenizer.c and the
 * regression suite. */
#ifndef IFG_FUZZ_TOKENIZER_H
#define IFG_FUZZ_TOKENIZER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_memfd.h"

#include "bpe.h"

static void fuzz_tokenizer_use(struct ifg_bpe *t)
{
	static const char text[] = "Hello, world! <|endoftext|> caf\xc3\xa9 \xff\xfe  12345\n\tab";
	for (int special = 0; special < 2; special++) {
		struct ifg_ids ids = { 0 };
		if (ifg_bpe_encode(t, text, sizeof text - 1, special, &ids) == 0) {
			struct ifg_bytes out = { 0 };
			ifg_bpe_decode(t, ids.v, ids.n, special == 0, &out);
			ifg_bytes_release(&out);
		}
		ifg_ids_release(&ids);
	}
	uint32_t V = ifg_bpe_vocab_size(t);
	for (uint32_t id = 0; id < V && id < 4096; id++) {
		size_t len;
		ifg_bpe_token(t, id, &len);
		ifg_bpe_is_special(t, id);
	}
	ifg_bpe_eot(t);
}

static int fuzz_tokenizer_one(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	struct ifg_bpe *t = NULL;
	char p1[64], p2[64];
	int fd1 = -1, fd2 = -1;
	if (nul) {
		size_t n1 = (size_t)(nul - data);
		fd1 = fuzz_memfd(data, n1, p1);
		fd2 = fuzz_memfd(nul + 1, size - n1 - 1, p2);
		if (fd1 >= 0 && fd2 >= 0)
			t = ifg_bpe_load_gpt2(p1, p2);
	} else if ((fd1 = fuzz_memfd(data, size, p1)) >= 0) {
		t = ifg_bpe_load(p1);
	}
	if (t) {
		fuzz_tokenizer_use(t);
		ifg_bpe_free(t);
	}
	if (fd1 >= 0)
		close(fd1);
	if (fd2 >= 0)
		close(fd2);
	return 0;
}

#endif
