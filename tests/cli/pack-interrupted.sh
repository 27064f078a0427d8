# Ctrl-C (SIGINT) or SIGTERM in the middle of a write leaves no file behind,
# neither the output nor its temporary.
mkfifo in
for sig in INT TERM; do
	ifg-pack -o out.ifg in &
	pid=$!
	exec 3>in
	printf '{"kind":"tokens","version":1}\n{"id":1}\n' >&3
	sleep 0.5
	kill -$sig $pid
	wait $pid
	echo "status $?"
	exec 3>&-
	ls
done
# a completed run leaves exactly the output
printf '{"kind":"tokens","version":1}\n' >in.jsonl
ifg-pack -o out.ifg in.jsonl && ls
