/* check_bpe.c: BPE loading, merging order (against a naive GPT-2 encoder.py
 * transcription), round trips on adversarial input, identity, and the
 * trainer's merges against a naive transcription of BPE learning. */
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpe.h"
#include "bpe_train.h"
#include "pretok.h"
#include "rec.h"
#include "testutil.h"
#include "util.h"

/* ---- a synthetic vocabulary over {a, b, c} with random merges ---- */

#define NTOK 400
static char vtok[NTOK][16];	/* token strings (ASCII: byte-level = itself) */
static int nvtok;
static int mleft[NTOK], mright[NTOK], nmerge;	/* merge i makes token 256+... */

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return rng;
}

static int find_tok(const char *s)
{
	for (int i = 0; i < nvtok; i++)
		if (!strcmp(vtok[i], s))
			return i;
	return -1;
}

/* Writes vocab.json (all 256 bytes first) and merges.txt into dir. */
static void make_vocab(const char *dir)
{
	nvtok = 0;
	nmerge = 0;
	for (const char *t = "abc"; *t; t++)
		snprintf(vtok[nvtok++], sizeof vtok[0], "%c", *t);
	while (nmerge < 120) {
		int x = (int)(next_rand() % nvtok), y = (int)(next_rand() % nvtok);
		char s[32];
		snprintf(s, sizeof s, "%s%s", vtok[x], vtok[y]);
		if (strlen(s) > 8 || find_tok(s) >= 0)
			continue;
		snprintf(vtok[nvtok++], sizeof vtok[0], "%s", s);
		mleft[nmerge] = x, mright[nmerge] = y, nmerge++;
	}
	char path[512];
	snprintf(path, sizeof path, "%s/vocab.json", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	/* ids: the 256 byte characters first, then merged tokens */
	fputc('{', f);
	int id = 0;
	for (int b = 0; b < 256; b++) {
		uint32_t c = ifg_bpe_byte_char((uint8_t)b);
		if (b == 'a' || b == 'b' || b == 'c')
			continue;
		fprintf(f, "%s\"", id ? ", " : "");
		if (c == '"' || c == '\\')
			fputc('\\', f);
		if (c < 0x80)
			fputc((int)c, f);
		else
			fputc((int)(0xc0 | (c >> 6)), f), fputc((int)(0x80 | (c & 0x3f)), f);
		fprintf(f, "\": %d", id++);
	}
	for (int i = 0; i < nvtok; i++)
		fprintf(f, ", \"%s\": %d", vtok[i], id++);
	fputs("}\n", f);
	fclose(f);
	snprintf(path, sizeof path, "%s/merges.txt", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("#version: 0.2\n", f);
	for (int i = 0; i < nmerge; i++)
		fprintf(f, "%s %s\n", vtok[mleft[i]], vtok[mright[i]]);
	fclose(f);
}

/* GPT-2's encoder.py bpe(): merge every occurrence of the lowest-ranked
 * pair, left to right, until no pair has a rank.  Returns token indices. */
static int naive_bpe(const char *w, int *out)
{
	int m = (int)strlen(w);
	for (int i = 0; i < m; i++) {
		char s[2] = { w[i], 0 };
		out[i] = find_tok(s);
	}
	for (;;) {
		int best = -1;
		for (int i = 0; i + 1 < m; i++)
			for (int r = 0; r < nmerge; r++)
				if (mleft[r] == out[i] && mright[r] == out[i + 1]) {
					if (best < 0 || r < best)
						best = r;
					break;
				}
		if (best < 0)
			return m;
		int k = 0;
		for (int i = 0; i < m; i++) {
			if (i + 1 < m && out[i] == mleft[best] && out[i + 1] == mright[best]) {
				char s[32];
				snprintf(s, sizeof s, "%s%s", vtok[out[i]], vtok[out[i + 1]]);
				out[k++] = find_tok(s);
				i++;
			} else {
				out[k++] = out[i];
			}
		}
		m = k;
	}
}

START_TEST(test_merge_order_vs_naive)
{
	char *dir = ifg_test_tmpdir();
	make_vocab(dir);
	struct ifg_bpe *t = ifg_bpe_load(dir);
	ck_assert_msg(t != NULL, "%s", ifg_err());
	ck_assert_uint_eq(ifg_bpe_vocab_size(t), 253 + nvtok);
	ck_assert_int_eq(ifg_bpe_eot(t), -1);
	static char w[800];
	static int want[800];
	struct ifg_ids got = { 0 };
	for (int round = 0; round < 300; round++) {
		/* lengths on both sides of the small/heap switch (128 bytes) */
		int n = 1 + (int)(next_rand() % (round % 3 ? 200 : 700));
		for (int i = 0; i < n; i++)
			w[i] = "abc"[next_rand() % (round % 2 ? 3 : 2)];
		w[n] = 0;
		int m = naive_bpe(w, want);
		got.n = 0;
		ck_assert_int_eq(ifg_bpe_encode_word(t, (const uint8_t *)w, (size_t)n, &got), 0);
		ck_assert_uint_eq(got.n, (size_t)m);
		for (int i = 0; i < m; i++) {
			size_t len;
			const uint8_t *tb = ifg_bpe_token(t, got.v[i], &len);
			ck_assert_ptr_nonnull(tb);
			ck_assert_uint_eq(len, strlen(vtok[want[i]]));
			ck_assert(!memcmp(tb, vtok[want[i]], len));
		}
		/* whole-text encoding goes through the cache: same again */
		got.n = 0;
		ck_assert_int_eq(ifg_bpe_encode(t, w, (size_t)n, -1, &got), 0);
		ck_assert_uint_eq(got.n, (size_t)m);
	}
	ifg_ids_release(&got);
	ifg_bpe_free(t);
	char p[512];
	snprintf(p, sizeof p, "%s/vocab.json", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/merges.txt", dir);
	unlink(p);
	rmdir(dir);
	free(dir);
}
END_TEST

START_TEST(test_load_errors)
{
	char *dir = ifg_test_tmpdir();
	char v[512], m[512];
	snprintf(v, sizeof v, "%s/vocab.json", dir);
	snprintf(m, sizeof m, "%s/merges.txt", dir);
	FILE *f = fopen(v, "w");
	fputs("{\"a\": 0, \"b\": 1, \"ab\": 2}", f);
	fclose(f);
	f = fopen(m, "w");
	fputs("#version: 0.2\na b\na c\n", f);
	fclose(f);
	ck_assert_ptr_null(ifg_bpe_load_gpt2(v, m));
	ck_assert_msg(strstr(ifg_err(), "line 3") != NULL, "%s", ifg_err());
	f = fopen(v, "w");
	fputs("{\"a\": 0, \"b\": 0}", f);
	fclose(f);
	ck_assert_ptr_null(ifg_bpe_load_gpt2(v, m));
	ck_assert_msg(strstr(ifg_err(), "two tokens") != NULL, "%s", ifg_err());
	f = fopen(v, "w");
	fputs("{\"a\": 0,", f);
	fclose(f);
	ck_assert_ptr_null(ifg_bpe_load_gpt2(v, m));
	ck_assert_ptr_null(ifg_bpe_load(dir) ? (void *)1 : NULL);	/* same files */
	ck_assert_ptr_null(ifg_bpe_load("/nonexistent/tokenizer.json"));
	/* an id past 2^24 would size the token table in gigabytes: refused */
	f = fopen(v, "w");
	fputs("{\"a\": 0, \"b\": 16777216}", f);
	fclose(f);
	ck_assert_ptr_null(ifg_bpe_load_gpt2(v, m));
	ck_assert_msg(strstr(ifg_err(), "token 'b' has no valid id (0 to 16777215)") != NULL, "%s",
		      ifg_err());
	/* a vocabulary without the bytes of U+FFFD: a byte without a token is
	 * an error (it once stood in U+FFFD, whose bytes then stood in U+FFFD
	 * again, without end: make fuzz); text of known bytes still encodes */
	f = fopen(v, "w");
	fputs("{\"a\": 0, \"b\": 1, \"ab\": 2}", f);
	fclose(f);
	f = fopen(m, "w");
	fputs("#version: 0.2\na b\n", f);
	fclose(f);
	struct ifg_bpe *t = ifg_bpe_load_gpt2(v, m);
	ck_assert_msg(t != NULL, "%s", ifg_err());
	struct ifg_ids ids = { 0 };
	ck_assert_int_eq(ifg_bpe_encode(t, "abba", 4, 0, &ids), 0);
	ck_assert_uint_eq(ids.n, 3);
	ck_assert_int_eq(ifg_bpe_encode(t, "abxa", 4, 0, &ids), -1);
	ck_assert_msg(strstr(ifg_err(), "byte 0x78 at offset 2 has no token") &&
			      strstr(ifg_err(), "U+FFFD"), "%s", ifg_err());
	ifg_ids_release(&ids);
	ifg_bpe_free(t);
	unlink(v);
	unlink(m);
	rmdir(dir);
	free(dir);
}
END_TEST

/* ---- the real tokenizers, when present ---- */

/* The path of a real tokenizer ("gpt2" or "neox") in p; 0 if it exists. */
static int real_path(const char *which, char *p, size_t n)
{
	const char *data = getenv("IFG_DATA") ? getenv("IFG_DATA") : "data";
	const char *shared = getenv("IFG_SHARED") ? getenv("IFG_SHARED") : "../shared";
	if (!strcmp(which, "gpt2"))
		snprintf(p, n, "%s/gpt2", data);
	else
		snprintf(p, n, "%s/neox/tokenizer.json", data);
	struct stat st;
	if (strcmp(which, "gpt2") && stat(p, &st) < 0)	/* an older layout */
		snprintf(p, n, "%s/tokenizers/gpt-neox-20b-tokenizer.json", shared);
	return stat(p, &st);
}

/* Only called by tests that make_suite added because the data are there. */
static struct ifg_bpe *load_real(const char *which)
{
	char p[1024];
	ck_assert_msg(real_path(which, p, sizeof p) == 0, "%s vanished", p);
	struct ifg_bpe *t = ifg_bpe_load(p);
	ck_assert_msg(t != NULL, "%s", ifg_err());
	return t;
}

/* decode(encode(s)) is s, where bytes without a token read as U+FFFD. */
static void roundtrip(struct ifg_bpe *t, const char *s, size_t n, int special)
{
	struct ifg_ids ids = { 0 };
	struct ifg_bytes out = { 0 }, want = { 0 };
	for (size_t i = 0; i < n; i++) {
		size_t len;
		uint8_t b = (uint8_t)s[i];
		int64_t id = ifg_bpe_lookup(t, &b, 1);
		if (id >= 0 && ifg_bpe_token(t, (uint32_t)id, &len))
			ifg_bytes_append(&want, &b, 1);
		else
			ifg_bytes_append(&want, "\xef\xbf\xbd", 3);
	}
	ck_assert_int_eq(ifg_bpe_encode(t, s, n, special, &ids), 0);
	ck_assert_int_eq(ifg_bpe_decode(t, ids.v, ids.n, false, &out), 0);
	ck_assert_uint_eq(out.n, want.n);
	ck_assert(n == 0 || !memcmp(out.p, want.p, want.n));
	ifg_ids_release(&ids);
	ifg_bytes_release(&out);
	ifg_bytes_release(&want);
}

static const char *const adversarial[] = {
	"plain text, with punctuation; and   spaces\n\n",
	"\xff\xfe\xfd invalid \x80\x81 bytes \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82",
	"controls \x01\x02\x03\x1b[0m\x7f\x1c\x1d\t\r\n\v\f",
	"an <|endoftext|> inside, and <|endoftext| half, <|endoftext|><|endoftext|>",
	"emoji \xf0\x9f\x98\x80\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa9 \xe2\x80\x8b zwsp",
	"nul \0 byte",
};

START_TEST(test_roundtrip_gpt2)
{
	struct ifg_bpe *t = load_real("gpt2");
	ck_assert_str_eq(ifg_bpe_name(t), "gpt2");
	ck_assert_uint_eq(ifg_bpe_vocab_size(t), 50257);
	ck_assert_int_eq(ifg_bpe_eot(t), 50256);
	for (int b = 0; b < 256; b++) {
		uint8_t c = (uint8_t)b;
		ck_assert_int_ge(ifg_bpe_lookup(t, &c, 1), 0);	/* all 256 bytes */
	}
	for (size_t i = 0; i < sizeof adversarial / sizeof *adversarial; i++) {
		size_t n = strlen(adversarial[i]) + (strstr(adversarial[i], "nul") ? 6 : 0);
		roundtrip(t, adversarial[i], n, IFG_BPE_SPECIAL_OFF);
		roundtrip(t, adversarial[i], n, IFG_BPE_SPECIAL_ON);
	}
	/* A 1 MB word (the heap path), and 1 MB of random bytes. */
	size_t n = 1 << 20;
	char *big = malloc(n);
	for (size_t i = 0; i < n; i++)
		big[i] = "abcdefghij"[(i * 7 + i / 3) % 10];
	roundtrip(t, big, n, -1);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)next_rand();
	roundtrip(t, big, n, -1);
	free(big);
	/* Known ids (tiktoken gpt2): "Hello world" and the special token. */
	struct ifg_ids ids = { 0 };
	ck_assert_int_eq(ifg_bpe_encode(t, "Hello world", 11, -1, &ids), 0);
	ck_assert_uint_eq(ids.n, 2);
	ck_assert_uint_eq(ids.v[0], 15496);
	ck_assert_uint_eq(ids.v[1], 995);
	ids.n = 0;
	ck_assert_int_eq(ifg_bpe_encode(t, "<|endoftext|>", 13, IFG_BPE_SPECIAL_ON, &ids), 0);
	ck_assert_uint_eq(ids.n, 1);
	ck_assert_uint_eq(ids.v[0], 50256);
	ids.n = 0;
	ck_assert_int_eq(ifg_bpe_encode(t, "<|endoftext|>", 13, -1, &ids), 0);
	ck_assert_uint_gt(ids.n, 1);	/* GPT-2 files: text by default */
	struct ifg_bytes out = { 0 };
	uint32_t eot = 50256;
	ck_assert_int_eq(ifg_bpe_decode(t, &eot, 1, true, &out), 0);
	ck_assert_uint_eq(out.n, 0);
	uint32_t bad = 50257;
	ck_assert_int_eq(ifg_bpe_decode(t, &bad, 1, false, &out), -1);
	ifg_bytes_release(&out);
	ifg_ids_release(&ids);
	ifg_bpe_free(t);
}
END_TEST

START_TEST(test_roundtrip_neox)
{
	struct ifg_bpe *t = load_real("neox");
	ck_assert_str_eq(ifg_bpe_name(t), "gpt-neox-20b");
	ck_assert_uint_eq(ifg_bpe_vocab_size(t), 50281);	/* 50277 + 4 chat tokens */
	ck_assert_int_eq(ifg_bpe_eot(t), 0);
	for (size_t i = 0; i < sizeof adversarial / sizeof *adversarial; i++)
		roundtrip(t, adversarial[i], strlen(adversarial[i]), -1);
	/* bytes that never occur in UTF-8 have no token: U+FFFD stands in */
	uint8_t ff = 0xff;
	ck_assert_int_eq(ifg_bpe_lookup(t, &ff, 1), -1);
	/* Runs of spaces are added tokens; <|endoftext|> is special (on). */
	struct ifg_ids ids = { 0 };
	ck_assert_int_eq(ifg_bpe_encode(t, "a  <|endoftext|>", 16, -1, &ids), 0);
	ck_assert_uint_eq(ids.n, 3);
	ck_assert_uint_eq(ids.v[1], 50276);
	ck_assert_uint_eq(ids.v[2], 0);
	/* NFC: decode(encode(x)) is NFC(x). */
	struct ifg_bytes out = { 0 };
	ids.n = 0;
	ck_assert_int_eq(ifg_bpe_encode(t, "cafe\xcc\x81", 6, -1, &ids), 0);
	ck_assert_int_eq(ifg_bpe_decode(t, ids.v, ids.n, false, &out), 0);
	ck_assert_uint_eq(out.n, 5);
	ck_assert(!memcmp(out.p, "caf\xc3\xa9", 5));
	ifg_bytes_release(&out);
	ifg_ids_release(&ids);
	ifg_bpe_free(t);
}
END_TEST

/* ---- the trainer against a naive transcription of BPE learning ---- */

#define TR_MAXTOK 420	/* vocabulary asked for */
#define TR_MAXW 2048	/* distinct words */
static uint8_t trtok[TR_MAXTOK][64];	/* naive tokens' bytes */
static size_t trlen[TR_MAXTOK];
static int trword[TR_MAXW][64], trwlen[TR_MAXW];
static int64_t trcount[TR_MAXW], trpair[TR_MAXTOK][TR_MAXTOK];

/* Bytes of a token as GPT-2's characters in UTF-8, as merges.txt has them. */
static size_t show_token(const uint8_t *b, size_t n, char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = ifg_bpe_byte_char(b[i]);
		if (c < 0x80)
			out[k++] = (char)c;
		else
			out[k++] = (char)(0xc0 | (c >> 6)), out[k++] = (char)(0x80 | (c & 0x3f));
	}
	out[k] = 0;
	return k;
}

static int same_word(int w, const uint8_t *s, size_t n)
{
	if (trwlen[w] != (int)n)
		return 0;
	for (size_t k = 0; k < n; k++)
		if (trword[w][k] != s[k])
			return 0;
	return 1;
}

START_TEST(test_trainer_vs_naive)
{
	/* Words over {a, b} (runs like "aaaa" overlap their own pairs), with
	 * and without a leading space, and a few digits and punctuation. */
	struct ifg_bytes text = { 0 };
	for (int i = 0; i < 6000; i++) {
		int n = 1 + (int)(next_rand() % 7);
		char w[16];
		int k = 0;
		if (next_rand() % 4)
			w[k++] = ' ';
		for (int j = 0; j < n; j++)
			w[k++] = "aab"[next_rand() % 3];
		if (next_rand() % 10 == 0)
			w[k++] = ' ', w[k++] = "1.!"[next_rand() % 3];
		ifg_bytes_append(&text, w, (size_t)k);
	}
	struct ifg_bpe_trainer *tr = ifg_bpe_trainer_new();
	size_t half = 0;	/* two documents, cut between pieces */
	while (half < text.n / 2)
		half = ifg_pretok_next(text.p, text.n, half);
	ifg_bpe_trainer_add(tr, text.p, half);
	ifg_bpe_trainer_add(tr, text.p + half, text.n - half);
	int64_t got = ifg_bpe_trainer_learn(tr, TR_MAXTOK);
	ck_assert_int_gt(got, 257);
	char *dir = ifg_test_tmpdir();
	char vp[512], mp[512];
	snprintf(vp, sizeof vp, "%s/vocab.json", dir);
	snprintf(mp, sizeof mp, "%s/merges.txt", dir);
	ck_assert_int_eq(ifg_bpe_trainer_write(tr, vp, mp), 0);

	/* Naive: the pieces and their counts, the 256 bytes in GPT-2's order
	 * (by the character that shows them), then merge after merge the most
	 * frequent pair, ties to the smaller (left id, right id). */
	int nw = 0, ntok = 256;
	for (size_t i = 0; i < text.n;) {
		size_t e = ifg_pretok_next(text.p, text.n, i);
		ck_assert_uint_le(e - i, 64);
		int w = 0;
		while (w < nw && !same_word(w, text.p + i, e - i))
			w++;
		if (w == nw) {
			ck_assert_int_lt(nw, TR_MAXW);
			trwlen[nw] = (int)(e - i);
			for (size_t k = 0; k < e - i; k++)
				trword[nw][k] = text.p[i + k];	/* bytes for now */
			trcount[nw++] = 0;
		}
		trcount[w]++;
		i = e;
	}
	ck_assert_uint_eq(ifg_bpe_trainer_distinct(tr), (uint64_t)nw);
	int byte_id[256];
	for (int b = 0; b < 256; b++) {
		byte_id[b] = 0;
		for (int c = 0; c < 256; c++)
			byte_id[b] += ifg_bpe_byte_char((uint8_t)c) < ifg_bpe_byte_char((uint8_t)b);
		trtok[byte_id[b]][0] = (uint8_t)b;
		trlen[byte_id[b]] = 1;
	}
	for (int w = 0; w < nw; w++)
		for (int k = 0; k < trwlen[w]; k++)
			trword[w][k] = byte_id[trword[w][k]];
	FILE *mf = fopen(mp, "r");
	ck_assert_ptr_nonnull(mf);
	char line[512], want[512];
	ck_assert_ptr_nonnull(fgets(line, sizeof line, mf));
	ck_assert_str_eq(line, "#version: 0.2\n");
	int nmerge = 0;
	while (ntok + 1 < TR_MAXTOK) {
		memset(trpair, 0, sizeof trpair);
		for (int w = 0; w < nw; w++)
			for (int k = 0; k + 1 < trwlen[w]; k++)
				trpair[trword[w][k]][trword[w][k + 1]] += trcount[w];
		int ba = -1, bb = -1;
		for (int a = 0; a < ntok; a++)
			for (int b = 0; b < ntok; b++)
				if (trpair[a][b] > 0 && (ba < 0 || trpair[a][b] > trpair[ba][bb]))
					ba = a, bb = b;
		if (ba < 0)
			break;
		uint8_t nb[64];
		size_t nl = trlen[ba] + trlen[bb];
		ck_assert_uint_le(nl, 64);
		memcpy(nb, trtok[ba], trlen[ba]);
		memcpy(nb + trlen[ba], trtok[bb], trlen[bb]);
		int z = 0;
		while (z < ntok && !(trlen[z] == nl && !memcmp(trtok[z], nb, nl)))
			z++;
		if (z == ntok) {
			memcpy(trtok[z], nb, nl);
			trlen[ntok++] = nl;
		}
		/* merges.txt has this merge next */
		size_t k = show_token(trtok[ba], trlen[ba], want);
		want[k++] = ' ';
		k += show_token(trtok[bb], trlen[bb], want + k);
		want[k++] = '\n';
		want[k] = 0;
		ck_assert_ptr_nonnull(fgets(line, sizeof line, mf));
		ck_assert_msg(!strcmp(line, want), "merge %d: trainer '%s', naive '%s'", nmerge,
			      line, want);
		nmerge++;
		for (int w = 0; w < nw; w++) {
			int m = 0;
			for (int i = 0; i < trwlen[w]; i++) {
				if (i + 1 < trwlen[w] && trword[w][i] == ba && trword[w][i + 1] == bb)
					trword[w][m++] = z, i++;
				else
					trword[w][m++] = trword[w][i];
			}
			trwlen[w] = m;
		}
	}
	ck_assert_ptr_null(fgets(line, sizeof line, mf));
	fclose(mf);
	ck_assert_int_gt(nmerge, 100);
	ck_assert_int_eq(got, ntok + 1);

	/* Loads back: the size, <|endoftext|> last, each training word
	 * encodes to its final training segmentation, the text round-trips. */
	struct ifg_bpe *t = ifg_bpe_load(dir);
	ck_assert_msg(t != NULL, "%s", ifg_err());
	ck_assert_uint_eq(ifg_bpe_vocab_size(t), (uint32_t)got);
	ck_assert_int_eq(ifg_bpe_eot(t), got - 1);
	struct ifg_ids ids = { 0 };
	for (int w = 0; w < nw; w++) {
		uint8_t wb[64];
		size_t wl = 0;
		for (int i = 0; i < trwlen[w]; i++) {
			memcpy(wb + wl, trtok[trword[w][i]], trlen[trword[w][i]]);
			wl += trlen[trword[w][i]];
		}
		ids.n = 0;
		ck_assert_int_eq(ifg_bpe_encode_word(t, wb, wl, &ids), 0);
		ck_assert_uint_eq(ids.n, (size_t)trwlen[w]);
		for (int i = 0; i < trwlen[w]; i++) {
			size_t len;
			const uint8_t *tb = ifg_bpe_token(t, ids.v[i], &len);
			ck_assert_uint_eq(len, trlen[trword[w][i]]);
			ck_assert(!memcmp(tb, trtok[trword[w][i]], len));
		}
	}
	ifg_ids_release(&ids);
	roundtrip(t, (const char *)text.p, text.n, -1);
	ifg_bpe_free(t);
	ifg_bpe_trainer_free(tr);
	ifg_bytes_release(&text);
	unlink(vp);
	unlink(mp);
	rmdir(dir);
	free(dir);
}
END_TEST

START_TEST(test_identity)
{
	struct ifg_bpe *t = load_real("neox");
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ifg_bpe_pack_identity(&pk, t);
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	ck_assert_int_eq(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
	ck_assert_int_eq(ifg_bpe_check_identity(t, &u.data), 0);
	const msgpack_object *sha = ifg_get(&u.data, "sha256");
	ck_assert_ptr_nonnull(sha);
	((char *)sha->via.str.ptr)[0] ^= 1;
	ck_assert_int_eq(ifg_bpe_check_identity(t, &u.data), -1);
	ck_assert_msg(strstr(ifg_err(), "gpt-neox-20b") != NULL, "%s", ifg_err());
	ck_assert_int_eq(ifg_bpe_check_identity(t, NULL), -1);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	ifg_bpe_set_name(t, "pythia");
	ck_assert_str_eq(ifg_bpe_name(t), "pythia");
	ck_assert_int_eq(ifg_bpe_lookup(t, "<|padding|>", 11), 1);
	ck_assert(ifg_bpe_is_special(t, 1));
	ck_assert(!ifg_bpe_is_special(t, 50276));
	ifg_bpe_free(t);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("bpe");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_merge_order_vs_naive);
	tcase_add_test(tc, test_load_errors);
	/* The real tokenizers' tests run when the data are there, and are
	 * reported as skipped (not passed) when they are not. */
	char p[1024], why[1100];
	bool gpt2 = real_path("gpt2", p, sizeof p) == 0;
	snprintf(why, sizeof why, "%s not found (sh pipelines/fetch-data.sh)", p);
	ifg_test_add_if(tc, test_roundtrip_gpt2, gpt2, why);
	bool neox = real_path("neox", p, sizeof p) == 0;
	snprintf(why, sizeof why, "%s not found (sh pipelines/fetch-data.sh)", p);
	ifg_test_add_if(tc, test_roundtrip_neox, neox, why);
	ifg_test_add_if(tc, test_identity, neox, why);
	tcase_add_test(tc, test_trainer_vs_naive);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN
