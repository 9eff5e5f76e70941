#!/bin/sh
# aws-export.sh - writes to stdout the AWS IPAM outputs that ipamfs imports
# (docs/tree.md, EXPORT AND IMPORT): describe-ipams, describe-ipam-scopes,
# describe-ipam-pools, and get-ipam-pool-cidrs and get-ipam-pool-allocations
# of every pool, unmodified, one after the other (the order does not
# matter to ipamfs).
#
#   docs/aws-export.sh > aws.json
#   cp aws.json /mnt/ipam/plan && cat /mnt/ipam/plan     # review
#   cp aws.json /mnt/ipam/import                         # apply
#
# Run it with the AWS CLI configured for the IPAM's home region. ipamfs
# imports one IPAM: an account with several is refused (describe-ipams
# --ipam-ids narrows the first output, but the scopes and pools of the
# others would still be listed).
set -eu
aws ec2 describe-ipams --output json
aws ec2 describe-ipam-scopes --output json
aws ec2 describe-ipam-pools --output json
for pool in $(aws ec2 describe-ipam-pools --query 'IpamPools[].IpamPoolId' \
	--output text); do
	aws ec2 get-ipam-pool-cidrs --ipam-pool-id "$pool" --output json
	aws ec2 get-ipam-pool-allocations --ipam-pool-id "$pool" --output json
done
