/* testgpt.h: models with random O(1) weights for the Check suites, so that
 * every path of the forward and backward carries signal, and the family
 * variants each model test runs over. */
#ifndef IFG_TESTGPT_H
#define IFG_TESTGPT_H

#include <stdbool.h>
#include <string.h>

#include "gpt.h"
#include "rng.h"
#include "testutil.h"

/* The variants of the model families the suites loop over (Check's loop
 * tests, _i): every code path of the core, each one a configuration that
 * Hugging Face's classes accept. */
enum { IFG_TEST_NFAM = 5 };

static inline struct ifg_gpt_config ifg_test_family(int i, struct ifg_gpt_config c)
{
	switch (i) {
	case 1: /* Pythia: parallel residual, untied, rotary on half of each head */
		c.arch = IFG_ARCH_NEOX, c.rotary_pct = 0.5;
		c.parallel_residual = c.untied = true;
		break;
	case 2: /* GPT-NeoX sequential and tied, rotary on whole heads */
		c.arch = IFG_ARCH_NEOX, c.rotary_pct = 1.0;
		break;
	case 3: /* Llama with grouped-query attention, tied (as Llama-3.2-1B) */
		c.arch = IFG_ARCH_LLAMA, c.n_kv_head = c.n_head % 2 ? c.n_head : c.n_head / 2;
		c.d_ff = 3 * c.n_embd / 2;
		break;
	case 4: /* Llama with one key/value head per query head, untied */
		c.arch = IFG_ARCH_LLAMA, c.untied = true, c.d_ff = 2 * c.n_embd + 4;
		c.rope_base = 500000;
		break;
	}
	return c;
}

static inline const char *ifg_test_family_name(int i)
{
	static const char *const names[IFG_TEST_NFAM] = { "gpt2", "neox-parallel", "neox-sequential",
							  "llama-gqa", "llama-untied" };
	return names[i];
}

/* Norm weights 1 + scale N(0,1), everything else scale N(0,1). */
static inline struct ifg_gpt *ifg_test_gpt(const struct ifg_gpt_config *cfg, uint64_t seed,
					   double scale)
{
	struct ifg_gpt *m = ifg_gpt_new(cfg);
	ck_assert_ptr_nonnull(m);
	struct ifg_rng r;
	ifg_rng_init(&r, seed);
	float *p = ifg_gpt_param_mem(m);
	for (int i = 0; i < ifg_gpt_ntensors(m); i++) {
		const struct ifg_gpt_tensor *t = ifg_gpt_tensor(m, i);
		bool lnw = t->init == IFG_INIT_ONE;
		for (size_t j = 0; j < t->n; j++)
			p[t->offset + j] = (float)((lnw ? 1.0 : 0.0) + scale * ifg_rng_normal(&r));
	}
	return m;
}

#endif
