# -o writes through what is not a regular file (a FIFO stays a FIFO and its
# reader gets the stream), follows a symlink to the file it names, and
# refuses a directory.
printf '%s\n' '{"kind":"tokens","version":1}' '{"id":0,"tokens":{"dtype":"u16","shape":[2],"data":[1,2]}}' |
	ifg-pack -o a.ifg
mkfifo f
timeout 20 cat f > got &
reader=$!
timeout 20 ifg-cat -q -o f a.ifg; echo "fifo: $?"
wait $reader
test -p f && echo "f is still a FIFO"
cmp got a.ifg && echo "its reader got the stream"
# symlinks, relative to their directory, to a file or to none yet
mkdir d
ln -s ../real.ifg d/link
ifg-cat -q -o d/link a.ifg; echo "link: $?"
test -L d/link && cmp real.ifg a.ifg && echo "the link stays, its target is written"
ln -s new.ifg dangling
ifg-cat -q -o dangling a.ifg && test -L dangling && cmp new.ifg a.ifg && echo "dangling link"
ifg-cat -q -o d a.ifg; echo "directory: $?"
ls d
