/* kinds.h: every record kind and key of the ifg stream format, defined once.
 * man/ifg-records.5 is the user's reference; keep the two in step.
 *
 * Every stream starts with a header map {kind, version, ...}; arrays are
 * {dtype, shape, data} maps (rec.h).  Records keep fields they do not
 * consume, so an "id" given to ifg-tokenize reaches ifg-select's output.
 *
 * tokens   header: tokenizer {name, sha256, vocab_size, eot (-1: none)},
 *                  block (0 = one record per document)
 *                  select (ifg-select's output: {method, budget, percentile,
 *                  threshold, window, seed, model}, the settings that made the
 *                  masks; which keys appear depends on the method)
 *          record: id (str or int), tokens (u16 or u32 [T]),
 *                  cont (int, optional: queries; the loss covers the labels
 *                        at positions >= cont, i.e. the continuation tokens),
 *                  mask (u8 [T], optional: 1 = selected, aligned with tokens),
 *                  any carried fields (e.g. label, text)
 * pairs    header: tokenizer (as tokens)
 *          record: id, prompt (u16 or u32 [P], P >= 1), chosen and rejected
 *                  (u16 or u32, >= 1 token each: the preferred and the
 *                  dispreferred continuation of the prompt), carried fields;
 *                  ifg-train --dpo trains on prompt+chosen vs prompt+rejected
 * grads    header: model {...model identity, see MODEL below}, tokenizer,
 *                  layers [{name, d_in, d_out[, bias: false]}] (d_in without
 *                  the bias 1; na = d_in + 1 with a bias, d_in without),
 *                  labels ("true" | "sampled"), seed, dtype ("f32" | "bf16")
 *          record: the tokens record's fields + grads [per layer, header
 *                  order: {a: (T, na), s: (T, d_out)}]
 * gradsum  header: as grads, plus count (records summed)
 *          record: one: count, G [per layer: f64 (d_out, na)]
 * scores   header: model, tokenizer, plus what produced them (method,
 *                  damping, ...);
 *          record: the tokens record's fields + scores (f32 [T]),
 *                  layer_scores (f32 [L, T], optional)
 * MODEL    {sha256 (of the weights and configuration: ifg_gpt_identity),
 *           n_layer, n_head, n_embd, n_ctx, vocab_size[, arch]}: arch
 *          ("gpt_neox", "llama") only for a model that is not a GPT-2
 */
#ifndef IFG_KINDS_H
#define IFG_KINDS_H

/* header keys */
#define IFG_K_KIND "kind"
#define IFG_K_VERSION "version"
#define IFG_K_TOKENIZER "tokenizer"
#define IFG_K_MODEL "model"
#define IFG_K_LAYERS "layers"
#define IFG_K_NAME "name"
#define IFG_K_SHA256 "sha256"
#define IFG_K_ARCH "arch"
#define IFG_K_VOCAB_SIZE "vocab_size"
#define IFG_K_EOT "eot"
#define IFG_K_BLOCK "block"
#define IFG_K_D_IN "d_in"
#define IFG_K_D_OUT "d_out"
#define IFG_K_LABELS "labels"
#define IFG_K_SEED "seed"
#define IFG_K_DTYPE "dtype"
#define IFG_K_COUNT "count"

/* record keys */
#define IFG_K_ID "id"
#define IFG_K_TOKENS "tokens"
#define IFG_K_CONT "cont"
#define IFG_K_MASK "mask"
#define IFG_K_PROMPT "prompt"
#define IFG_K_CHOSEN "chosen"
#define IFG_K_REJECTED "rejected"
#define IFG_K_GRADS "grads"
#define IFG_K_A "a"
#define IFG_K_S "s"
#define IFG_K_G "G"
#define IFG_K_SCORES "scores"
#define IFG_K_LAYER_SCORES "layer_scores"

/* EK-FAC stages (cov, eigen, factors: one record per layer) and scores
 * (ifg-factor, ifg-influence; see man 5 ifg-records). */
#define IFG_K_LAYER "layer"		/* int: index into the header's layers */
#define IFG_K_A_SUM "A_sum"		/* f64 (na, na) */
#define IFG_K_A_COUNT "A_count"		/* int: tokens summed into A_sum */
#define IFG_K_S_SUM "S_sum"		/* f64 (o, o) */
#define IFG_K_S_COUNT "S_count"		/* int: tokens summed into S_sum */
#define IFG_K_QA "QA"			/* f64 (na, na): columns are eigenvectors */
#define IFG_K_EIGVALS_A "eigvals_A"	/* f64 (na), ascending */
#define IFG_K_QS "QS"			/* f64 (o, o) */
#define IFG_K_EIGVALS_S "eigvals_S"	/* f64 (o) */
#define IFG_K_LAMBDA_SUM "Lambda_sum"	/* f64 (o, na) */
#define IFG_K_LAMBDA_COUNT "Lambda_count" /* int: records summed into Lambda_sum */
#define IFG_K_STRATEGY "strategy"	/* str: identity | diagonal | kfac | ekfac */
#define IFG_K_RECORDS "records"		/* int: grads records consumed */
#define IFG_K_METHOD "method"		/* scores: "differential" | "toxic-only";
					   select: ifguide | words | drop-docs | random */
#define IFG_K_LEVEL "level"		/* "token" | "document" */
#define IFG_K_DAMPING "damping"		/* {rule, value, layers} */
#define IFG_K_RULE "rule"		/* "fixed" | "heuristic" | "none" (identity) */
#define IFG_K_VALUE "value"		/* δ (fixed) or the scale of mean(C) (heuristic) */
#define IFG_K_QUERIES "queries"		/* K_tox: toxic query records */
#define IFG_K_NEGATIVES "negatives"	/* K_safe: non-toxic query records (0: none) */
#define IFG_K_SCORE "score"		/* f64: Σ_t S[t] = ⟨P, G_n⟩ over layers */
#define IFG_K_LAYER_SCORE "layer_score"	/* f64 [L] */

/* The select map of a masked tokens header (ifg-select); method as above. */
#define IFG_K_SELECT "select"
#define IFG_K_BUDGET "budget"		/* int: the token budget L */
#define IFG_K_PERCENTILE "percentile"	/* f64: p of the threshold (ifguide) */
#define IFG_K_THRESHOLD "threshold"	/* f64 τ, or nil without scores (ifguide) */
#define IFG_K_WINDOW "window"		/* int: w (ifguide) */

/* kinds */
#define IFG_KIND_TOKENS "tokens"
#define IFG_KIND_PAIRS "pairs"
#define IFG_KIND_GRADS "grads"
#define IFG_KIND_GRADSUM "gradsum"
#define IFG_KIND_SCORES "scores"
#define IFG_KIND_COV "cov"
#define IFG_KIND_EIGEN "eigen"
#define IFG_KIND_FACTORS "factors"

#endif
