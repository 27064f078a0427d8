# ifg-grad on a small trained model: --sum equals the per-record gradients
# summed; sampling is seeded; bf16 and layer selection; and the whole chain
# ifg-grad | ifg-factor | ifg-influence agrees with the dense brute force.
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref tokens --seed 1 --hi 24 -o train.ifg
$ref tokens --seed 2 --hi 9 --queries -o qtox.tok
$ref tokens --seed 3 --hi 7 --queries -o qsafe.tok
ifg-train -q --layers 2 --heads 2 --embd 16 --ctx 16 --vocab 50 -n 3 -o model train.ifg
ifg-grad -q -m model -o grads.ifg train.ifg
ifg-grad -q -m model --sum -o sum.ifg train.ifg
$ref gradsum-check grads.ifg sum.ifg
ifg-grad -q -m model -o qgrads.ifg qtox.tok
ifg-grad -q -m model --sum -o qtox.ifg qtox.tok
$ref gradsum-check qgrads.ifg qtox.ifg
ifg-grad -q -m model --sum qsafe.tok > qsafe.ifg
# sampled labels: the same seed gives the same bytes, another seed others
ifg-grad -q -m model --sample -s 7 -o fit.ifg train.ifg
ifg-grad -q -m model --sample -s 7 train.ifg | cmp - fit.ifg
! ifg-grad -q -m model --sample -s 8 train.ifg | cmp -s - fit.ifg
! cmp -s fit.ifg grads.ifg
ifg-show fit.ifg | head -n 1 | grep -q '"labels":"sampled","seed":7,"dtype":"f32"'
# bf16 gradients, and a layer subset in block order
ifg-grad -q -m model -t bf16 -L mlp.c_proj,h.0.attn.c_attn train.ifg > g16.ifg
ifg-show g16.ifg | head -n 1 | grep -q '"layers":\[{"name":"h.0.attn.c_attn","d_in":16,"d_out":48},{"name":"h.0.mlp.c_proj","d_in":64,"d_out":16},{"name":"h.1.mlp.c_proj"'
# the chain: factors from sampled labels, scores of true-label gradients
ifg-factor fit -q -o factors.ifg fit.ifg
ifg-influence --quiet -d heuristic -f factors.ifg -q qtox.ifg -n qsafe.ifg grads.ifg > scores.ifg
$ref scores --damping -1 --fit fit.ifg --qsafe qsafe.ifg grads.ifg qtox.ifg scores.ifg
# ids and tokens travel with the scores
ifg-show scores.ifg | sed -n 2p | grep -q '"id":"doc0","tokens":'
