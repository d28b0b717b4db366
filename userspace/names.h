/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Names for the numbers of the colo generic netlink family: roles, states,
 * divergence reasons, protocols and counters. Every name printed by coloctl
 * comes from here, so the human output, the JSON keys, the helper's
 * environment and the man page have one source.
 */
#ifndef COLOCTL_NAMES_H
#define COLOCTL_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Enough for "unknown-255" and for any fixed name below. */
#define NAME_BUFSZ 24

const char *role_name(uint8_t role, char buf[NAME_BUFSZ]);
const char *state_name(uint8_t state, char buf[NAME_BUFSZ]);
const char *reason_name(uint8_t reason, char buf[NAME_BUFSZ]);
const char *proto_name(uint8_t proto, char buf[NAME_BUFSZ]);
const char *event_name(uint8_t cmd, char buf[NAME_BUFSZ]);

/*
 * The JSON key (snake_case) of one counter of the COLO_STATS_A_* nest;
 * types this version does not know print as "stat_N".
 */
const char *stat_key(unsigned int type, char buf[NAME_BUFSZ]);

#endif
