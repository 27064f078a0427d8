/* check_rad.c: reward-augmented decoding (rad.h): the incremental text
 * scorer against the classifier on the whole text (exact n-gram counts,
 * probabilities to rounding), the warp's candidates and rewards against
 * the sampler's ranking and the classifier on the decoded texts, and
 * generation: β = 0 is plain generation bit for bit, batching and the cache
 * change nothing, and a large β lowers the toxicity of the samples. */
#include <stdint.h>
#include <unistd.h>

#include "bpe.h"
#include "bpe_train.h"
#include "gpt_infer.h"
#include "rad.h"
#include "rng.h"
#include "sample.h"
#include "testgpt.h"
#include "testutil.h"
#include "toxclf.h"
#include "util.h"

enum { BITS = 12 };

/* A classifier with N(0, 1) weights and bias 0.3. */
static void random_clf(struct ifg_toxclf *m, uint64_t seed)
{
	memset(m, 0, sizeof *m);
	m->bits = BITS;
	m->bias = 0.3;
	m->w = malloc(((size_t)1 << BITS) * sizeof *m->w);
	struct ifg_rng r;
	ifg_rng_init(&r, seed);
	for (size_t i = 0; i < (size_t)1 << BITS; i++)
		m->w[i] = (float)ifg_rng_normal(&r);
}

/* Random pieces of text that exercise the normalisation: words, case,
 * elongations, apostrophes, mentions, URLs, punctuation, UTF-8, and every
 * kind of whitespace. */
static size_t random_piece(struct ifg_rng *r, char *out)
{
	static const char *const bits[] = {
		"a", "b", "the", "Hoe", "fuuuu", "ck", "'", "''s", "@", "@bob_1", "_x", "http",
		"://t.co/zz", "www.", "x.y", " ", "  ", "\t", "\n", "\r\n", ".", ",", "!!", "?",
		"caf\xc3\xa9", "\xe2\x80\x99", "aaa", "AAAA", "9", "-", "s", " you", " are", "0",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnop",
	};
	const char *b = bits[ifg_rng_below(r, sizeof bits / sizeof *bits)];
	size_t n = strlen(b);
	memcpy(out, b, n);
	return n;
}

static void same_counts(const struct ifg_toxfeat *a, const struct ifg_toxfeat *b,
			const char *text)
{
	ck_assert_msg(a->n == b->n, "'%s': %zu n-gram buckets, %zu expected", text, a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		ck_assert_msg(a->idx[i] == b->idx[i] && a->val[i] == b->val[i],
			      "'%s': bucket %zu differs", text, i);
	}
}

/* Counts of a text split after whitespace = the sums of its parts'. */
START_TEST(test_counts_split)
{
	struct ifg_toxfeat a, b, c;
	ifg_toxfeat_init(&a), ifg_toxfeat_init(&b), ifg_toxfeat_init(&c);
	const char *t = "Hello @you  see http://x.co/a b'  fuuuuck\tthe end";
	size_t n = strlen(t);
	ifg_toxfeat_counts(&a, t, n, 16, NULL, 0);
	for (size_t cut = 1; cut < n; cut++) {
		if (!strchr(" \t", t[cut - 1]))
			continue;
		ifg_toxfeat_counts(&b, t, cut, 16, NULL, 0);
		size_t wn;
		const char *w = ifg_toxfeat_last_word(&b, &wn);
		char prev[64] = "";
		if (w)
			memcpy(prev, w, wn), prev[wn] = 0;
		struct ifg_toxfeat s;	/* b + counts of the rest */
		ifg_toxfeat_init(&s);
		ifg_toxfeat_counts(&c, t + cut, n - cut, 16, w ? prev : NULL, w ? wn : 0);
		/* merge two ascending lists */
		size_t i = 0, j = 0;
		s.cap = b.n + c.n + 1;
		s.idx = malloc(s.cap * sizeof *s.idx), s.val = malloc(s.cap * sizeof *s.val);
		while (i < b.n || j < c.n) {
			uint32_t x = i < b.n ? b.idx[i] : UINT32_MAX, y = j < c.n ? c.idx[j] : UINT32_MAX;
			s.idx[s.n] = x < y ? x : y;
			s.val[s.n] = (x <= y ? b.val[i] : 0) + (y <= x ? c.val[j] : 0);
			i += x <= y, j += y <= x;
			s.n++;
		}
		same_counts(&s, &a, t);
		ifg_toxfeat_release(&s);
	}
	/* extract is counts scaled to unit norm */
	ifg_toxfeat_extract(&b, t, n, 16);
	double ss = 0;
	for (size_t i = 0; i < a.n; i++)
		ss += (double)a.val[i] * a.val[i];
	for (size_t i = 0; i < a.n; i++)
		ck_assert(b.val[i] == a.val[i] * (float)(1.0 / sqrt(ss)));
	ifg_toxfeat_release(&a), ifg_toxfeat_release(&b), ifg_toxfeat_release(&c);
}
END_TEST

/* The incremental scorer against the whole text, on random texts grown
 * piece by piece, each state tried with random candidates. */
START_TEST(test_text_incremental)
{
	struct ifg_toxclf m;
	random_clf(&m, 5);
	struct ifg_rad_text t;
	ifg_rad_text_init(&t, &m);
	struct ifg_toxfeat f, g;
	ifg_toxfeat_init(&f), ifg_toxfeat_init(&g);
	struct ifg_rng r;
	ifg_rng_init(&r, 9);
	char whole[8192], cand[256];
	double worst = 0;
	for (int text = 0; text < 40; text++) {
		ifg_rad_text_clear(&t);
		size_t n = 0;
		for (int step = 0; step < 40; step++) {
			size_t cn = 0;
			int pieces = (int)ifg_rng_below(&r, 3);
			for (int p = 0; p < pieces; p++)
				cn += random_piece(&r, cand + cn);
			memcpy(whole + n, cand, cn);
			whole[n + cn] = 0;
			double want = ifg_toxclf_prob(&m, &f, whole, n + cn);
			double got = ifg_rad_text_prob(&t, cand, cn);
			ifg_toxfeat_counts(&f, whole, n + cn, BITS, NULL, 0);
			ifg_rad_text_counts(&t, cand, cn, &g);
			same_counts(&g, &f, whole);
			worst = fmax(worst, fabs(got - want));
			ck_assert_msg(fabs(got - want) <= 1e-6, "'%s': %.9g, classifier %.9g", whole,
				      got, want);
			/* every other candidate is taken */
			if (step % 2 == 0) {
				ifg_rad_text_append(&t, cand, cn);
				n += cn;
			}
		}
	}
	ck_assert(worst < 1e-6);
	/* the empty text: the bias alone */
	ifg_rad_text_clear(&t);
	ck_assert_close(ifg_rad_text_prob(&t, NULL, 0), 1 / (1 + exp(-0.3)), 1e-12);
	ck_assert_close(ifg_rad_text_prob(&t, "!!", 2), 1 / (1 + exp(-0.3)), 1e-12);
	ifg_rad_text_release(&t);
	ifg_toxfeat_release(&f), ifg_toxfeat_release(&g);
	ifg_toxclf_release(&m);
}
END_TEST

/* ---- a tokenizer and a model ---- */

static const char *const words[] = {
	"the", "cat", "sat", "on", "mat", "dog", "ran", "far", "zonk", "blargh", "a", "it",
	"was", "very", "good", "bad", "and", "then", "we", "went", "home", "zap", "snork",
};

/* A byte-level BPE of 300 tokens learned from random sentences of words[]
 * (the last id is end-of-text). */
static struct ifg_bpe *tokenizer(char **dirp)
{
	struct ifg_rng r;
	ifg_rng_init(&r, 3);
	struct ifg_bpe_trainer *tr = ifg_bpe_trainer_new();
	char doc[4096];
	for (int d = 0; d < 200; d++) {
		size_t n = 0;
		for (int w = 0; w < 30; w++) {
			const char *s = words[ifg_rng_below(&r, sizeof words / sizeof *words)];
			n += (size_t)snprintf(doc + n, sizeof doc - n, "%s%s", w ? " " : "", s);
		}
		ifg_bpe_trainer_add(tr, doc, n);
	}
	ck_assert_int_gt(ifg_bpe_trainer_learn(tr, 300), 256);
	char *dir = ifg_test_tmpdir(), vp[512], mp[512];
	snprintf(vp, sizeof vp, "%s/vocab.json", dir);
	snprintf(mp, sizeof mp, "%s/merges.txt", dir);
	ck_assert_int_eq(ifg_bpe_trainer_write(tr, vp, mp), 0);
	ifg_bpe_trainer_free(tr);
	struct ifg_bpe *t = ifg_bpe_load(dir);
	ck_assert_msg(t != NULL, "%s", ifg_err());
	*dirp = dir;
	return t;
}

static void remove_tokenizer(char *dir)
{
	char p[512];
	snprintf(p, sizeof p, "%s/vocab.json", dir), unlink(p);
	snprintf(p, sizeof p, "%s/merges.txt", dir), unlink(p);
	rmdir(dir);
	free(dir);
}

/* A classifier that calls a third of the tokens toxic: the n-gram buckets of
 * each token's bytes (as a text of their own) get +2 when its id is a
 * multiple of 3, -1 otherwise, summed; bias 0. */
static void token_clf(struct ifg_toxclf *m, const struct ifg_bpe *tok)
{
	memset(m, 0, sizeof *m);
	m->bits = BITS;
	m->w = calloc((size_t)1 << BITS, sizeof *m->w);
	struct ifg_toxfeat f;
	ifg_toxfeat_init(&f);
	for (uint32_t id = 0; id < ifg_bpe_vocab_size(tok); id++) {
		size_t n;
		const uint8_t *b = ifg_bpe_token(tok, id, &n);
		if (!b || ifg_bpe_is_special(tok, id))
			continue;
		ifg_toxfeat_counts(&f, (const char *)b, n, BITS, NULL, 0);
		for (size_t j = 0; j < f.n; j++)
			m->w[f.idx[j]] += id % 3 == 0 ? 2.0f : -1.0f;
	}
	ifg_toxfeat_release(&f);
}

/* The warp: candidates are the sampler's top k, in its order; each reward is
 * 1 - the classifier's probability of the decoded text with the candidate;
 * only the candidates' logits move, by β r. */
START_TEST(test_warp)
{
	char *dir;
	struct ifg_bpe *tok = tokenizer(&dir);
	size_t V = ifg_bpe_vocab_size(tok);
	int64_t eot = ifg_bpe_eot(tok);
	ck_assert_int_eq(eot, (int64_t)V - 1);
	struct ifg_toxclf m;
	random_clf(&m, 17);
	struct ifg_rad rad;
	ifg_rad_init(&rad, &m, tok, 2.5);
	rad.k = 20;
	struct ifg_rad_text t;
	ifg_rad_text_init(&t, &m);
	struct ifg_sampler smp;
	ifg_sampler_init(&smp);
	smp.top_k = rad.k;
	struct ifg_toxfeat f;
	ifg_toxfeat_init(&f);
	struct ifg_rng r;
	ifg_rng_init(&r, 1);
	float *l = malloc(V * sizeof *l), *w = malloc(V * sizeof *w);
	uint32_t cand[20], keep[512], ids[64], nid = 0;
	double reward[20];
	struct ifg_bytes text = { 0 };
	for (int step = 0; step < 40; step++) {
		for (size_t i = 0; i < V; i++)	/* ties too: logits on a coarse grid */
			l[i] = (float)(ifg_rng_below(&r, 12) * 0.5);
		if (step % 5 == 0)
			l[eot] = 10;	/* end-of-text among the candidates */
		memcpy(w, l, V * sizeof *w);
		ck_assert_int_eq(ifg_rad_warp(&rad, &t, w, V, eot, cand, reward), 20);
		ck_assert_int_eq(ifg_sampler_keep(&smp, l, V, keep, NULL), 20);
		ck_assert(memcmp(cand, keep, sizeof cand) == 0);
		int moved = 0;
		for (size_t i = 0; i < V; i++)
			moved += w[i] != l[i];
		ck_assert_int_le(moved, 20);
		for (int j = 0; j < 20; j++) {
			text.n = 0;
			ids[nid] = cand[j];
			int with = (int64_t)cand[j] != eot;
			ck_assert_int_eq(ifg_bpe_decode(tok, ids, nid + with, false, &text), 0);
			double p = ifg_toxclf_prob(&m, &f, (const char *)text.p, text.n);
			ck_assert_msg(fabs(reward[j] - (1 - p)) <= 1e-6, "step %d, candidate %u", step,
				      cand[j]);
			ck_assert(w[cand[j]] == (float)((double)l[cand[j]] + 2.5 * reward[j]));
		}
		/* go on with a candidate that is not end-of-text */
		uint32_t next = cand[(int64_t)cand[0] == eot ? 1 : 0];
		ids[nid++] = next;
		size_t len;
		const uint8_t *b = ifg_bpe_token(tok, next, &len);
		ifg_rad_text_append(&t, b, len);
	}
	/* k larger than the vocabulary: every token */
	struct ifg_rad all;
	ifg_rad_init(&all, &m, tok, 1);
	all.k = 100000;
	ck_assert_int_eq(ifg_rad_warp(&all, &t, w, V, eot, NULL, NULL), (long)V);
	ifg_rad_release(&all);
	free(l), free(w);
	ifg_bytes_release(&text);
	ifg_toxfeat_release(&f);
	ifg_sampler_release(&smp);
	ifg_rad_text_release(&t);
	ifg_rad_release(&rad);
	ifg_toxclf_release(&m);
	ifg_bpe_free(tok);
	remove_tokenizer(dir);
}
END_TEST

enum { NG = 12, NEW = 16 };

/* Samples g[0..NG) of prompt i % 3, stream (seed, i). */
static void gens(struct ifg_gen *g, uint32_t out[][NEW], const uint32_t *const *pr,
		 const int *pl, uint64_t seed)
{
	for (int i = 0; i < NG; i++) {
		g[i] = (struct ifg_gen){ .prompt = pr[i % 3], .prompt_len = pl[i % 3], .out = out[i] };
		ifg_rng_init2(&g[i].rng, seed, (uint64_t)i);
		memset(out[i], 0xff, sizeof out[i]);
	}
}

/* Mean P(toxic) of the decoded continuations. */
static double mean_tox(struct ifg_bpe *tok, const struct ifg_toxclf *m, struct ifg_gen *g)
{
	struct ifg_toxfeat f;
	ifg_toxfeat_init(&f);
	struct ifg_bytes b = { 0 };
	double s = 0;
	for (int i = 0; i < NG; i++) {
		b.n = 0;
		ck_assert_int_eq(ifg_bpe_decode(tok, g[i].out, g[i].n_out, false, &b), 0);
		s += ifg_toxclf_prob(m, &f, b.p ? (const char *)b.p : "", b.n);
	}
	ifg_bytes_release(&b);
	ifg_toxfeat_release(&f);
	return s / NG;
}

START_TEST(test_generate)
{
	char *dir;
	struct ifg_bpe *tok = tokenizer(&dir);
	size_t V = ifg_bpe_vocab_size(tok);
	int64_t eot = ifg_bpe_eot(tok);
	struct ifg_gpt_config cfg = { .n_layer = 2, .n_head = 2, .n_embd = 16, .n_ctx = 32,
				      .vocab_size = (int)V };
	struct ifg_gpt *model = ifg_test_gpt(&cfg, 4, 0.3);
	struct ifg_toxclf m;
	token_clf(&m, tok);
	struct ifg_sampler smp;
	ifg_sampler_init(&smp);
	smp.top_p = 0.95;
	/* prompts: tokens of the words */
	struct ifg_ids p[3] = { 0 };
	const char *ptext[3] = { "the cat", "we went zonk", "it" };
	const uint32_t *pr[3];
	int pl[3];
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(ifg_bpe_encode(tok, ptext[i], strlen(ptext[i]),
						IFG_BPE_SPECIAL_DEFAULT, &p[i]), 0);
		pr[i] = p[i].v, pl[i] = (int)p[i].n;
	}
	struct ifg_gpt_infer *s = ifg_gpt_infer_new(model);
	static uint32_t plain[NG][NEW], out[NG][NEW];
	struct ifg_gen g[NG], h[NG];
	gens(g, plain, pr, pl, 7);
	ck_assert_int_eq(ifg_gpt_generate(model, s, &smp, g, NG, NEW, eot, V), 0);
	double tox_plain = mean_tox(tok, &m, g);

	/* β = 0: plain generation bit for bit, cached, uncached, in batches of 5 */
	struct ifg_rad rad;
	for (int prompt = 0; prompt < 2; prompt++)
		for (int mode = 0; mode < 3; mode++) {
			ifg_rad_init(&rad, &m, tok, 0);
			rad.prompt = prompt;
			gens(h, out, pr, pl, 7);
			if (mode == 2) {
				for (int i = 0; i < NG; i += 5)
					ck_assert_int_eq(ifg_rad_generate(&rad, model, s, &smp, h + i,
									  NG - i < 5 ? NG - i : 5,
									  NEW, eot, V), 0);
			} else {
				ck_assert_int_eq(ifg_rad_generate(&rad, model, mode ? NULL : s, &smp, h,
								  NG, NEW, eot, V), 0);
			}
			for (int i = 0; i < NG; i++) {
				ck_assert_int_eq(h[i].n_out, g[i].n_out);
				ck_assert(memcmp(out[i], plain[i], sizeof out[i]) == 0);
			}
			ck_assert_uint_gt(rad.scored, 0);
			ifg_rad_release(&rad);
		}

	/* β = 30: one batch, no cache and batches of 5 agree; the samples are less
	 * toxic by the classifier, and differ from the plain ones */
	static uint32_t ref[NG][NEW];
	double tox_rad = 0;
	for (int mode = 0; mode < 3; mode++) {
		ifg_rad_init(&rad, &m, tok, 30);
		gens(h, out, pr, pl, 7);
		if (mode == 2) {
			for (int i = 0; i < NG; i += 5)
				ck_assert_int_eq(ifg_rad_generate(&rad, model, s, &smp, h + i,
								  NG - i < 5 ? NG - i : 5, NEW, eot,
								  V), 0);
		} else {
			ck_assert_int_eq(ifg_rad_generate(&rad, model, mode ? NULL : s, &smp, h, NG,
							  NEW, eot, V), 0);
		}
		if (mode == 0) {
			memcpy(ref, out, sizeof ref);
			tox_rad = mean_tox(tok, &m, h);
		} else {
			ck_assert(memcmp(out, ref, sizeof ref) == 0);
		}
		ifg_rad_release(&rad);
	}
	ck_assert(memcmp(ref, plain, sizeof ref) != 0);
	ck_assert_msg(tox_plain > 0.3 && tox_rad < tox_plain - 0.15,
		      "mean toxicity: plain %.3f, RAD %.3f", tox_plain, tox_rad);

	for (int i = 0; i < 3; i++)
		ifg_ids_release(&p[i]);
	ifg_gpt_infer_free(s);
	ifg_sampler_release(&smp);
	ifg_toxclf_release(&m);
	ifg_gpt_free(model);
	ifg_bpe_free(tok);
	remove_tokenizer(dir);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("rad");
	TCase *tc = tcase_create("text");
	tcase_add_test(tc, test_counts_split);
	tcase_add_test(tc, test_text_incremental);
	tcase_set_timeout(tc, 60);	/* a loaded machine */
	suite_add_tcase(s, tc);
	tc = tcase_create("decode");
	tcase_add_test(tc, test_warp);
	tcase_add_test(tc, test_generate);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN
