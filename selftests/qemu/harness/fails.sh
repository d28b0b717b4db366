#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# make check-harness: a test whose expectation is broken must fail the run.
source "$(dirname "$0")/../../lib.sh"
expect_eq "one is two" 1 2
ktap_finished
