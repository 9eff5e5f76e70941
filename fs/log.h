/*
 * log.h - what the daemon tells its operator: mount, unmount, storage
 * errors and every condition that ends the daemon.
 */
#ifndef IPAMFS_LOG_H
#define IPAMFS_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* Opens syslog (ident "ipamfs", facility daemon). Until log_daemonized is
 * called messages go to stderr (the terminal, or the journal when systemd
 * runs ipamfs -f); afterwards to syslog, stderr being /dev/null. */
void log_open(void);
void log_daemonized(bool daemonized);

/* One line, "ipamfs: " and the printf-formatted text; prio is a syslog
 * priority (LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO). */
void log_msg(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
