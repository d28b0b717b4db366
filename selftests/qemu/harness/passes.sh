#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# make check-harness: a test that passes, with a subtest of lib.sh.
source "$(dirname "$0")/../../lib.sh"
expect_eq "one is one" 1 1
ktap_finished
