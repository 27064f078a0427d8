/* fuzz_config.h: one fuzz input as a model's config.json beside fixed
 * weights, through the model loader (gpt_io.c, gpt_arch.c): the first byte
 * picks the family (GPT-2, GPT-NeoX, Llama, each a tiny model saved once
 * into a temporary directory), the rest is the config.json.  A model that
 * loads is run forward on a few tokens.  Shared by fuzz_config.c and the
 * regression suite. */
#ifndef IFG_FUZZ_CONFIG_H
#define IFG_FUZZ_CONFIG_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpt.h"
#include "util.h"

static char fuzz_config_dirs[IFG_ARCH_N][64];

/* at exit: the model directories and what they hold */
static void fuzz_config_cleanup(void)
{
	static const char *const files[] = { "config.json", "model.safetensors" };
	for (int f = 0; f < IFG_ARCH_N; f++) {
		if (!fuzz_config_dirs[f][0])
			continue;
		char p[256];
		for (int i = 0; i < 2; i++) {
			snprintf(p, sizeof p, "%s/%s", fuzz_config_dirs[f], files[i]);
			unlink(p);
		}
		rmdir(fuzz_config_dirs[f]);
	}
}

/* family f's model directory, made on the first call */
static const char *fuzz_config_dir(int f)
{
	char (*dirs)[64] = fuzz_config_dirs;
	if (dirs[f][0])
		return dirs[f];
	static bool registered;
	if (!registered)
		registered = atexit(fuzz_config_cleanup) == 0;
	char tmpl[] = "/tmp/ifg-fuzz-config-XXXXXX";
	if (!mkdtemp(tmpl))
		abort();
	snprintf(dirs[f], sizeof dirs[f], "%s", tmpl);
	struct ifg_gpt_config c = { .n_layer = 1, .n_head = 2, .n_embd = 16, .n_ctx = 8,
				    .vocab_size = 32, .arch = (enum ifg_arch)f };
	if (f == IFG_ARCH_LLAMA)
		c.n_kv_head = 1;
	if (f == IFG_ARCH_NEOX)
		c.untied = c.parallel_residual = true;
	struct ifg_gpt *m = ifg_gpt_new(&c);
	if (!m || (ifg_gpt_init_weights(m, 1), ifg_gpt_save(m, dirs[f], NULL)) < 0) {
		fprintf(stderr, "fuzz_config: %s\n", ifg_err());
		abort();
	}
	ifg_gpt_free(m);
	return dirs[f];
}

static int fuzz_config_one(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *dir = fuzz_config_dir(data[0] % IFG_ARCH_N);
	char path[128];
	snprintf(path, sizeof path, "%s/config.json", dir);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data + 1, 1, size - 1, f) != size - 1 || fclose(f) != 0)
		abort();
	struct ifg_gpt *m = ifg_gpt_load(dir);
	if (m) {
		const struct ifg_gpt_config *c = ifg_gpt_cfg(m);
		int T = c->n_ctx < 4 ? c->n_ctx : 4;
		uint32_t tok[4] = { 0, 1, 2, 3 };
		for (int i = 0; i < T; i++)
			tok[i] %= (uint32_t)c->vocab_size;
		int32_t tgt[4] = { 1, 2, 3, 0 };
		for (int i = 0; i < T; i++)
			tgt[i] %= c->vocab_size;
		double nll;
		if (ifg_gpt_reserve(m, 1, T, 0) < 0 || ifg_gpt_forward(m, tok, tgt, 1, T, &nll) < 0)
			fprintf(stderr, "fuzz_config: forward: %s\n", ifg_err());
		ifg_gpt_free(m);
	}
	return 0;
}

#endif
