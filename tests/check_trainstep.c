/* check_trainstep.c: the training step (common/model/trainstep.h) on a tiny random
 * GPT: the gradient of the IF-Guide objective it reports against central
 * finite differences, micro-batches against one forward, the penalty's sign
 * and zero, clipping, weight decay only where the tensor table says, a loss
 * that is not finite, determinism, validation, the repeated last forward,
 * and a DPO step. */
#include <stdint.h>

#include "dpo.h"
#include "rng.h"
#include "testgpt.h"
#include "testutil.h"
#include "tokdata.h"
#include "trainstep.h"
#include "util.h"

static const struct ifg_gpt_config tiny = { .n_layer = 2, .n_head = 2, .n_embd = 8, .n_ctx = 12,
					    .vocab_size = 11 };
enum { NREC = 6, MAXLEN = 10 };

/* n records of lengths 1..MAXLEN (record 1 has one token: it predicts
 * nothing), with masks on about a third of the tokens when masked; all
 * tokens masked when masked is 2. */
static void make_data(struct ifg_tokdata *d, int n, uint64_t seed, int masked)
{
	struct ifg_rng r;
	ifg_rng_init(&r, seed);
	memset(d, 0, sizeof *d);
	d->vocab_size = -1;
	d->n = (size_t)n;
	d->off = ifg_xcalloc((size_t)n + 1, sizeof *d->off);
	d->tok = ifg_xmalloc((size_t)n * MAXLEN, sizeof *d->tok);
	d->mask = masked ? ifg_xcalloc((size_t)n * MAXLEN, 1) : NULL;
	for (int i = 0; i < n; i++) {
		uint64_t len = i == 1 ? 1 : 2 + ifg_rng_below(&r, MAXLEN - 1);
		for (uint64_t t = 0; t < len; t++) {
			d->tok[d->ntok + t] = (uint32_t)ifg_rng_below(&r, tiny.vocab_size);
			if (masked)
				d->mask[d->ntok + t] = masked == 2 || ifg_rng_below(&r, 3) == 0;
		}
		d->ntok += len;
		d->off[i + 1] = d->ntok;
		if (len > d->max_len)
			d->max_len = (uint32_t)len;
	}
}

static struct ifg_train_hp hp_of(long batch, long micro, double lambda, double clip)
{
	return (struct ifg_train_hp){ .batch = batch, .micro = micro, .lambda = lambda,
				      .clip = clip, .adam = { 0.9f, 0.95f, 1e-8f, 0.1f },
				      .sched = { IFG_SCHED_COSINE, 1e-2, 0, 1, 10 } };
}

/* A model of the tiny shape from seed, reserved for micro records of d. */
static struct ifg_gpt *model(uint64_t seed, const struct ifg_tokdata *d, long micro)
{
	struct ifg_gpt *m = ifg_test_gpt(&tiny, seed, 0.4);
	ck_assert_int_eq(ifg_gpt_reserve(m, (int)micro, (int)d->max_len, IFG_GPT_TRAIN), 0);
	return m;
}

static float *copy_grads(struct ifg_gpt *m)
{
	size_t n = ifg_gpt_nparams(m);
	float *g = ifg_xmalloc(n, sizeof *g);
	memcpy(g, ifg_gpt_grad_mem(m), n * sizeof *g);
	return g;
}

static const size_t order[NREC] = { 3, 1, 5, 0, 4, 2 };

/* One stepper on records of make_data(dseed, masked) and a model from
 * mseed, of hyperparameters hp_of(batch, micro, lambda, clip). */
struct one {
	struct ifg_tokdata d;
	struct ifg_gpt *m;
	struct ifg_trainstep s;
};

static void one_init(struct one *o, uint64_t dseed, int masked, uint64_t mseed, long batch,
		     long micro, double lambda, double clip)
{
	make_data(&o->d, NREC, dseed, masked);
	o->m = model(mseed, &o->d, micro);
	struct ifg_train_hp hp = hp_of(batch, micro, lambda, clip);
	ifg_trainstep_init(&o->s, o->m, &hp, &o->d, NULL, (int)o->d.max_len);
}

static void one_free(struct one *o)
{
	ifg_trainstep_release(&o->s);
	ifg_gpt_free(o->m);
	ifg_tokdata_free(&o->d);
}

/* Two steppers on two models from the same seed, of hyperparameters hp[0]
 * and hp[1]. */
struct twin {
	struct ifg_gpt *m[2];
	struct ifg_trainstep s[2];
};

static void twin_init(struct twin *w, uint64_t seed, const struct ifg_tokdata *d,
		      const struct ifg_train_hp *hp)
{
	for (int i = 0; i < 2; i++) {
		w->m[i] = model(seed, d, hp[i].micro);
		ifg_trainstep_init(&w->s[i], w->m[i], &hp[i], d, NULL, (int)d->max_len);
	}
}

static void twin_free(struct twin *w)
{
	for (int i = 0; i < 2; i++) {
		ifg_trainstep_release(&w->s[i]);
		ifg_gpt_free(w->m[i]);
	}
}

/* The gradient left is that of the objective reported (Σ w·NLL / L, with
 * the penalty and padding): along random directions v of every parameter,
 * and along the gradient itself, the central difference of the objective
 * is g · v (a wrong divisor, weight or accumulation would scale it). */
START_TEST(test_objective_gradient)
{
	struct one o;
	one_init(&o, 11, 1, 4, NREC, 2, 0.7, 0);
	struct ifg_step_stats st;
	ck_assert_msg(ifg_trainstep_grads(&o.s, order, &st) == 0, "%s", ifg_err());
	ck_assert_int_eq(st.labels, (int64_t)o.d.ntok);
	size_t P = o.s.P;
	float *g = copy_grads(o.m), *p = ifg_gpt_param_mem(o.m);
	float *p0 = ifg_xmalloc(P, sizeof *p0), *v = ifg_xmalloc(P, sizeof *v);
	memcpy(p0, p, P * sizeof *p0);
	struct ifg_rng r;
	ifg_rng_init(&r, 99);
	for (int dir = 0; dir < 5; dir++) {
		double gv = 0, vv = 0;
		for (size_t k = 0; k < P; k++) {
			v[k] = dir == 4 ? g[k] : (float)ifg_rng_normal(&r);
			gv += (double)g[k] * v[k];
			vv += (double)v[k] * v[k];
		}
		/* a step of length 1e-2 along v */
		const double h = 1e-2 / sqrt(vv);
		double J[2];
		for (int side = 0; side < 2; side++) {
			for (size_t k = 0; k < P; k++)
				p[k] = p0[k] + (float)((side ? -h : h) * v[k]);
			struct ifg_step_stats sd;
			ck_assert_int_eq(ifg_trainstep_grads(&o.s, order, &sd), 0);
			J[side] = sd.objective;
		}
		double fd = (J[0] - J[1]) / (2 * h);
		if (getenv("IFG_TEST_VERBOSE"))
			fprintf(stderr, "direction %d: g.v %.9g, finite difference %.9g\n", dir, gv, fd);
		ck_assert_msg(fabs(fd - gv) <= 2e-3 * fabs(gv) + 1e-5 * sqrt(vv),
			      "direction %d: g.v %.7g, finite difference %.7g", dir, gv, fd);
	}
	memcpy(p, p0, P * sizeof *p0);
	free(v);
	free(p0);
	free(g);
	one_free(&o);
}
END_TEST

/* Micro-batches of 1, 2, 3 and 6 records: the same loss, objective and
 * gradient (the divisor is the step's, not the micro-batch's); the loss is
 * Σ NLL over the predicted positions of separate forwards. */
START_TEST(test_micro_batches)
{
	struct ifg_tokdata d;
	make_data(&d, NREC, 12, 1);
	const long micros[] = { 6, 1, 2, 3 };
	float *g0 = NULL;
	struct ifg_step_stats s0 = { 0 };
	for (int i = 0; i < 4; i++) {
		struct ifg_gpt *m = model(5, &d, micros[i]);
		struct ifg_train_hp hp = hp_of(NREC, micros[i], 0.5, 1);
		struct ifg_trainstep s;
		ifg_trainstep_init(&s, m, &hp, &d, NULL, (int)d.max_len);
		struct ifg_step_stats st;
		ck_assert_int_eq(ifg_trainstep_grads(&s, order, &st), 0);
		if (i == 0) {
			g0 = copy_grads(m);
			s0 = st;
			/* the loss from one forward a record */
			double nll = 0;
			int64_t npred = 0;
			for (size_t r = 0; r < d.n; r++) {
				int len = (int)(d.off[r + 1] - d.off[r]);
				double sum;
				int32_t tgt[MAXLEN];
				for (int t = 0; t < len; t++)
					tgt[t] = t + 1 < len ? (int32_t)d.tok[d.off[r] + t + 1] : -1;
				ck_assert_int_eq(ifg_gpt_forward(m, d.tok + d.off[r], tgt, 1, len, &sum), 0);
				nll += sum;
				npred += len - 1;
			}
			ck_assert_close(st.loss, nll / (double)npred, 1e-6);
		} else {
			ck_assert_int_eq(st.labels, s0.labels);
			ck_assert_close(st.loss, s0.loss, 1e-6);
			ck_assert_close(st.objective, s0.objective, 1e-6);
			for (size_t k = 0; k < ifg_gpt_nparams(m); k++)
				ck_assert_close(ifg_gpt_grad_mem(m)[k], g0[k], 1e-5);
		}
		ifg_trainstep_release(&s);
		ifg_gpt_free(m);
	}
	ck_assert(s0.objective != s0.loss);	/* the penalty changed the objective */
	free(g0);
	ifg_tokdata_free(&d);
}
END_TEST

/* Every token masked: lambda 1 makes the objective the negated loss and the
 * gradient the negated plain one; lambda 0 makes both zero while the loss
 * stays the same. */
START_TEST(test_penalty)
{
	struct ifg_tokdata plain, all;
	make_data(&plain, NREC, 13, 0);
	make_data(&all, NREC, 13, 2);
	ck_assert_mem_eq(plain.tok, all.tok, plain.ntok * sizeof *plain.tok);
	struct ifg_gpt *m = model(6, &plain, 3);
	struct ifg_train_hp hp = hp_of(NREC, 3, 1, 1);
	struct ifg_trainstep s;
	ifg_trainstep_init(&s, m, &hp, &plain, NULL, (int)plain.max_len);
	struct ifg_step_stats sp, sa, sz;
	ck_assert_int_eq(ifg_trainstep_grads(&s, order, &sp), 0);
	float *gp = copy_grads(m);
	s.d = &all;
	ck_assert_int_eq(ifg_trainstep_grads(&s, order, &sa), 0);
	ck_assert_close(sa.loss, sp.loss, 1e-12);
	ck_assert_close(sa.objective, -sp.objective, 1e-9);
	ck_assert(sp.objective > 0);
	size_t n = ifg_gpt_nparams(m);
	double gn = 0;
	for (size_t k = 0; k < n; k++) {
		ck_assert_close(ifg_gpt_grad_mem(m)[k], -gp[k], 1e-6);
		gn += fabs(gp[k]);
	}
	ck_assert(gn > 0);
	s.hp.lambda = 0;
	ck_assert_int_eq(ifg_trainstep_grads(&s, order, &sz), 0);
	ck_assert_close(sz.loss, sp.loss, 1e-12);
	ck_assert(sz.objective == 0);
	for (size_t k = 0; k < n; k++)
		ck_assert_msg(ifg_gpt_grad_mem(m)[k] == 0, "gradient %zu is %g", k,
			      ifg_gpt_grad_mem(m)[k]);
	free(gp);
	ifg_trainstep_release(&s);
	ifg_gpt_free(m);
	ifg_tokdata_free(&plain);
	ifg_tokdata_free(&all);
}
END_TEST

/* The update: the norm before clipping, the gradient clipped to the norm
 * asked, the schedule's rate, and weight decay only on the tensors whose
 * table entry has decay. */
START_TEST(test_update)
{
	struct ifg_tokdata d;
	make_data(&d, NREC, 14, 1);
	struct ifg_train_hp hp[2] = { hp_of(4, 2, 0.5, 0.05), hp_of(4, 2, 0.5, 0.05) };
	hp[0].adam.weight_decay = 0;
	hp[1].adam.weight_decay = 0.5f;
	struct twin w;
	twin_init(&w, 7, &d, hp);
	struct ifg_gpt **m = w.m;
	for (int i = 0; i < 2; i++) {
		struct ifg_trainstep *s = &w.s[i];
		struct ifg_step_stats st;
		ck_assert_int_eq(ifg_trainstep_grads(s, order, &st), 0);
		double norm = ifg_grad_norm(ifg_gpt_grad_mem(m[i]), s->P);
		ck_assert(norm > 0.05);
		ck_assert_int_eq(ifg_trainstep_update(s, 4, &st), 0);
		ck_assert_close(st.grad_norm, norm, 1e-12);
		ck_assert_close(ifg_grad_norm(ifg_gpt_grad_mem(m[i]), s->P), 0.05, 1e-4);
		ck_assert_close(st.lr, ifg_sched_lr(&hp[i].sched, 4), 1e-15);
		ck_assert(st.lr > 0 && st.lr < 1e-2);
	}
	int decayed = 0, kept = 0;
	for (int ti = 0; ti < ifg_gpt_ntensors(m[0]); ti++) {
		const struct ifg_gpt_tensor *t = ifg_gpt_tensor(m[0], ti);
		const float *a = ifg_gpt_param_mem(m[0]) + t->offset,
			    *b = ifg_gpt_param_mem(m[1]) + t->offset;
		bool same = memcmp(a, b, t->n * sizeof *a) == 0;
		ck_assert_msg(same == !t->decay, "%s: decay %d, but the parameters %s", t->name,
			      t->decay, same ? "are the same" : "differ");
		decayed += t->decay;
		kept += !t->decay;
	}
	ck_assert(decayed > 0 && kept > 0);
	twin_free(&w);
	ifg_tokdata_free(&d);
}
END_TEST

/* Bit-identical steps from the same start, and a step that moves the
 * moments off zero; clipping off keeps the gradient. */
START_TEST(test_deterministic)
{
	struct ifg_tokdata d;
	make_data(&d, NREC, 15, 1);
	const struct ifg_train_hp hp[2] = { hp_of(3, 3, 1, 0), hp_of(3, 3, 1, 0) };
	struct twin w;
	twin_init(&w, 8, &d, hp);
	struct ifg_trainstep *s = w.s;
	for (int i = 0; i < 2; i++)
		for (long k = 0; k < 4; k++) {
			struct ifg_step_stats st;
			ck_assert_int_eq(ifg_trainstep_grads(&s[i], order + (k % 2) * 3, &st), 0);
			float *g = copy_grads(w.m[i]);
			ck_assert_int_eq(ifg_trainstep_update(&s[i], k, &st), 0);
			ck_assert_mem_eq(g, ifg_gpt_grad_mem(w.m[i]), s[i].P * sizeof *g);
			free(g);
		}
	size_t P = s[0].P;
	const float *p0 = ifg_gpt_param_mem(w.m[0]), *p1 = ifg_gpt_param_mem(w.m[1]);
	ck_assert_mem_eq(p0, p1, P * sizeof(float));
	ck_assert_mem_eq(s[0].mv, s[1].mv, 2 * P * sizeof(float));
	size_t nz = 0;
	for (size_t k = 0; k < 2 * P; k++)
		nz += s[0].mv[k] != 0;
	ck_assert(nz > P);
	struct ifg_step_stats st;
	ck_assert_int_eq(ifg_trainstep_run(&s[0], order, 4, &st), 0);
	ck_assert(memcmp(p0, p1, P * sizeof(float)));
	twin_free(&w);
	ifg_tokdata_free(&d);
}
END_TEST

/* A loss that is not finite stops the step before anything changes; a
 * token outside the model stops the forward.  The records a step takes. */
START_TEST(test_errors)
{
	struct one o;
	one_init(&o, 16, 1, 9, 2, 2, 1, 1);
	ck_assert_int_eq(ifg_trainstep_refresh(&o.s), -1);	/* no forward yet */
	size_t P = o.s.P;
	const struct ifg_gpt_tensor *t0 = ifg_gpt_tensor(o.m, 0);
	for (size_t k = 0; k < t0->n; k++)
		ifg_gpt_param_mem(o.m)[t0->offset + k] = NAN;
	float *before = ifg_xmalloc(P, sizeof *before);
	memcpy(before, ifg_gpt_param_mem(o.m), P * sizeof *before);
	struct ifg_step_stats st;
	ck_assert_int_eq(ifg_trainstep_run(&o.s, order, 2, &st), -1);
	ck_assert_str_eq(ifg_err(), "step 3: the loss is not finite");
	ck_assert_mem_eq(before, ifg_gpt_param_mem(o.m), P * sizeof *before);
	for (size_t k = 0; k < 2 * P; k++)
		ck_assert(o.s.mv[k] == 0);
	o.d.tok[o.d.off[order[0]]] = (uint32_t)tiny.vocab_size;
	ck_assert_int_eq(ifg_trainstep_grads(&o.s, order, &st), -1);
	ck_assert_msg(strncmp(ifg_err(), "forward: ", 9) == 0, "%s", ifg_err());
	/* a step's records: positions step * batch .. of the epochs' stream */
	struct ifg_order ord;
	ifg_order_init(&ord, NREC, 1, false);
	const size_t *idx = ifg_trainstep_take(&o.s, &ord, 5);	/* positions 10, 11 */
	ck_assert_ptr_eq(idx, o.s.idx);
	ck_assert_uint_eq(idx[0], 4);
	ck_assert_uint_eq(idx[1], 5);
	ifg_order_free(&ord);
	free(before);
	one_free(&o);
}
END_TEST

/* Validation: the mean NLL a predicted position over records in micro
 * batches padded to T (one forward a record gives the same); NaN for
 * records that predict nothing.  The repeated last forward: the NLL of the
 * step's last micro-batch. */
START_TEST(test_eval_refresh)
{
	struct one o;
	one_init(&o, 18, 1, 10, 4, 2, 1, 1);
	double sum = 0, last = 0;
	int64_t npred = 0;
	for (size_t r = 0; r < o.d.n; r++) {
		int len = (int)(o.d.off[r + 1] - o.d.off[r]);
		int32_t tgt[MAXLEN];
		for (int t = 0; t < len; t++)
			tgt[t] = t + 1 < len ? (int32_t)o.d.tok[o.d.off[r] + t + 1] : -1;
		double s1;
		ck_assert_int_eq(ifg_gpt_forward(o.m, o.d.tok + o.d.off[r], tgt, 1, len, &s1), 0);
		sum += s1;
		npred += len - 1;
		if (order[2] == r || order[3] == r)	/* the last micro-batch */
			last += s1;
	}
	double v;
	ck_assert_int_eq(ifg_trainstep_eval(&o.s, &o.d, &v), 0);
	ck_assert_close(v, sum / (double)npred, 1e-6);

	struct ifg_step_stats st;
	ck_assert_int_eq(ifg_trainstep_grads(&o.s, order, &st), 0);
	ck_assert_int_eq(ifg_trainstep_refresh(&o.s), 0);
	ck_assert_int_eq(o.s.rows, 2);
	int Tm = 0;
	for (int k = 2; k < 4; k++)
		if ((int)(o.d.off[order[k] + 1] - o.d.off[order[k]]) > Tm)
			Tm = (int)(o.d.off[order[k] + 1] - o.d.off[order[k]]);
	ck_assert_int_eq(o.s.cols, Tm);
	ck_assert(Tm < (int)o.d.max_len);	/* shorter than the step's longest */
	double nll = 0;
	for (int k = 0; k < o.s.rows * o.s.cols; k++)
		nll += ifg_gpt_nll(o.m)[k];
	ck_assert_close(nll, last, 1e-5);
	ck_assert_int_eq(ifg_trainstep_eval(&o.s, &o.d, &v), 0);
	ck_assert_int_eq(ifg_trainstep_refresh(&o.s), -1);	/* the evaluation overwrote it */

	uint64_t off[3] = { 0, 1, 2 };	/* two one-token records */
	uint32_t tok[2] = { 3, 4 };
	struct ifg_tokdata ones = { .n = 2, .off = off, .tok = tok, .ntok = 2, .max_len = 1 };
	ck_assert_int_eq(ifg_trainstep_eval(&o.s, &ones, &v), 0);
	ck_assert(isnan(v));
	one_free(&o);
}
END_TEST

/* DPO: the policy equal to its reference has loss log 2 a pair; micro
 * batches of 1 and 2 pairs give the step's gradient; an update on the
 * same pairs lowers their loss. */
START_TEST(test_dpo)
{
	struct ifg_pairdata pd;
	ifg_pairdata_init(&pd);
	struct ifg_rng r;
	ifg_rng_init(&r, 19);
	for (int i = 0; i < 4; i++) {
		uint32_t p[3], c[4], j[4];
		for (int k = 0; k < 4; k++) {
			p[k % 3] = (uint32_t)ifg_rng_below(&r, tiny.vocab_size);
			c[k] = (uint32_t)ifg_rng_below(&r, tiny.vocab_size);
			j[k] = (uint32_t)ifg_rng_below(&r, tiny.vocab_size);
		}
		ck_assert_int_eq(ifg_pairdata_add(&pd, p, 1 + i % 3, c, 1 + i, j, 4 - i), 0);
	}
	static const size_t idx[4] = { 2, 0, 3, 1 };
	float *g0 = NULL;
	for (long micro = 2; micro >= 1; micro--) {
		struct ifg_gpt *m = ifg_test_gpt(&tiny, 20, 0.4), *ref = ifg_test_gpt(&tiny, 20, 0.4);
		ck_assert_int_eq(ifg_gpt_reserve(m, 2 * (int)micro, (int)pd.max_len, IFG_GPT_TRAIN), 0);
		struct ifg_dpo x;
		ifg_dpo_init(&x, &pd, 0.2, (int)micro);
		ck_assert_int_eq(ifg_dpo_reference(&x, ref), 0);
		ifg_gpt_free(ref);
		struct ifg_train_hp hp = hp_of(4, micro, 1, 0);
		struct ifg_trainstep s;
		struct ifg_step_stats st;
		ifg_trainstep_init(&s, m, &hp, NULL, &x, (int)pd.max_len);
		ck_assert_int_eq(ifg_trainstep_grads(&s, idx, &st), 0);
		ck_assert_close(st.loss, log(2.0), 1e-6);
		ck_assert(st.objective == st.loss);
		ck_assert_int_eq(st.dpo.pairs, 4);
		ck_assert_close(st.dpo.margin, 0, 1e-6);
		ck_assert_int_eq(s.rows, 2 * (int)micro);
		int64_t tokens = 0;
		for (int i = 0; i < 4; i++) {
			int64_t all = (int64_t)(pd.off[i + 1] - pd.off[i]);
			tokens += all + pd.np[i];	/* the prompt in both sequences */
		}
		ck_assert_int_eq(st.labels, tokens);
		if (!g0) {
			g0 = copy_grads(m);
		} else {
			for (size_t k = 0; k < s.P; k++)
				ck_assert_close(ifg_gpt_grad_mem(m)[k], g0[k], 1e-5);
		}
		ck_assert_int_eq(ifg_trainstep_update(&s, 1, &st), 0);
		ck_assert_int_eq(ifg_trainstep_grads(&s, idx, &st), 0);
		ck_assert_msg(st.loss < log(2.0) - 1e-4, "loss %.9g after a step", st.loss);
		ifg_trainstep_release(&s);
		ifg_dpo_release(&x);
		ifg_gpt_free(m);
	}
	free(g0);
	ifg_pairdata_free(&pd);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("trainstep");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_objective_gradient);
	tcase_add_test(tc, test_micro_batches);
	tcase_add_test(tc, test_penalty);
	tcase_add_test(tc, test_update);
	tcase_add_test(tc, test_deterministic);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_eval_refresh);
	tcase_add_test(tc, test_dpo);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN
