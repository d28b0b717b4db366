// SPDX-License-Identifier: GPL-2.0-only
/*
 * colo_warn: a module whose only job is to WARN when loaded, so that
 * `make check-harness` can prove the QEMU harness fails a run whose guest
 * kernel log shows a warning. Never installed; loading fails on purpose.
 */
#include <linux/module.h>
#include <linux/bug.h>

static int __init colo_warn_init(void)
{
	WARN(1, "colo_warn: provoked by make check-harness\n");
	return -EAGAIN;
}

module_init(colo_warn_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("WARNs on load to test the xt_COLO test harness");
