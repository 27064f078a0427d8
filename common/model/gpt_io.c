/* gpt_io.c: checkpoints in Hugging Face's layout (gpt.h): model.safetensors
 * and config.json, both driven by the family's tables (gpt_arch.c), and the
 * model identity stream headers carry. */
#include "gpt_impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safetensors.h"
#include "sha256.h"
#include "stream.h"
#include "util.h"

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *s = ifg_xmalloc(n, 1);
	snprintf(s, n, "%s/%s", dir, name);
	return s;
}

/* The configuration as compact JSON with sorted keys (the metadata copy and
 * the identity's text); free() it. */
static char *config_text(const struct ifg_gpt_config *c)
{
	json_t *j = ifg_gpt_config_to_json(c);
	char *t = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (!t)
		ifg_oom();
	return t;
}

int ifg_gpt_save(const struct ifg_gpt *mc, const char *dir, const char *const *meta)
{
	struct ifg_gpt *m = (struct ifg_gpt *)mc; /* only the identity is updated */
	const struct ifg_gpt_config *c = &m->cfg;
	if (ifg_out_mkdir(dir) < 0)
		return -1;
	struct ifg_st_writer *w = ifg_st_writer_new();
	for (int i = 0; i < m->ntensors; i++) {
		const struct ifg_gpt_tensor *t = &m->tensors[i];
		ifg_st_add_f32(w, t->name, t->ndim, t->shape, m->params_mem + t->offset);
	}
	/* "format": "pt" is what transformers checks before loading */
	ifg_st_set_meta(w, "format", "pt");
	char num[32];
	const char *keys[] = { "n_layer", "n_head", "n_embd", "n_ctx", "vocab_size" };
	int vals[] = { c->n_layer, c->n_head, c->n_embd, c->n_ctx, c->vocab_size };
	for (int i = 0; i < 5; i++) {
		snprintf(num, sizeof num, "%d", vals[i]);
		ifg_st_set_meta(w, keys[i], num);
	}
	if (c->arch != IFG_ARCH_GPT2) { /* the sizes alone do not say the rest */
		char *ct = config_text(c);
		ifg_st_set_meta(w, "config", ct);
		free(ct);
	}
	for (const char *const *kv = meta; kv && kv[0] && kv[1]; kv += 2)
		ifg_st_set_meta(w, kv[0], kv[1]);
	/* config.json: the family's, no dropout (the model was trained without) */
	json_t *j = ifg_gpt_config_to_json(c);
	char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	json_decref(j);
	if (!text) {
		ifg_st_writer_free(w);
		return ifg_seterr("cannot encode config.json");
	}
	size_t tl = strlen(text);
	char *nl = ifg_xmalloc(tl + 2, 1);
	memcpy(nl, text, tl);
	nl[tl] = '\n';
	nl[tl + 1] = 0;
	free(text);
	/* Both files land together: a failure leaves the previous pair. */
	char *stp = path_join(dir, "model.safetensors"), *cp = path_join(dir, "config.json");
	struct ifg_out *outs[2] = { ifg_out_open(stp, IFG_COMPRESS_NO, 1), NULL };
	int rc = outs[0] && (outs[1] = ifg_out_open(cp, IFG_COMPRESS_NO, 0)) ? 0 : -1;
	if (!rc && (ifg_st_writer_put(w, outs[0]) < 0 || ifg_out_write(outs[1], nl, tl + 1) < 0))
		rc = -1;
	if (rc) {
		ifg_out_abort(outs[0]);
		ifg_out_abort(outs[1]);
	} else if ((rc = ifg_out_close_all(outs, 2)) == 0) {
		snprintf(m->sha256, sizeof m->sha256, "%s", ifg_st_writer_sha256(w));
	}
	ifg_st_writer_free(w);
	free(stp);
	free(cp);
	free(nl);
	return rc;
}

static int read_config_json(const char *path, struct ifg_gpt_config *c)
{
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	if (!j)
		return ifg_seterr("'%s': line %d: %s", path, e.line, e.text);
	int rc = ifg_gpt_config_from_json(j, path, c);
	json_decref(j);
	return rc;
}

static int config_from_meta(const struct ifg_st *st, struct ifg_gpt_config *c)
{
	const char *full = ifg_st_meta(st, "config");
	if (full) {
		json_error_t e;
		json_t *j = json_loads(full, 0, &e);
		if (!j)
			return ifg_seterr("'%s': metadata \"config\": %s", ifg_st_path(st), e.text);
		int rc = ifg_gpt_config_from_json(j, ifg_st_path(st), c);
		json_decref(j);
		return rc;
	}
	memset(c, 0, sizeof *c); /* GPT-2: the sizes say it all */
	const char *keys[] = { "n_layer", "n_head", "n_embd", "n_ctx", "vocab_size" };
	int *dst[] = { &c->n_layer, &c->n_head, &c->n_embd, &c->n_ctx, &c->vocab_size };
	for (int i = 0; i < 5; i++) {
		const char *v = ifg_st_meta(st, keys[i]);
		long x;
		if (!v)
			return ifg_seterr("'%s': no config.json beside it and no \"%s\" in its metadata",
					  ifg_st_path(st), keys[i]);
		if (ifg_parse_long(v, 1, INT32_MAX, &x) < 0)
			return ifg_prefixerr("'%s': metadata \"%s\"", ifg_st_path(st), keys[i]);
		*dst[i] = (int)x;
	}
	return 0;
}

/* The file's tensor for one of our names, with or without "transformer.". */
static const struct ifg_st_tensor *find_tensor(const struct ifg_st *st, const char *name)
{
	const struct ifg_st_tensor *s = ifg_st_find(st, name);
	if (!s && strncmp(name, "gpt_neox.", 9) && strncmp(name, "model.", 6)) {
		char alt[96];	/* GPT-2's names under GPT2LMHeadModel */
		snprintf(alt, sizeof alt, "transformer.%s", name);
		s = ifg_st_find(st, alt);
	}
	return s;
}

static void fmt_shape(char *buf, size_t n, int ndim, const int64_t *shape)
{
	size_t k = snprintf(buf, n, "(");
	for (int d = 0; d < ndim && k < n; d++)
		k += snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
	if (k < n)
		snprintf(buf + k, n - k, ")");
}

/* Checks the file's tensors against the table config c implies, before
 * anything of the model's size is allocated (a config claiming 10^10
 * parameters beside a small file gets a message naming the first tensor
 * that differs, not an out-of-memory exit): every tensor present with the
 * config's shape, and no tensor of another model. */
static int check_file_tensors(const struct ifg_st *st, const char *stp,
			      const struct ifg_gpt_config *c)
{
	int n, rc = -1;
	struct ifg_gpt_tensor *tab = ifg_gpt_tensor_table(c, &n, NULL);
	for (int i = 0; i < n; i++) {
		const struct ifg_gpt_tensor *t = &tab[i];
		const struct ifg_st_tensor *s = find_tensor(st, t->name);
		if (!s) {
			ifg_seterr("'%s': tensor '%s' is missing", stp, t->name);
			goto out;
		}
		bool same = s->ndim == t->ndim;
		for (int d = 0; same && d < t->ndim; d++)
			same = s->shape[d] == t->shape[d];
		if (!same) {
			char want[96], got[96];
			fmt_shape(want, sizeof want, t->ndim, t->shape);
			fmt_shape(got, sizeof got, s->ndim, s->shape);
			ifg_seterr("'%s': tensor '%s' has shape %s, but the configuration makes it %s",
				   stp, s->name, got, want);
			goto out;
		}
	}
	for (size_t i = 0; i < ifg_st_count(st); i++) {
		const char *nm = ifg_st_at(st, i)->name;
		if (c->arch == IFG_ARCH_GPT2 && strncmp(nm, "transformer.", 12) == 0)
			nm += 12;
		bool ours = false;
		for (int k = 0; k < n && !ours; k++)
			ours = strcmp(tab[k].name, nm) == 0;
		if (!ours && !ifg_gpt_ignorable(c, nm)) {
			ifg_seterr("'%s': unexpected tensor '%s' (not a %s checkpoint?)", stp,
				   ifg_st_at(st, i)->name, ifg_arch_name(c->arch));
			goto out;
		}
	}
	rc = 0;
out:
	free(tab);
	return rc;
}

struct ifg_gpt *ifg_gpt_load(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) < 0) {
		ifg_seterr("cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	char *stp, *cfgp;
	if (S_ISDIR(sb.st_mode)) {
		stp = path_join(path, "model.safetensors");
		cfgp = path_join(path, "config.json");
	} else {
		stp = ifg_xstrdup(path);
		const char *slash = strrchr(path, '/');
		if (slash) {
			char *d = ifg_xstrdup(path);
			d[slash - path] = 0;
			cfgp = path_join(d, "config.json");
			free(d);
		} else {
			cfgp = ifg_xstrdup("config.json");
		}
	}
	struct ifg_gpt *m = NULL;
	struct ifg_st *st = ifg_st_open(stp);
	if (!st)
		goto out;
	struct ifg_gpt_config c;
	if (access(cfgp, R_OK) == 0 ? read_config_json(cfgp, &c) : config_from_meta(st, &c))
		goto out;
	ifg_gpt_config_fill(&c);
	if (ifg_gpt_config_check(&c) < 0) {
		ifg_prefixerr("'%s'", stp);
		goto out;
	}
	if (check_file_tensors(st, stp, &c) < 0)
		goto out;
	m = ifg_gpt_new(&c);
	for (int i = 0; i < m->ntensors; i++) {
		const struct ifg_gpt_tensor *t = &m->tensors[i];
		const struct ifg_st_tensor *s = find_tensor(st, t->name);
		if (ifg_st_read_f32(st, s, m->params_mem + t->offset, t->ndim, t->shape) < 0)
			goto fail;
		for (size_t k = 0; k < t->n; k++)
			if (!isfinite(m->params_mem[t->offset + k])) {
				ifg_seterr("'%s': tensor '%s' holds NaN or infinity", stp, t->name);
				goto fail;
			}
	}
	snprintf(m->sha256, sizeof m->sha256, "%s", ifg_st_sha256(st));
	goto out;
fail:
	ifg_gpt_free(m);
	m = NULL;
out:
	ifg_st_close(st);
	free(stp);
	free(cfgp);
	return m;
}

void ifg_gpt_identity(const struct ifg_gpt *m, struct ifg_model_id *id)
{
	memset(id, 0, sizeof *id);
	/* Weights and configuration: config.json may change what the same
	 * weights compute (n_head), so it is hashed with the file's hash. */
	if (m->sha256[0]) {
		char text[256];
		int n = snprintf(text, sizeof text, "ifg model 1;weights=%s;n_layer=%d;n_head=%d;"
				 "n_embd=%d;n_ctx=%d;vocab_size=%d", m->sha256, m->cfg.n_layer,
				 m->cfg.n_head, m->cfg.n_embd, m->cfg.n_ctx, m->cfg.vocab_size);
		struct ifg_sha256 h;
		ifg_sha256_init(&h);
		ifg_sha256_update(&h, text, (size_t)n);
		if (m->cfg.arch != IFG_ARCH_GPT2) { /* and every field of its config */
			char *ct = config_text(&m->cfg);
			ifg_sha256_update(&h, ";config=", 8);
			ifg_sha256_update(&h, ct, strlen(ct));
			free(ct);
		}
		ifg_sha256_final(&h, id->sha256);
	}
	snprintf(id->arch, sizeof id->arch, "%s", ifg_arch_name(m->cfg.arch));
	id->n_layer = m->cfg.n_layer;
	id->n_head = m->cfg.n_head;
	id->n_embd = m->cfg.n_embd;
	id->n_ctx = m->cfg.n_ctx;
	id->vocab_size = m->cfg.vocab_size;
}

