/* kernels.c: the model's numeric kernels, forward/backward pairs (kernels.h).
 *
 * Notation: N rows (positions), C features, B sequences of T positions, NH
 * heads of hs = C / NH.  Every matrix is row-major. */
#include "kernels.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define IFG_AVX2 1
#endif

#define ATT_BLOCK 128 /* rows per attention block: the masked triangle is skipped per block */

/* ------------------------------------------------------- vector kernels */

/* exp(x) for x in float range: Cephes' expf polynomial (relative error about
 * 2e-7), the same in the AVX2 and the scalar path.  Clamped so that the
 * result is a normal float (or +large). */
static inline float exp_scalar(float x)
{
	x = fminf(fmaxf(x, -87.33654f), 88.37626f);
	float n = nearbyintf(x * 1.44269504088896341f);
	float r = x - n * 0.693359375f + n * 2.12194440e-4f;
	float y = 1.9875691500E-4f;
	y = y * r + 1.3981999507E-3f;
	y = y * r + 8.3334519073E-3f;
	y = y * r + 4.1665795894E-2f;
	y = y * r + 1.6666665459E-1f;
	y = y * r + 5.0000001201E-1f;
	y = y * r * r + r + 1.0f;
	union { uint32_t u; float f; } p = { .u = (uint32_t)((int)n + 127) << 23 };
	return y * p.f;
}

#ifdef IFG_AVX2
static inline __m256 exp_avx2(__m256 x)
{
	x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33654f)), _mm256_set1_ps(88.37626f));
	__m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
				   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
	r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
	__m256 y = _mm256_set1_ps(1.9875691500E-4f);
	y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507E-3f));
	y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073E-3f));
	y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894E-2f));
	y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459E-1f));
	y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201E-1f));
	y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
	__m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
	return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

static inline float hsum_avx2(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}
#endif

/* y[i] = exp(x[i] - sub) * mul; returns Σ exp(x[i] - sub) (before mul). */
float ifg_exp_shift(float *y, const float *x, int n, float sub, float mul)
{
	int i = 0;
	float sum = 0;
#ifdef IFG_AVX2
	__m256 vs = _mm256_set1_ps(sub), vm = _mm256_set1_ps(mul), acc = _mm256_setzero_ps();
	for (; i + 8 <= n; i += 8) {
		__m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), vs));
		acc = _mm256_add_ps(acc, e);
		_mm256_storeu_ps(y + i, _mm256_mul_ps(e, vm));
	}
	sum = hsum_avx2(acc);
#endif
	for (; i < n; i++) {
		float e = exp_scalar(x[i] - sub);
		sum += e;
		y[i] = e * mul;
	}
	return sum;
}

/* Σ exp(x[i] - sub), double accumulation across vector lanes' partials. */
double ifg_sum_exp(const float *x, int n, float sub)
{
	int i = 0;
	double sum = 0;
#ifdef IFG_AVX2
	__m256 vs = _mm256_set1_ps(sub);
	for (; i + 64 <= n; i += 64) { /* 64-element partial sums in float */
		__m256 acc = _mm256_setzero_ps();
		for (int j = 0; j < 64; j += 8)
			acc = _mm256_add_ps(acc, exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i + j), vs)));
		sum += hsum_avx2(acc);
	}
#endif
	for (; i < n; i++)
		sum += exp_scalar(x[i] - sub);
	return sum;
}

float ifg_max_of(const float *x, int n)
{
	int i = 0;
	float mx = -INFINITY;
#ifdef IFG_AVX2
	if (n >= 8) {
		__m256 v = _mm256_loadu_ps(x);
		for (i = 8; i + 8 <= n; i += 8)
			v = _mm256_max_ps(v, _mm256_loadu_ps(x + i));
		float t[8];
		_mm256_storeu_ps(t, v);
		for (int j = 0; j < 8; j++)
			mx = fmaxf(mx, t[j]);
	}
#endif
	for (; i < n; i++)
		mx = fmaxf(mx, x[i]);
	return mx;
}

/* GELU, tanh form ("gelu_new"): y = x/2 (1 + tanh(k (x + 0.044715 x^3))),
 * k = sqrt(2/pi); tanh(u) = 1 - 2 / (1 + exp(2u)). */
#define GELU_K 0.7978845608028654f
#define GELU_A 0.044715f

static inline float gelu_scalar(float x)
{
	float u = GELU_K * (x + GELU_A * x * x * x);
	float t = 1.0f - 2.0f / (1.0f + exp_scalar(2.0f * u));
	return 0.5f * x * (1.0f + t);
}

/* dy/dx = (1 + t)/2 + x/2 (1 - t^2) k (1 + 3a x^2) */
static inline float gelu_grad_scalar(float x)
{
	float u = GELU_K * (x + GELU_A * x * x * x);
	float t = 1.0f - 2.0f / (1.0f + exp_scalar(2.0f * u));
	return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_A * x * x);
}

void ifg_gelu_tanh_fwd(float *y, const float *x, size_t n)
{
	size_t i = 0;
#ifdef IFG_AVX2
	const __m256 k = _mm256_set1_ps(GELU_K), a = _mm256_set1_ps(GELU_A),
		     one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f),
		     half = _mm256_set1_ps(0.5f);
	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_loadu_ps(x + i);
		__m256 u = _mm256_mul_ps(k, _mm256_fmadd_ps(_mm256_mul_ps(a, v), _mm256_mul_ps(v, v), v));
		__m256 e = exp_avx2(_mm256_mul_ps(two, u));
		__m256 t = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(one, e)));
		_mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, t)));
	}
#endif
	for (; i < n; i++)
		y[i] = gelu_scalar(x[i]);
}

/* dx = dy * gelu'(x) */
void ifg_gelu_tanh_bwd(float *dx, const float *x, const float *dy, size_t n)
{
	size_t i = 0;
#ifdef IFG_AVX2
	const __m256 k = _mm256_set1_ps(GELU_K), a = _mm256_set1_ps(GELU_A),
		     a3 = _mm256_set1_ps(3.0f * GELU_A), one = _mm256_set1_ps(1.0f),
		     two = _mm256_set1_ps(2.0f), half = _mm256_set1_ps(0.5f);
	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_loadu_ps(x + i), v2 = _mm256_mul_ps(v, v);
		__m256 u = _mm256_mul_ps(k, _mm256_fmadd_ps(_mm256_mul_ps(a, v), v2, v));
		__m256 e = exp_avx2(_mm256_mul_ps(two, u));
		__m256 t = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(one, e)));
		__m256 g1 = _mm256_mul_ps(half, _mm256_add_ps(one, t));
		__m256 sech2 = _mm256_fnmadd_ps(t, t, one);
		__m256 du = _mm256_mul_ps(k, _mm256_fmadd_ps(a3, v2, one));
		__m256 g = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_mul_ps(half, v), sech2), du, g1);
		_mm256_storeu_ps(dx + i, _mm256_mul_ps(g, _mm256_loadu_ps(dy + i)));
	}
#endif
	for (; i < n; i++)
		dx[i] = dy[i] * gelu_grad_scalar(x[i]);
}

/* ------------------------------------------------------------------- ops */

void ifg_layernorm_fwd(float *out, float *mean, float *rstd, const float *inp, const float *w,
		       const float *b, size_t N, int C, float eps)
{
	for (size_t r = 0; r < N; r++) {
		const float *x = inp + r * C;
		float s = 0;
		for (int i = 0; i < C; i++)
			s += x[i];
		float mu = s / C, v = 0;
		for (int i = 0; i < C; i++) {
			float d = x[i] - mu;
			v += d * d;
		}
		float rs = 1.0f / sqrtf(v / C + eps);
		float *o = out + r * C;
		for (int i = 0; i < C; i++)
			o[i] = (x[i] - mu) * rs * w[i] + b[i];
		if (mean)
			mean[r] = mu;
		if (rstd)
			rstd[r] = rs;
	}
}

/* dinp (N, C) = dres (N, C) + LayerNorm backward of dout; dw, db (C) +=.
 * dres may be NULL (no residual gradient to add). */
void ifg_layernorm_bwd(float *dinp, const float *dres, float *dw, float *db, const float *dout,
		       const float *inp, const float *w, const float *mean, const float *rstd,
		       size_t N, int C)
{
	for (size_t r = 0; r < N; r++) {
		const float *x = inp + r * C, *dy = dout + r * C;
		float mu = mean[r], rs = rstd[r];
		float dsum = 0, dxsum = 0;
		for (int i = 0; i < C; i++) {
			float xh = (x[i] - mu) * rs, dn = dy[i] * w[i];
			dsum += dn;
			dxsum += dn * xh;
		}
		dsum /= C;
		dxsum /= C;
		float *dx = dinp + r * C;
		const float *rr = dres ? dres + r * C : NULL;
		for (int i = 0; i < C; i++) {
			float xh = (x[i] - mu) * rs, dn = dy[i] * w[i];
			if (dw) {
				db[i] += dy[i];
				dw[i] += dy[i] * xh;
			}
			float g = rs * (dn - dsum - xh * dxsum);
			dx[i] = rr ? rr[i] + g : g;
		}
	}
}

/* out (N, dout) = inp (N, din) W (din, dout) + b (dout) */
void ifg_linear_fwd(float *out, const float *inp, const float *w, const float *b, size_t N,
		    int din, int dout)
{
	for (size_t r = 0; r < N; r++)
		memcpy(out + r * dout, b, dout * sizeof(float));
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, dout, din, 1.0f, inp, din, w,
		    dout, 1.0f, out, dout);
}

/* Backward of linear_fwd for upstream gradient g (N, dout):
 *   dinp (N, din) = g Wᵀ           (overwritten; skipped when dinp is NULL)
 *   dW (din, dout) += inpᵀ g ;  db (dout) += gᵀ 1 */
void ifg_linear_bwd(float *dinp, float *dw, float *db, const float *g, const float *inp,
		    const float *w, const float *ones, size_t N, int din, int dout)
{
	if (dinp)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, din, dout, 1.0f, g, dout,
			    w, dout, 0.0f, dinp, din);
	if (!dw)
		return;
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, din, dout, (int)N, 1.0f, inp, din, g,
		    dout, 1.0f, dw, dout);
	cblas_sgemv(CblasRowMajor, CblasTrans, (int)N, dout, 1.0f, g, dout, ones, 1, 1.0f, db, 1);
}

/* out (N, dout) = inp (N, din) Wᵀ (din, dout) + b */
void ifg_linear_t_fwd(float *out, const float *inp, const float *w, const float *b, size_t N,
		      int din, int dout)
{
	float beta = 0.0f;
	if (b) {
		for (size_t r = 0; r < N; r++)
			memcpy(out + r * dout, b, dout * sizeof(float));
		beta = 1.0f;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, dout, din, 1.0f, inp, din, w,
		    din, beta, out, dout);
}

/* dinp (N, din) = g (N, dout) W (dout, din);  dW (dout, din) += gᵀ inp */
void ifg_linear_t_bwd(float *dinp, float *dw, float *db, const float *g, const float *inp,
		      const float *w, const float *ones, size_t N, int din, int dout)
{
	if (dinp)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, din, dout, 1.0f, g, dout,
			    w, din, 0.0f, dinp, din);
	if (!dw)
		return;
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dout, din, (int)N, 1.0f, g, dout, inp,
		    din, 1.0f, dw, din);
	if (db)
		cblas_sgemv(CblasRowMajor, CblasTrans, (int)N, dout, 1.0f, g, dout, ones, 1, 1.0f, db, 1);
}

/* One row of attention scores, n entries of which are seen: softmax in
 * place, zeros from n to end. */
static void softmax_row(float *row, int n, int end)
{
	float mx = ifg_max_of(row, n);
	float inv = 1.0f / ifg_exp_shift(row, row, n, mx, 1.0f);
	for (int j = 0; j < n; j++)
		row[j] *= inv;
	for (int j = n; j < end; j++)
		row[j] = 0.0f;
}

/* Causal self-attention of one layer (kernels.h: the layout).
 * att (B, NH, T, T): softmax(q kᵀ / sqrt(hs)) with zeros above the diagonal
 * (up to the end of each ATT_BLOCK row block); y (B, T, NH hs). */
void ifg_attention_fwd(float *y, float *att, const float *qkv, int B, int T,
		       const struct ifg_att_layout *lo)
{
	int hs = lo->hs, NH = lo->NH, ld = lo->ld, C = NH * hs, grp = NH / lo->NKV;
	float scale = 1.0f / sqrtf((float)hs);
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++) {
			const float *row0 = qkv + (size_t)b * T * ld;
			const float *q = row0 + lo->q0 + h * lo->qstep;
			const float *k = row0 + lo->k0 + (h / grp) * lo->kvstep;
			const float *v = row0 + lo->v0 + (h / grp) * lo->kvstep;
			float *P = att + ((size_t)b * NH + h) * T * T;
			float *yo = y + (size_t)b * T * C + h * hs;
			for (int i0 = 0; i0 < T; i0 += ATT_BLOCK) {
				int i1 = i0 + ATT_BLOCK < T ? i0 + ATT_BLOCK : T;
				/* S[i0:i1, 0:i1] = scale q[i0:i1] k[0:i1]ᵀ : (M, i1) = (M, hs)(hs, i1) */
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, i1 - i0, i1, hs,
					    scale, q + (size_t)i0 * ld, ld, k, ld, 0.0f,
					    P + (size_t)i0 * T, T);
				for (int i = i0; i < i1; i++)
					softmax_row(P + (size_t)i * T, i + 1, i1);
				/* y[i0:i1] = P[i0:i1, 0:i1] v[0:i1] : (M, hs) = (M, i1)(i1, hs) */
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, i1 - i0, hs, i1,
					    1.0f, P + (size_t)i0 * T, T, v, ld, 0.0f,
					    yo + (size_t)i0 * C, C);
			}
		}
}

/* Backward of attention_fwd: dy (B, T, NH hs) -> dqkv's q, k, v columns
 * (overwritten; the query heads of a group add into their key/value head in
 * head order); dS (T, T) scratch. */
void ifg_attention_bwd(float *dqkv, float *dS, const float *dy, const float *att,
		       const float *qkv, int B, int T, const struct ifg_att_layout *lo)
{
	int hs = lo->hs, NH = lo->NH, ld = lo->ld, C = NH * hs, grp = NH / lo->NKV;
	float scale = 1.0f / sqrtf((float)hs);
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++) {
			size_t r0 = (size_t)b * T * ld;
			size_t qo = r0 + lo->q0 + h * lo->qstep;
			size_t ko = r0 + lo->k0 + (h / grp) * lo->kvstep;
			size_t vo = r0 + lo->v0 + (h / grp) * lo->kvstep;
			const float *q = qkv + qo, *k = qkv + ko, *v = qkv + vo;
			float *dq = dqkv + qo, *dk = dqkv + ko, *dv = dqkv + vo;
			float beta = h % grp ? 1.0f : 0.0f; /* the group's first head overwrites */
			const float *P = att + ((size_t)b * NH + h) * T * T;
			const float *dyo = dy + (size_t)b * T * C + h * hs;
			for (int i0 = 0; i0 < T; i0 += ATT_BLOCK) {
				int i1 = i0 + ATT_BLOCK < T ? i0 + ATT_BLOCK : T;
				/* dP[i0:i1, 0:i1] = dy[i0:i1] v[0:i1]ᵀ : (M, i1) = (M, hs)(hs, i1) */
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, i1 - i0, i1, hs,
					    1.0f, dyo + (size_t)i0 * C, C, v, ld, 0.0f,
					    dS + (size_t)i0 * T, T);
				/* softmax backward: dS = P (dP - Σ_j P dP), zero above the diagonal */
				for (int i = i0; i < i1; i++) {
					const float *p = P + (size_t)i * T;
					float *d = dS + (size_t)i * T;
					float dot = 0;
					for (int j = 0; j <= i; j++)
						dot += p[j] * d[j];
					for (int j = 0; j <= i; j++)
						d[j] = p[j] * (d[j] - dot);
					for (int j = i + 1; j < i1; j++)
						d[j] = 0.0f;
				}
			}
			for (int j0 = 0; j0 < T; j0 += ATT_BLOCK) {
				int j1 = j0 + ATT_BLOCK < T ? j0 + ATT_BLOCK : T;
				/* rows i < j0 have P[i, j] = 0 for j >= j0: only rows j0..T count */
				/* dv[j0:j1] = P[j0:T, j0:j1]ᵀ dy[j0:T] : (M, hs) = (M, T-j0)(T-j0, hs) */
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, j1 - j0, hs, T - j0,
					    1.0f, P + (size_t)j0 * T + j0, T, dyo + (size_t)j0 * C, C,
					    beta, dv + (size_t)j0 * ld, ld);
				/* dk[j0:j1] = scale dS[j0:T, j0:j1]ᵀ q[j0:T] */
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, j1 - j0, hs, T - j0,
					    scale, dS + (size_t)j0 * T + j0, T, q + (size_t)j0 * ld, ld,
					    beta, dk + (size_t)j0 * ld, ld);
				/* dq[j0:j1] = scale dS[j0:j1, 0:j1] k[0:j1] : (M, hs) = (M, j1)(j1, hs) */
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j1 - j0, hs, j1,
					    scale, dS + (size_t)j0 * T, T, k, ld, 0.0f,
					    dq + (size_t)j0 * ld, ld);
			}
		}
}

void ifg_attention_cached(float *y, float *S, const float *q, const float *K, const float *Vc,
			  int ldkv, int len, int p0, const struct ifg_att_layout *lo)
{
	int hs = lo->hs, NH = lo->NH, C = NH * hs, grp = NH / lo->NKV, P = p0 + len;
	float scale = 1.0f / sqrtf((float)hs);
	for (int h = 0; h < NH; h++) {
		int g = h / grp;
		/* S (len, P) = scale q_h (len, hs) K_g (P, hs)ᵀ */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, len, P, hs, scale,
			    q + lo->q0 + h * lo->qstep, lo->ld, K + g * hs, ldkv, 0.0f, S, P);
		for (int j = 0; j < len; j++)	/* row j sees positions 0 .. p0+j */
			softmax_row(S + (size_t)j * P, p0 + j + 1, P);
		/* y_h (len, hs) = S (len, P) V_g (P, hs) */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, hs, P, 1.0f, S, P,
			    Vc + g * hs, ldkv, 0.0f, y + h * hs, C);
	}
}

/* ---------------------------------------------------------- cross-entropy */

float ifg_xent_fwd(const float *z, int V, int y, float *lse)
{
	float mx = ifg_max_of(z, V);
	float l = mx + (float)log(ifg_sum_exp(z, V, mx));
	*lse = l;
	return l - z[y];
}

void ifg_xent_bwd(float *dz, const float *z, int V, int y, float lse, float coef)
{
	ifg_exp_shift(dz, z, V, lse, coef);
	dz[y] -= coef;
}

/* ------------------------------------------------- GELU, exact (erf) form */

#define SQRT1_2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f

void ifg_gelu_exact_fwd(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * SQRT1_2));
}

/* gelu'(x) = Φ(x) + x φ(x) */
void ifg_gelu_exact_bwd(float *dx, const float *x, const float *dy, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float v = x[i];
		float g = 0.5f * (1.0f + erff(v * SQRT1_2)) + v * INV_SQRT_2PI * expf(-0.5f * v * v);
		dx[i] = dy[i] * g;
	}
}

/* ---------------------------------------------------------------- RMSNorm */

void ifg_rmsnorm_fwd(float *out, float *rstd, const float *inp, const float *w, size_t N, int C,
		     float eps)
{
	for (size_t r = 0; r < N; r++) {
		const float *x = inp + r * C;
		float ss = 0;
		for (int i = 0; i < C; i++)
			ss += x[i] * x[i];
		float rs = 1.0f / sqrtf(ss / C + eps);
		float *o = out + r * C;
		for (int i = 0; i < C; i++)
			o[i] = x[i] * rs * w[i];
		if (rstd)
			rstd[r] = rs;
	}
}

/* With xh = x rs and dn = dy w:  dx = rs (dn - xh mean(dn xh)),  dw += dy xh. */
void ifg_rmsnorm_bwd(float *dinp, const float *dres, float *dw, const float *dout,
		     const float *inp, const float *w, const float *rstd, size_t N, int C)
{
	for (size_t r = 0; r < N; r++) {
		const float *x = inp + r * C, *dy = dout + r * C;
		float rs = rstd[r], dot = 0;
		for (int i = 0; i < C; i++)
			dot += dy[i] * w[i] * x[i] * rs;
		dot /= C;
		float *dx = dinp + r * C;
		const float *rr = dres ? dres + r * C : NULL;
		for (int i = 0; i < C; i++) {
			float xh = x[i] * rs;
			if (dw)
				dw[i] += dy[i] * xh;
			float g = rs * (dy[i] * w[i] - xh * dot);
			dx[i] = rr ? rr[i] + g : g;
		}
	}
}

/* ----------------------------------------------------------------- SwiGLU */

static inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

void ifg_swiglu_fwd(float *h, const float *gate, const float *up, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

/* silu'(g) = σ(g) (1 + g (1 - σ(g))) */
void ifg_swiglu_bwd(float *dgate, float *dup, const float *gate, const float *up,
		    const float *dh, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float g = gate[i], sg = sigmoid(g), dhi = dh[i];
		dup[i] = dhi * g * sg;
		dgate[i] = dhi * up[i] * sg * (1.0f + g * (1.0f - sg));
	}
}

/* ----------------------------------------------------------------- rotary */

/* The angles in float as Hugging Face computes them (inv_freq =
 * 1 / base^(2i/rot), angle = pos inv_freq, both rounded to float), so that
 * long positions round as they do there. */
void ifg_rotary_freqs(float *inv, int rot, double base)
{
	for (int i = 0; i < rot / 2; i++)
		inv[i] = 1.0f / powf((float)base, (float)(2 * i) / (float)rot);
}

void ifg_rotary(float *x, size_t ld, size_t N, const int *pos, int nh, int step, int rot,
		const float *inv, int dir)
{
	int half = rot / 2;
	for (int i = 0; i < half; i++) {
		for (size_t r = 0; r < N; r++) {
			float ang = (float)pos[r] * inv[i];
			float c = cosf(ang), s = dir > 0 ? sinf(ang) : -sinf(ang);
			for (int h = 0; h < nh; h++) {
				float *v = x + r * ld + (size_t)h * step;
				float a = v[i], b = v[i + half];
				v[i] = a * c - b * s;
				v[i + half] = b * c + a * s;
			}
		}
	}
}
