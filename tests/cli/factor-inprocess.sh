# -m: ifg-factor and ifg-influence computing the gradients in-process from
# tokens give the bytes of the ifg-grad pipeline (true and sampled labels,
# layer subsets, the eigenbases' layers for lambda), and say what they
# hold in memory with -v.
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref tokens --seed 1 --hi 20 -o train.ifg
$ref tokens --seed 2 --hi 6 --queries -o qtox.tok
ifg-train -q --layers 2 --heads 2 --embd 16 --ctx 16 --vocab 50 -n 3 -o model train.ifg
ifg-grad -q -m model -o grads.ifg train.ifg
ifg-grad -q -m model --sample -s 3 -o sampled.ifg train.ifg
ifg-grad -q -m model --sum -o qtox.ifg qtox.tok
ifg-factor covariance -q -o c1.ifg grads.ifg
ifg-factor covariance -q -m model -o c2.ifg train.ifg
cmp c1.ifg c2.ifg
ifg-factor fit -q -o f1.ifg sampled.ifg
ifg-factor fit -q -m model --sample --seed 3 -o f2.ifg train.ifg
cmp f1.ifg f2.ifg
ifg-grad -q -m model -L mlp.c_fc train.ifg | ifg-factor covariance -q | ifg-factor eigen -q -o e.ifg
! ifg-factor lambda -q -e e.ifg grads.ifg 2>/dev/null
ifg-grad -q -m model -L mlp.c_fc train.ifg | ifg-factor lambda -q -e e.ifg -o l1.ifg
ifg-factor lambda -q -e e.ifg -m model -o l2.ifg train.ifg
cmp l1.ifg l2.ifg
ifg-factor fit -q -o f.ifg grads.ifg
ifg-influence --quiet -f f.ifg -q qtox.ifg -o s1.ifg grads.ifg
ifg-influence --quiet -f f.ifg -q qtox.ifg -m model -o s2.ifg train.ifg
cmp s1.ifg s2.ifg
ifg-influence --quiet -D -f f.ifg -q qtox.ifg -o d1.ifg grads.ifg
ifg-influence --quiet -D -f f.ifg -q qtox.ifg -m model -o d2.ifg < train.ifg
cmp d1.ifg d2.ifg
# the memory formula beside the peak with -v
ifg-factor covariance -v -m model -o /dev/null train.ifg 2>err
grep -q 'memory [0-9.]* MiB by the formula of ifg-factor(1) at T [0-9]*, peak resident' err
ifg-influence -v -f f.ifg -q qtox.ifg -m model -o /dev/null train.ifg 2>err
grep -q 'memory [0-9.]* MiB by the formula of ifg-influence(1) at T [0-9]*, peak resident' err
# -m wants tokens, model options want -m
! ifg-factor covariance -q -m model grads.ifg 2>/dev/null
! ifg-factor covariance -q --sample grads.ifg 2>err
grep -q 'go with -m' err
! ifg-factor eigen -q -m model c1.ifg 2>/dev/null
