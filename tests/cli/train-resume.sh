# A run killed with SIGKILL mid-way and continued with --resume ends with
# weights bit-identical to a run that was never interrupted, and its log
# holds each step once; for each model family.
set -e
/usr/bin/python3 -c 'import msgpack' 2>/dev/null || { echo "no python3-msgpack" >&2; exit 77; }
[ -f "$IFG_SHARED/data/davidson/labeled_data.csv" ] ||
	{ echo "no $IFG_SHARED/data/davidson/labeled_data.csv" >&2; exit 77; }
head -c 60000 "$IFG_SHARED/data/davidson/labeled_data.csv" |
	/usr/bin/python3 "$IFG_TOP/tests/ref/ifgrec.py" 48 > train.ifg
for arch in gpt2 gpt_neox llama; do
	args="--arch $arch --layers 2 --heads 2 --embd 32 -b 6 -m 3 -n 500 --lr 3e-3 -j 1 --save-every 7 train.ifg"
	ifg-train -q -o $arch-whole --log $arch-whole.log $args
	# the same run, killed as soon as a first train state exists, then resumed
	# (possibly more than once) until it completes
	ifg-train -q -o $arch-parts --log $arch-parts.log --resume $args &
	pid=$!
	while [ ! -f $arch-parts/train-state.safetensors ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
	kill -KILL $pid 2>/dev/null && killed=1 || killed=0
	wait $pid 2>/dev/null || true
	[ "$killed" = 1 ] || { echo "the run finished before it could be killed" >&2; exit 1; }
	cmp -s $arch-whole/model.safetensors $arch-parts/model.safetensors &&
		{ echo "the killed run had already finished" >&2; exit 1; }
	ifg-train -q -o $arch-parts --log $arch-parts.log --resume $args
	cmp $arch-whole/model.safetensors $arch-parts/model.safetensors
	# the log of the resumed run has each step once, as the whole run's (but times)
	sed 's/,"tok_s".*//' $arch-whole.log > a
	sed 's/,"tok_s".*//' $arch-parts.log > b
	cmp a b
	cmp $arch-whole/train-state.safetensors $arch-parts/train-state.safetensors
done
# other settings are refused
if ifg-train -q -o gpt2-parts --resume --layers 2 --heads 2 --embd 32 -b 6 -m 3 -n 500 --lr 1e-3 \
	-j 1 train.ifg 2>err; then exit 1; fi
grep -q 'lr=' err
