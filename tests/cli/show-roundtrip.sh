# ifg-pack writes what ifg-show -a prints, plain or zstd, through pipes and files.
cat >in.jsonl <<'J'
{"kind":"tokens","version":1,"tokenizer":{"name":"t","vocab_size":50257,"eot":50256},"block":0}
{"id":"doc-1","tokens":{"dtype":"u16","shape":[4],"data":[464,2068,7586,21831]},"label":"neither"}
{"id":7,"tokens":{"dtype":"u32","shape":[2],"data":[1,50256]},"mask":{"dtype":"u8","shape":[2],"data":[0,1]}}
{"id":"s","scores":{"dtype":"f32","shape":[2,2],"data":[0.5,-1.25,3,1e-07]},"bf":{"dtype":"bf16","shape":[1],"data":[2.5]}}
J
ifg-pack in.jsonl >a.ifg || exit 1
ifg-pack -o a.ifg.zst in.jsonl || exit 1
ifg-show -a a.ifg >out1.jsonl || exit 1
ifg-show -a <a.ifg.zst >out2.jsonl || exit 1
cmp in.jsonl out1.jsonl && cmp in.jsonl out2.jsonl || exit 1
ifg-show -a a.ifg | ifg-pack | cmp - a.ifg || exit 1
# summaries and options
ifg-show -H -n 1 a.ifg.zst
ifg-show -k tokens -n 0 a.ifg
