/* testgpt.h: a GPT-2 with random O(1) weights for the Check suites, so that
 * every path of the forward and backward carries signal. */
#ifndef IFG_TESTGPT_H
#define IFG_TESTGPT_H

#include <stdbool.h>
#include <string.h>

#include "gpt.h"
#include "rng.h"
#include "testutil.h"

/* LayerNorm weights 1 + scale N(0,1), everything else scale N(0,1). */
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
		bool lnw = t->ndim == 1 && strstr(t->name, "ln_") && strstr(t->name, ".weight");
		for (size_t j = 0; j < t->n; j++)
			p[t->offset + j] = (float)((lnw ? 1.0 : 0.0) + scale * ifg_rng_normal(&r));
	}
	return m;
}

#endif
