/* gradext.c: per-token inputs and output gradients of the tracked linear
 * layers (gradext.h). */
#include "gradext.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Marks sel[i] for the tracked layers one item of the selection names. */
static int select_item(const struct ifg_gpt *m, const char *item, size_t n, bool *sel)
{
	int N = ifg_gpt_nlins(m);
	bool all = n == 3 && !memcmp(item, "all", 3), any = false;
	for (int i = 0; i < N; i++) {
		const char *kind = ifg_gpt_lin(m, i)->kind;
		if (all || (strlen(kind) == n && !memcmp(item, kind, n)))
			sel[i] = any = true;
	}
	int i = ifg_gpt_lin_find(m, item, n);
	if (i >= 0)
		sel[i] = any = true;
	if (any)
		return 0;
	const struct ifg_gpt_lin *last = ifg_gpt_lin(m, N - 1);
	return ifg_seterr("no layer '%.*s' in a model of %d blocks (all, a kind such as "
			  "%s, or a name such as %s)", (int)n, item, ifg_gpt_cfg(m)->n_layer,
			  last->kind, last->name);
}

int ifg_gradext_init(struct ifg_gradext *g, struct ifg_gpt *m, const char *select)
{
	memset(g, 0, sizeof *g);
	g->m = m;
	int N = ifg_gpt_nlins(m);
	bool *sel = ifg_xcalloc(N, sizeof *sel);
	for (const char *p = select;;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (select_item(m, p, n, sel) < 0) {
			free(sel);
			return -1;
		}
		if (!e)
			break;
		p = e + 1;
	}
	for (int i = 0; i < N; i++)
		g->n_layers += sel[i];
	g->layers = ifg_xcalloc(g->n_layers, sizeof *g->layers);
	g->lin = ifg_xcalloc(g->n_layers, sizeof *g->lin);
	g->a = ifg_xcalloc(g->n_layers, sizeof *g->a);
	g->s = ifg_xcalloc(g->n_layers, sizeof *g->s);
	for (int i = 0, j = 0; i < N; i++) {
		if (!sel[i])
			continue;
		const struct ifg_gpt_lin *l = ifg_gpt_lin(m, i);
		g->layers[j].name = ifg_xstrdup(l->name);
		g->layers[j].d_in = l->d_in;
		g->layers[j].d_out = l->d_out;
		g->layers[j].bias = l->bias;
		g->lin[j++] = i;
	}
	free(sel);
	g->w = ifg_xmalloc(ifg_gpt_cfg(m)->vocab_size, sizeof *g->w);
	return 0;
}

void ifg_gradext_release(struct ifg_gradext *g)
{
	for (int i = 0; i < g->n_layers; i++) {
		free(g->layers[i].name);
		free(g->a[i]);
		free(g->s[i]);
	}
	free(g->layers);
	free(g->lin);
	free(g->a);
	free(g->s);
	free(g->tok);
	free(g->tgt);
	free(g->w);
	memset(g, 0, sizeof *g);
}

/* Draws every label position's target from softmax(logits) of its row. */
static void sample_targets(struct ifg_gradext *g, int T, struct ifg_rng *rng)
{
	int V = ifg_gpt_cfg(g->m)->vocab_size;
	const float *logits = ifg_gpt_logits(g->m);	/* (1, T, V) */
	for (int t = 0; t < T; t++) {
		if (g->tgt[t] < 0)
			continue;
		const float *z = logits + (size_t)t * V;
		float mx = z[0];
		for (int v = 1; v < V; v++)
			mx = z[v] > mx ? z[v] : mx;
		for (int v = 0; v < V; v++)
			g->w[v] = expf(z[v] - mx);
		g->tgt[t] = (int32_t)ifg_rng_categorical(rng, g->w, (size_t)V);
	}
}

int ifg_gradext_record(struct ifg_gradext *g, const uint32_t *tok, int T, int cont,
		       struct ifg_rng *rng, double *loss)
{
	const struct ifg_gpt_config *c = ifg_gpt_cfg(g->m);
	if (T < 1 || T > c->n_ctx)
		return ifg_seterr("a record of %d tokens (the model takes 1 to %d)", T, c->n_ctx);
	if (T > g->cap) {
		if (ifg_gpt_reserve(g->m, 1, T,
				    IFG_GPT_TRAIN | IFG_GPT_KEEP_LINEAR | IFG_GPT_NO_PARAM_GRADS) < 0)
			return -1;
		free(g->tok);
		free(g->tgt);
		g->tok = ifg_xmalloc(T, sizeof *g->tok);
		g->tgt = ifg_xmalloc(T, sizeof *g->tgt);
		for (int i = 0; i < g->n_layers; i++) {
			free(g->a[i]);
			free(g->s[i]);
			g->a[i] = ifg_xaligned((size_t)T * (g->layers[i].d_in + g->layers[i].bias),
					       sizeof(float));
			g->s[i] = ifg_xaligned((size_t)T * g->layers[i].d_out, sizeof(float));
		}
		g->cap = T;
	}
	memcpy(g->tok, tok, (size_t)T * sizeof *tok);
	/* position t predicts token t + 1, a label when t + 1 >= cont */
	for (int t = 0; t < T; t++)
		g->tgt[t] = t + 1 < T && t + 1 >= cont ? (int32_t)tok[t + 1] : -1;
	if (ifg_gpt_forward(g->m, g->tok, rng ? NULL : g->tgt, 1, T, loss) < 0)
		return -1;
	if (rng) {	/* labels drawn from this forward's logits */
		sample_targets(g, T, rng);
		if (ifg_gpt_set_targets(g->m, g->tgt, loss) < 0)
			return -1;
	}
	ifg_gpt_zero_grad(g->m);
	/* the summed loss: weights 1, divisor 1 */
	if (ifg_gpt_backward(g->m, NULL, 1.0) < 0)
		return -1;
	for (int i = 0; i < g->n_layers; i++) {
		struct ifg_gpt_linear lin;
		int din = g->layers[i].d_in, dout = g->layers[i].d_out;
		if (ifg_gpt_linear(g->m, g->lin[i], &lin) < 0)
			return -1;
		if (lin.d_in != din || lin.d_out != dout || !lin.s)
			return ifg_seterr("layer '%s': the model gave no gradients", g->layers[i].name);
		/* a: (T, d_in) rows of the layer's input (row t at lin.a + t lda)
		 * plus, for a layer with a bias, the constant-1 column */
		int na = din + g->layers[i].bias;
		for (int t = 0; t < T; t++) {
			float *row = g->a[i] + (size_t)t * na;
			memcpy(row, lin.a + (size_t)t * lin.lda, (size_t)din * sizeof *row);
			if (g->layers[i].bias)
				row[din] = 1.0f;
		}
		/* s: (T, d_out) rows; a column block of a wider array when the
		 * model computes the layer with its neighbours (lds > d_out) */
		for (int t = 0; t < T; t++)
			memcpy(g->s[i] + (size_t)t * dout, lin.s + (size_t)t * lin.lds,
			       (size_t)dout * sizeof(float));
	}
	g->T = T;
	return 0;
}
