# A writer killed with SIGKILL in the middle of its output leaves neither the
# output nor a temporary (the temporary has no name until it is complete).
awk 'BEGIN { print "{\"kind\":\"tokens\",\"version\":1}";
	for (i = 0; i < 5000; i++) printf "{\"id\":%d,\"tokens\":{\"dtype\":\"u16\",\"shape\":[3],\"data\":[1,2,3]}}\n", i }' |
	ifg-pack -o a.ifg
mkfifo in
ifg-cat -q -o out.ifg in &
pid=$!
exec 3>in
cat a.ifg >&3
sleep 0.5
kill -KILL $pid
wait $pid
echo "status $?"
exec 3>&-
ls
