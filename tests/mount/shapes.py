#!/usr/bin/env python3
"""shapes.py - checks every JSON file of a mounted ipamfs tree against the
output shape of its AWS operation in the EC2 service model botocore ships.

    python3 shapes.py MOUNTPOINT

Each file maps to one operation (the table below). For every file: every
key must be a member of the shape, every value of the member's type
(structure, list, string, integer, boolean, double, timestamp), every enum
value one of the model's words, every timestamp in the AWS CLI's form
(2021-12-27T20:08:46.672000+00:00). Every kind of file in the table must
have been found at least once, with a non-empty list. Prints one line per
problem and exits 1 when there is any; exits 77 (skip) when botocore is
missing or too old to know Tier and EnablePrivateGua.
"""
import fnmatch
import json
import os
import re
import sys

try:
    import botocore.session
except ImportError:
    print("1..0 # SKIP no botocore for python3")
    sys.exit(77)

# path pattern (relative to the mount) -> (operation, list member)
FILES = [
    ("ipam.json", "DescribeIpams", "Ipams"),
    ("scopes.json", "DescribeIpamScopes", "IpamScopes"),
    ("discoveries.json", "DescribeIpamResourceDiscoveries",
     "IpamResourceDiscoveries"),
    ("discoveries/*/resources.json", "GetIpamDiscoveredResourceCidrs",
     "IpamDiscoveredResourceCidrs"),
    ("discoveries/*/accounts.json", "GetIpamDiscoveredAccounts",
     "IpamDiscoveredAccounts"),
    ("scopes/*/resources.json", "GetIpamResourceCidrs", "IpamResourceCidrs"),
    ("scopes/*/pools.json", "DescribeIpamPools", "IpamPools"),
    ("scopes/*/history/*.json", "GetIpamAddressHistory", "HistoryRecords"),
    ("scopes/*/pools/*pool.json", "DescribeIpamPools", "IpamPools"),
    ("scopes/*/pools/*cidrs.json", "GetIpamPoolCidrs", "IpamPoolCidrs"),
    ("scopes/*/pools/*allocations.json", "GetIpamPoolAllocations",
     "IpamPoolAllocations"),
    ("asns.json", "DescribeIpamByoasn", "Byoasns"),
    ("byoip-cidrs.json", "DescribeByoipCidrs", "ByoipCidrs"),
    ("ipam/verification-tokens.json",
     "DescribeIpamExternalResourceVerificationTokens",
     "IpamExternalResourceVerificationTokens"),
    ("policies.json", "DescribeIpamPolicies", "IpamPolicies"),
    ("policies/*/policy.json", "DescribeIpamPolicies", "IpamPolicies"),
    ("policies/*/rules.json", "GetIpamPolicyAllocationRules",
     "IpamPolicyDocuments"),
    ("policies/*/targets.json", "GetIpamPolicyOrganizationTargets",
     "OrganizationTargets"),
    ("scopes/*/addresses.json", "DescribeAddresses", "Addresses"),
    ("scopes/*/public-ipv4-pools.json", "DescribePublicIpv4Pools",
     "PublicIpv4Pools"),
    ("scopes/*/public-addresses.json", "GetIpamDiscoveredPublicAddresses",
     "IpamDiscoveredPublicAddresses"),
]
# ipamfs's own views and documents, not AWS shapes (docs/design/shapes.md)
OWN = ["scopes/*/status.json", "scopes/*/pools/*status.json",
       "scopes/*/resources/*/status.json", "scopes/*/public-ip-insights.json",
       "export.json",
       "scopes/*/pools/*/allocation.json",
       "export-history.json"]

AWS_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
problems = []


def check(shape, value, where):
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            problems.append(f"{where}: expected an object ({shape.name})")
            return
        for k, v in value.items():
            if k not in shape.members:
                problems.append(f"{where}: '{k}' is not a member of "
                                f"{shape.name}")
            else:
                check(shape.members[k], v, f"{where}.{k}")
    elif t == "list":
        if not isinstance(value, list):
            problems.append(f"{where}: expected a list ({shape.name})")
            return
        for i, v in enumerate(value):
            check(shape.member, v, f"{where}[{i}]")
    elif t == "string":
        if not isinstance(value, str):
            problems.append(f"{where}: expected a string ({shape.name})")
        elif shape.enum and value not in shape.enum:
            problems.append(f"{where}: '{value}' is not one of {shape.name} "
                            f"{shape.enum}")
    elif t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{where}: expected an integer ({shape.name})")
    elif t == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{where}: expected a boolean ({shape.name})")
    elif t in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{where}: expected a number ({shape.name})")
    elif t == "timestamp":
        if not isinstance(value, str) or not AWS_TIME.match(value):
            problems.append(f"{where}: '{value}' is not an AWS CLI time")
    else:
        problems.append(f"{where}: unchecked type {t}")


def main():
    root = sys.argv[1]
    model = botocore.session.get_session().get_service_model("ec2")
    ipam = model.shape_for("Ipam")
    if "Tier" not in ipam.members or "EnablePrivateGua" not in ipam.members:
        print("1..0 # SKIP botocore predates Tier and EnablePrivateGua")
        sys.exit(77)
    if "DescribeIpamPolicies" not in model.operation_names:
        print("1..0 # SKIP botocore predates IPAM policies (Nov 2025)")
        sys.exit(77)
    seen = {pattern: 0 for pattern, _, _ in FILES}
    files = 0
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        names = list(filenames)
        if os.path.basename(dirpath) == "history":
            # queries are not listed: ask for every CIDR and @now
            for cidr in filenames:
                names += [cidr + ".json", cidr + "@now.json"]
            names = [n for n in names if n.endswith(".json")]
        for name in names:
            if not name.endswith(".json"):
                continue
            rel = os.path.normpath(os.path.join(rel_dir, name))
            match = [f for f in FILES if fnmatch.fnmatch(rel, f[0])]
            if not match:
                if not any(fnmatch.fnmatch(rel, p) for p in OWN):
                    problems.append(f"{rel}: no AWS operation is mapped")
                continue
            pattern, op, member = match[0]
            with open(os.path.join(root, rel)) as f:
                doc = json.load(f)
            files += 1
            check(model.operation_model(op).output_shape, doc, rel)
            if doc.get(member):
                seen[pattern] += 1
    for pattern, count in seen.items():
        if not count:
            problems.append(f"{pattern}: no such file with a non-empty list "
                            "(populate the tree)")
    for p in problems:
        print(p)
    print(f"{files} JSON files checked, {len(problems)} problems")
    sys.exit(1 if problems else 0)


main()
