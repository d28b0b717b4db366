/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one version number of xt_COLO: the module's MODULE_VERSION, coloctl
 * --version, the DKMS package and `make version` all read it from here.
 */
#ifndef _XT_COLO_VERSION_H
#define _XT_COLO_VERSION_H

#define XT_COLO_VERSION "0.1.0"

#endif
