# A 0 written in config.json is refused, naming the field, rather than taken
# for "the family's default" (ifg's own struct uses 0 so): a Llama's
# intermediate_size 0 once loaded as the default width, rms_norm_eps 0 as
# 1e-6, a Pythia's rotary_pct 0 as 0.25 and rotary_emb_base 0 as 10000.
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref tokens --seed 4 --hi 6 -o train.ifg || exit 99
ifg-train -q --arch llama --layers 1 --heads 2 --kv-heads 1 --embd 8 --ctx 16 --vocab 50 -n 0 \
	-o llama train.ifg || exit 99
ifg-train -q --arch gpt_neox --layers 1 --heads 2 --embd 16 --ctx 16 --vocab 50 -n 0 \
	-o neox train.ifg || exit 99
variant() {	# variant FROM DIR SED-EXPR: FROM's weights under an edited config.json
	mkdir "$2" && cp "$1"/model.safetensors "$2"/ &&
	sed "$3" "$1"/config.json > "$2"/config.json &&
	! cmp -s "$1"/config.json "$2"/config.json || exit 98
}
variant llama ff 's/"intermediate_size": [0-9]*/"intermediate_size": 0/'
variant llama kv 's/"num_key_value_heads": 1/"num_key_value_heads": 0/'
variant llama eps 's/"rms_norm_eps": [-0-9.e]*/"rms_norm_eps": 0/'
variant neox pct 's/"rotary_pct": 0.25/"rotary_pct": 0/'
variant neox base 's/"rotary_emb_base": 10000.0/"rotary_emb_base": 0/'
for m in ff kv eps pct base; do
	ifg-grad -q -m $m -o g.ifg train.ifg
	echo "$m: exit $?"
done
test ! -e g.ifg || echo "g.ifg written"
ifg-grad -q -m llama -o g.ifg train.ifg && ifg-grad -q -m neox -o g.ifg train.ifg && echo ok
