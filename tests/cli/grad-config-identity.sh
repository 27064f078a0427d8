# The model identity covers the configuration as well as the weights: the
# same model.safetensors under a config.json with another n_head gives other
# gradients and another identity, and ifg-factor refuses to mix the two.
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
/usr/bin/python3 -c 'import msgpack' 2>/dev/null || { echo "no python3-msgpack" >&2; exit 77; }
$ref tokens --seed 4 --hi 6 -o train.ifg
ifg-train -q --layers 1 --heads 2 --embd 8 --ctx 16 --vocab 50 -n 1 -o a train.ifg
mkdir b
cp a/model.safetensors b/
sed 's/"n_head": 2/"n_head": 1/' a/config.json > b/config.json
cmp -s a/config.json b/config.json && echo "config.json not changed"
ifg-grad -q -m a -o ga.ifg train.ifg
ifg-grad -q -m b -o gb.ifg train.ifg
id() { ifg-show -n 0 "$1" | grep -o '"model":{"sha256":"[0-9a-f]*"'; }
[ "$(id ga.ifg)" = "$(id gb.ifg)" ] && echo "same identity"
ifg-factor covariance -q -o c.ifg ga.ifg gb.ifg 2>err; echo "mixed: exit $?"
grep -c 'come from different models' err
