# A config.json that does not describe the weights beside it is refused
# before the model is allocated, naming the tensor and both shapes: a config
# claiming 3.9e10 parameters beside a file of a few thousand gets that
# message, not "out of memory" (issue 15, item 9).
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref tokens --seed 4 --hi 6 -o train.ifg || exit 99
ifg-train -q --layers 1 --heads 2 --embd 8 --ctx 16 --vocab 50 -n 1 -o a train.ifg || exit 99
variant() {	# variant DIR SED-EXPR: a's weights under an edited config.json
	mkdir "$1" && cp a/model.safetensors "$1"/ &&
	sed "$2" a/config.json > "$1"/config.json &&
	! cmp -s a/config.json "$1"/config.json || exit 98
}
variant huge 's/"n_embd": 8/"n_embd": 8192/; s/"n_layer": 1/"n_layer": 48/; s/"n_head": 2/"n_head": 64/'
variant deeper 's/"n_layer": 1/"n_layer": 2/'
variant ctx 's/"n_ctx": 16/"n_ctx": 32/; s/"n_positions": 16/"n_positions": 32/'
ifg-grad -q -m huge -o g.ifg train.ifg
echo "exit $?"
ifg-grad -q -m deeper -o g.ifg train.ifg
echo "exit $?"
ifg-grad -q -m ctx -o g.ifg train.ifg
echo "exit $?"
test ! -e g.ifg || echo "g.ifg written"
# the model as saved still loads
ifg-grad -q -m a -o g.ifg train.ifg && echo ok
