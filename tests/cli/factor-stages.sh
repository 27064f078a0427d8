# The stages run one by one equal `fit`; Λ equals the dense mean of squared
# rotated per-record gradients; other strategies fit what they need.
set -e
ref="/usr/bin/python3 $IFG_TOP/tests/ref/ekfac_ref.py"
$ref gen --seed 5 --hi 25 -o grads.ifg
ifg-factor covariance -q grads.ifg | ifg-factor eigen -q > eigen.ifg
ifg-factor lambda -q -e eigen.ifg < grads.ifg > staged.ifg
ifg-factor fit -q -o fit.ifg grads.ifg
cmp staged.ifg fit.ifg
$ref lambda grads.ifg fit.ifg
# diagonal needs only the lambda pass, kfac only the eigenbases
ifg-factor lambda -q -s diagonal grads.ifg > diag.ifg
ifg-show -H diag.ifg | grep -q Lambda_sum
! ifg-show -H diag.ifg | grep -q '"QA"'
ifg-factor fit -q -s kfac -o kfac.ifg grads.ifg
ifg-show -H kfac.ifg | grep -q '"QA"'
! ifg-show -H kfac.ifg | grep -q Lambda_sum
# an empty grads stream still gives zero sums for every layer
$ref gen --hi 0 -o empty.ifg
ifg-factor covariance -q empty.ifg | ifg-show -H | grep -c '"A_count":0' | grep -qx 2
