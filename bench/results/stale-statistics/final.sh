#!/bin/bash
# The issue's figures for this pass (RESULTS.md 17, "the targets"): relay-linger/final.sh (the
# commands of RESULTS.md 2 at the default sizes, median of 3, the outbox VACUUMed before each),
# with its output here, in final/.
here="$(cd "$(dirname "$0")" && pwd)"
R="${R:-$here/final}" exec bash "$here/../relay-linger/final.sh"
