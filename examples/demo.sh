#!/usr/bin/env bash
# make demo: graph-emulator with the demo tenant, approvald with the example
# policy, the seed requests flowing through, and a timeline of decisions.
set -euo pipefail
echo "approvald: the daemon is not built yet; 'make demo' becomes real with the core daemon."
