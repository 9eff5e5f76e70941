#!/bin/bash
. "$(dirname "$0")/lib.sh"
mount_ipamfs
finish
