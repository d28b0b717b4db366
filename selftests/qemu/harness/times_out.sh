#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# make check-harness: a test that never ends is stopped at its timeout from
# settings and fails.
source "$(dirname "$0")/../../lib.sh"
busywait 3600000 false
