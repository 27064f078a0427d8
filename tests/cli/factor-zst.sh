# Plain pipes and .zst shard files give identical factors.
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref gen --seed 9 --hi 12 -o g.ifg
$ref gen --seed 9 --hi 12 --dtype bf16 -o gb.ifg
zstd -q g.ifg -o g.ifg.zst
zstd -q gb.ifg -o gb.ifg.zst
cat g.ifg | ifg-factor covariance -q > plain.ifg
ifg-factor covariance -q g.ifg.zst > zst.ifg
cmp plain.ifg zst.ifg
ifg-factor fit -q -o f1.ifg g.ifg
ifg-factor fit -q -o f2.ifg.zst g.ifg.zst
zstd -q -d f2.ifg.zst -o f2.ifg
cmp f1.ifg f2.ifg
ifg-factor fit -q -o fb1.ifg gb.ifg
ifg-factor fit -q -o fb2.ifg gb.ifg.zst
cmp fb1.ifg fb2.ifg
$ref lambda gb.ifg fb1.ifg
