# A store that cannot be created because the OS refuses access (a user
# who may not write its directory) exits 77 (EX_NOPERM), as vsmtprelay(8)
# says, not 73 (EX_CANTCREAT): the clean-up after the failed create must
# not change the reason. Runs the check as nobody (needs root), then
# lists the case's own store.
fixture none
require setpriv
sh mkdir ro && { setpriv --reuid=65534 --regid=65534 --clear-groups "$VSMTPRELAY" -c setup.conf -f ro/relayers.db list 2>ro.err; echo $? >ro.rc; } && grep -qx 77 ro.rc && grep -q 'Permission denied' ro.err && test ! -e ro/relayers.db && rm -r ro ro.rc ro.err
run list
