/* trainstate.c: the train state file and the resume fingerprint
 * (trainstate.h). */
#include "trainstate.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safetensors.h"
#include "util.h"

char *ifg_trainstate_settings(const struct ifg_train_fingerprint *fp)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	if (!f) {
		ifg_seterr("out of memory");
		return NULL;
	}
	const struct ifg_gpt_config *c = fp->cfg;
	const struct ifg_train_hp *h = fp->hp;
	fprintf(f, "n_layer=%d;n_head=%d;n_embd=%d;n_ctx=%d;vocab_size=%d;", c->n_layer, c->n_head,
		c->n_embd, c->n_ctx, c->vocab_size);
	if (c->arch != IFG_ARCH_GPT2) /* (GPT-2's string predates the families) */
		fprintf(f, "arch=%s;n_kv_head=%d;d_ff=%d;untied=%d;parallel=%d;", ifg_arch_name(c->arch),
			c->n_kv_head, c->d_ff, c->untied, c->parallel_residual);
	fprintf(f, "init=%s;seed=%llu;shuffle=%d;batch=%ld;micro=%ld;steps=%ld;", fp->init, fp->seed,
		(int)fp->shuffle, h->batch, h->micro, h->sched.total);
	fprintf(f, "lr=%.17g;min_lr=%.17g;schedule=%s;warmup=%ld;", h->sched.lr, h->sched.min_lr,
		ifg_sched_name(h->sched.kind), h->sched.warmup);
	fprintf(f, "weight_decay=%.9g;beta1=%.9g;beta2=%.9g;eps=%.9g;clip=%.17g;lambda=%.17g;",
		h->adam.weight_decay, h->adam.beta1, h->adam.beta2, h->adam.eps, h->clip, h->lambda);
	fprintf(f, "threads=%ld;data=%s", fp->threads, fp->data);
	if (fp->dpo)
		fprintf(f, ";dpo=1;beta=%.17g;ref=%s", fp->beta, fp->ref);
	fclose(f);
	return s;
}

int ifg_trainstate_save(const char *path, struct ifg_gpt *m, const float *mv, long step,
			const char *settings)
{
	size_t P = ifg_gpt_nparams(m);
	int64_t shape[1] = { (int64_t)P };
	struct ifg_st_writer *w = ifg_st_writer_new();
	ifg_st_add_f32(w, "params", 1, shape, ifg_gpt_param_mem(m));
	ifg_st_add_f32(w, "adam_m", 1, shape, mv);
	ifg_st_add_f32(w, "adam_v", 1, shape, mv + P);
	char num[32];
	snprintf(num, sizeof num, "%ld", step);
	ifg_st_set_meta(w, "step", num);
	ifg_st_set_meta(w, "settings", settings);
	int rc = ifg_st_writer_write(w, path);
	ifg_st_writer_free(w);
	return rc < 0 ? -1 : 0;
}

/* -1 naming the first setting of `have` that differs from `want`. */
static int settings_differ(const char *path, const char *have, const char *want)
{
	const char *a = have, *b = want;
	while (*a && *a == *b)
		a++, b++;
	while (a > have && a[-1] != ';')
		a--;
	return ifg_seterr("'%s' was made with other settings or data (%.*s)", path,
			  (int)strcspn(a, ";"), a);
}

int ifg_trainstate_load(const char *path, struct ifg_gpt *m, float *mv, long *step,
			const char *settings)
{
	if (access(path, F_OK) != 0)
		return 0;
	struct ifg_st *st = ifg_st_open(path);
	if (!st)
		return -1;
	const char *s = ifg_st_meta(st, "settings"), *sp = ifg_st_meta(st, "step");
	int rc = 1;
	if (!s || !sp || ifg_parse_long(sp, 0, LONG_MAX, step) < 0)
		rc = ifg_seterr("'%s' is not a train state", path);
	else if (strcmp(s, settings) != 0)
		rc = settings_differ(path, s, settings);
	size_t P = ifg_gpt_nparams(m);
	int64_t shape[1] = { (int64_t)P };
	const char *names[] = { "params", "adam_m", "adam_v" };
	float *dst[] = { ifg_gpt_param_mem(m), mv, mv + P };
	for (int i = 0; i < 3 && rc == 1; i++) {
		const struct ifg_st_tensor *t = ifg_st_find(st, names[i]);
		if (!t)
			rc = ifg_seterr("'%s': tensor missing", path);
		else if (ifg_st_read_f32(st, t, dst[i], 1, shape) < 0)
			rc = ifg_prefixerr("'%s'", path);
	}
	ifg_st_close(st);
	return rc;
}

int ifg_trainlog_cut(const char *path, long step)
{
	FILE *f = fopen(path, "r+");
	if (!f)
		return 0; /* none yet: it is created */
	char line[512];
	long keep = 0, s;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "{\"step\":%ld", &s) == 1 && s > step)
			break;
		keep = ftell(f);
	}
	int rc = 0;
	if (ferror(f) || ftruncate(fileno(f), keep) != 0)
		rc = ifg_seterr("cannot cut '%s' back to step %ld: %s", path, step, strerror(errno));
	fclose(f);
	return rc;
}
